/**
 * "pitr slot lag": the WAL the replication slot holds back on the database host is below
 * pitr.slot_lag_max_mb. A slot whose receiver died keeps every segment: it fills the production disk
 * (PostgreSQL's max_slot_wal_keep_size caps it, at the price of the chain).
 */
import { formatBytes } from '../../shared/format.js';
import type { StatusCheck } from './types.js';

const MIB = 1024 * 1024;

export const pitrSlotCheck: StatusCheck = {
  id: 'pitr_slot',
  label: 'pitr slot lag',
  stale: false,
  evaluate(input) {
    const maxMb = input.config.pitr?.slot_lag_max_mb ?? 4096;
    const slot = input.pitr?.slot;
    if (!slot) return { result: 'failed', detail: 'the slot was not probed' };
    if ('error' in slot) return { result: 'failed', detail: slot.error };
    if ('missing' in slot) return { result: 'failed', detail: `replication slot ${slot.slot} does not exist on the database host: run \`pgtaos-backup pitr setup\`` };
    if (slot.lagBytes === null) return { result: 'failed', detail: `replication slot ${slot.slot} holds no WAL position (wal_status ${slot.walStatus ?? 'unknown'}): the chain is broken; run \`pgtaos-backup pitr setup\` and a new \`pitr backup\`` };
    const ok = slot.lagBytes < maxMb * MIB;
    const idle = slot.active ? '' : ', no receiver attached (is `barman cron` running?)';
    return { result: ok ? 'passed' : 'failed', detail: `slot ${slot.slot} holds ${formatBytes(slot.lagBytes)} of WAL on the database host ${ok ? '<' : '>='} slot_lag_max_mb ${maxMb}${idle}` };
  },
};
