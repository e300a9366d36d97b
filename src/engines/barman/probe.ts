/**
 * The facts status's point-in-time rows read (src/commands/status-checks/pitr-*.ts): the newest WAL
 * Barman received, its base backups, and how much WAL the replication slot holds back on the
 * database host. Each probe that cannot answer says why instead of throwing: status reports every row.
 */
import { listBackups, type Barman, type BaseBackup } from './barman.js';
import { PITR_PASSWORD_ENV } from './schema.js';
import { withPitrClient } from './sql.js';
import { newestWal } from './window.js';

export type SlotFacts = { slot: string; active: boolean; lagBytes: number | null; walStatus: string | null } | { slot: string; missing: true } | { error: string };

export interface PitrFacts {
  /** Modification time of the newest WAL file Barman holds (archived or streaming), or null when none. */
  newestWal: Date | null;
  backups: BaseBackup[] | { error: string };
  slot: SlotFacts;
}

/** WAL the slot holds back on the server: from its restart_lsn to the server's current WAL position. */
export const SLOT_LAG_SQL = `SELECT active, wal_status,
  pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint::text AS lag
  FROM pg_replication_slots WHERE slot_name = $1`;

/** Queries pg_replication_slots on the database host as the pitr role (password from the environment only). */
export async function probeSlot(b: Pick<Barman, 'cfg' | 'ctx'>): Promise<SlotFacts> {
  const { cfg } = b;
  if (!b.ctx.env[PITR_PASSWORD_ENV]) return { error: `${PITR_PASSWORD_ENV} is not set: cannot query the slot on ${cfg.host}:${cfg.port}` };
  try {
    const r = await withPitrClient(b, 'pgtaos_status', (c) => c.query<{ active: boolean; wal_status: string | null; lag: string | null }>(SLOT_LAG_SQL, [cfg.slot]));
    const row = r.rows[0];
    if (!row) return { slot: cfg.slot, missing: true };
    return { slot: cfg.slot, active: row.active, lagBytes: row.lag === null ? null : Number(row.lag), walStatus: row.wal_status };
  } catch (err) {
    return { error: `cannot query pg_replication_slots on ${cfg.host}:${cfg.port}: ${(err as Error).message}` };
  }
}

/** All the pitr facts. Barman's config must exist already (`pitr setup` wrote it); status writes nothing. */
export async function probePitr(b: Barman): Promise<PitrFacts> {
  const [backups, slot] = await Promise.all([
    listBackups(b).catch((err: unknown) => ({ error: err instanceof Error ? err.message : String(err) })),
    probeSlot(b),
  ]);
  return { newestWal: newestWal(b.paths.home, b.cfg.server), backups, slot };
}
