/**
 * One short SQL session on the database host as the pitr role (password from the environment only):
 * status's slot query and the WAL nudge after a segment switch. Only src/engines/barman/ uses it.
 */
import pg from 'pg';
import type { Barman } from './barman.js';
import { PITR_PASSWORD_ENV } from './schema.js';

export async function withPitrClient<T>(b: Pick<Barman, 'cfg' | 'ctx'>, application: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
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
export async function nudgeWal(b: Pick<Barman, 'cfg' | 'ctx'>): Promise<void> {
  await withPitrClient(b, 'pgtaos_wal_nudge', (c) => c.query('SELECT txid_current()'));
}
