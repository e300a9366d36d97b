/**
 * One short SQL session on the database host as the pitr role (password from the environment only):
 * status's slot query, check's server version and the WAL nudge after a segment switch.
 */
import pg from 'pg';
import { PITR_PASSWORD_ENV, type PitrConfig } from './schema.js';

/** What a session needs: the pitr section and the environment holding the password. */
export interface PitrSide {
  cfg: PitrConfig;
  ctx: { env: NodeJS.ProcessEnv };
}

export async function withPitrClient<T>(b: PitrSide, application: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const { cfg } = b;
  const password = b.ctx.env[PITR_PASSWORD_ENV];
  if (!password) throw new Error(`${PITR_PASSWORD_ENV} is not set: cannot connect to ${cfg.host}:${cfg.port}`);
  const client = new pg.Client({ host: cfg.host, port: cfg.port, user: cfg.user, password, database: 'postgres', application_name: application, connectionTimeoutMillis: 15_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Barman archives a streamed segment only once pg_receivewal has begun the next one, and on an idle
 * server the next one begins with the next WAL record: the background writer's snapshot 15-25 s
 * later, or never. A one-statement transaction that takes a transaction id writes a commit record
 * and flushes it, so the segment just closed becomes archivable at once; it needs no privilege and
 * changes no data.
 */
export async function nudgeWal(b: PitrSide): Promise<void> {
  await withPitrClient(b, 'pgtaos_wal_nudge', (c) => c.query('SELECT txid_current()'));
}

/** The server's major version ("17"; "9.6" before 10), asked as the pitr role. */
export async function serverMajor(b: PitrSide): Promise<{ major: string } | { error: string }> {
  const { cfg } = b;
  try {
    const num = await withPitrClient(b, 'pgtaos_check', async (c) => Number((await c.query<{ v: string }>("SELECT current_setting('server_version_num') AS v")).rows[0]!.v));
    return { major: num >= 100000 ? String(Math.floor(num / 10000)) : `${Math.floor(num / 10000)}.${Math.floor(num / 100) % 100}` };
  } catch (err) {
    return { error: `${cfg.user}@${cfg.host}:${cfg.port}: ${(err as Error).message}` };
  }
}
