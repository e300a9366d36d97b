/**
 * Sessions on the server: opening and closing them, the timeouts switched off for our long ones,
 * and the REPEATABLE READ transactions that share pg_dump's snapshot.
 */
import type pg from 'pg';
import { parseServerVersionNum } from './versions.js';

/** What the engine's parts need to open sessions (PostgresEngine is one). */
export interface PgSessions {
  /** A session on `database` (the configured one when absent). */
  connect(env: NodeJS.ProcessEnv, database?: string): Promise<pg.Client>;
  /** A session on the maintenance database, for database-level statements. */
  connectMaintenance(env: NodeJS.ProcessEnv): Promise<pg.Client>;
}

/** Runs `fn` on the session being opened and closes it after, whatever happened. */
export async function withSession<T>(opening: Promise<pg.Client>, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = await opening;
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * Server limits that would end one of our long sessions, switched off for that session, as
 * pg_dump does for its own: the exporting transaction must outlive pg_dump, and a count of a big
 * table may wait on a lock or run for minutes. Session-level and set before BEGIN, so the
 * transaction's own timers start disabled.
 */
export function timeoutResets(serverMajor: number): string[] {
  return [
    'SET statement_timeout = 0',
    'SET lock_timeout = 0',
    'SET idle_in_transaction_session_timeout = 0',
    // New in 17 (production runs 17.6): it ends a transaction however busy; older servers reject the name.
    ...(serverMajor >= 17 ? ['SET transaction_timeout = 0'] : []),
  ];
}

export async function disableTimeouts(client: pg.Client): Promise<void> {
  const v = (await client.query<{ v: string }>("SELECT current_setting('server_version_num') AS v")).rows[0]!.v;
  await client.query(timeoutResets(parseServerVersionNum(Number(v)).major).join('; '));
}

/** Session timeouts off, then the REPEATABLE READ transaction whose snapshot pg_dump dumps. */
export async function exportSnapshot(client: pg.Client): Promise<string> {
  await disableTimeouts(client);
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY');
  return (await client.query<{ s: string }>('SELECT pg_export_snapshot() AS s')).rows[0]!.s;
}

/** A transaction on an exported snapshot (the counting session's; again after a refused count). */
export async function importSnapshot(client: pg.Client, snap: string): Promise<void> {
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY');
  await client.query(`SET TRANSACTION SNAPSHOT ${client.escapeLiteral(snap)}`);
}

/**
 * Marks where a dump's snapshot lies in the WAL, for point-in-time recovery: a named restore point
 * (its LSN) when the role may create one, else the current WAL position. Runs outside any
 * transaction on a fresh session, right after the snapshot was exported; on a standby (no WAL
 * position of its own) or on any refusal it records what it can and never fails the dump.
 */
export async function markWal(client: pg.Client, database: string): Promise<{ lsn: string; restore_point: string | null; at: string } | undefined> {
  const name = `pgtaos_${database}_${new Date().toISOString().replace(/[-:.]/g, '').slice(0, 15)}`.slice(0, 63);
  try {
    const r = await client.query<{ lsn: string; at: Date }>('SELECT pg_create_restore_point($1)::text AS lsn, clock_timestamp() AS at', [name]);
    return { lsn: r.rows[0]!.lsn, restore_point: name, at: r.rows[0]!.at.toISOString() };
  } catch {
    try {
      const r = await client.query<{ lsn: string; at: Date }>('SELECT pg_current_wal_lsn()::text AS lsn, clock_timestamp() AS at');
      return { lsn: r.rows[0]!.lsn, restore_point: null, at: r.rows[0]!.at.toISOString() };
    } catch {
      return undefined;
    }
  }
}
