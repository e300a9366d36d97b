/**
 * The status checklist: the registered checks, in row order. To add a row, write a module that
 * exports a StatusCheck (types.ts) and add it to STATUS_CHECKS below; mark it `stale: true` when
 * its failure means the backups are stale.
 */
import type { Check } from '../../report/result.js';
import { backupCheck } from './backup.js';
import { freeSpaceCheck } from './free-space.js';
import { incompleteCheck } from './incomplete.js';
import { pitrBaseBackupCheck } from './pitr-base-backup.js';
import { pitrSlotCheck } from './pitr-slot.js';
import { pitrWalCheck } from './pitr-wal.js';
import { pitrWindowCheck } from './pitr-window.js';
import { retentionAppliedCheck } from './retention-applied.js';
import { runLogCheck } from './run-log.js';
import { safetyCheck } from './safety.js';
import type { StatusCheck, StatusEngine, StatusInput } from './types.js';
import { verificationCheck } from './verification.js';

/** The checks after the per-engine backup rows, in row order. */
export const STATUS_CHECKS: readonly StatusCheck[] = [runLogCheck, freeSpaceCheck, verificationCheck, retentionAppliedCheck, incompleteCheck, safetyCheck];

/** The point-in-time rows, only when the config has a `pitr:` section. */
export const PITR_CHECKS: readonly StatusCheck[] = [pitrWalCheck, pitrSlotCheck, pitrBaseBackupCheck, pitrWindowCheck];

/** Every row for these engines: one backup row per engine first, then STATUS_CHECKS, then PITR_CHECKS when pitr is configured. */
export function statusChecks(engines: readonly StatusEngine[], pitr = false): StatusCheck[] {
  return [...engines.map(backupCheck), ...STATUS_CHECKS, ...(pitr ? PITR_CHECKS : [])];
}

export interface EvaluatedCheck {
  check: Check;
  stale: boolean;
}

/** Each row's verdict, with its staleness flag beside it. Pure. */
export function evaluateChecks(input: StatusInput, now: Date): EvaluatedCheck[] {
  return statusChecks(input.engines, input.config.pitr !== undefined).map((c) => ({ check: { name: c.label, ...c.evaluate(input, now) }, stale: c.stale }));
}
