/** Reaching the server: the login and its errors, told apart, and the preflight before a dump. */
import pg from 'pg';
import { JobError } from '../../errors.js';
import type { PostgresConfig } from '../../inputs/config-schema.js';
import type { PreflightInfo } from '../engine.js';
import { clientTooOld, clientTooOldError, parseServerVersionNum, type PgVersion } from './versions.js';

type Where = Pick<PostgresConfig, 'host' | 'port' | 'user'>;

/** A session on `database`; a refused login, a missing database and an unreachable server are told apart. */
export async function openSession(cfg: Where, env: NodeJS.ProcessEnv, database: string): Promise<pg.Client> {
  const client = new pg.Client({
    host: cfg.host,
    port: cfg.port,
    user: cfg.user,
    database,
    password: env.PGPASSWORD,
    application_name: 'pgtaos-backup',
    connectionTimeoutMillis: 10_000,
  });
  // A server that dies mid-run emits 'error' on the client; the failing query reports it.
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (err) {
    throw connectError(cfg, err, database);
  }
  return client;
}

export function connectError(cfg: Where, err: unknown, database: string): JobError {
  const e = err as { code?: string; message?: string };
  const where = `${cfg.user}@${cfg.host}:${cfg.port}/${database}`;
  if (e.code === '28P01' || e.code === '28000') {
    return new JobError('postgres.auth', `PostgreSQL refused the login ${where}: ${e.message}`, {
      hint: 'Check the user in the config and the password in the PGPASSWORD environment variable (the action input postgres-password).',
      cause: err,
    });
  }
  if (e.code === '3D000') {
    return new JobError('postgres.no_database', `database ${database} does not exist on ${cfg.host}:${cfg.port}`, { hint: 'Check postgres.database in the config.', cause: err });
  }
  return new JobError('postgres.unreachable', `cannot connect to PostgreSQL at ${where}: ${e.message ?? String(err)}`, {
    hint: `Is the server running and reachable from this machine? Try: pg_isready -h ${cfg.host} -p ${cfg.port}`,
    cause: err,
  });
}

/**
 * A session for database-level statements (exists, CREATE, DROP, RENAME): on the maintenance
 * database `postgres` (`template1` where that was dropped), never the configured one, which may
 * be the very database that is missing or being replaced.
 */
export async function openMaintenance(connect: (database: string) => Promise<pg.Client>): Promise<pg.Client> {
  try {
    return await connect('postgres');
  } catch (err) {
    if (!(err instanceof JobError && err.code === 'postgres.no_database')) throw err;
    return connect('template1');
  }
}

/** The server's version and size, and the client checked against it (on a session of the database). */
export async function probeServer(client: pg.Client, clientVersion: () => Promise<PgVersion>, pgDump: string): Promise<PreflightInfo> {
  const r = await client.query<{ v: string; size: string }>(
    "SELECT current_setting('server_version_num') AS v, pg_database_size(current_database())::text AS size",
  );
  const server = parseServerVersionNum(Number(r.rows[0]!.v));
  const clientV = await clientVersion();
  if (clientTooOld(clientV, server)) throw clientTooOldError(clientV, server, pgDump);
  return { serverVersion: server.text, clientVersion: clientV.text, estimatedBytes: Number(r.rows[0]!.size) };
}
