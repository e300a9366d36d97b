/**
 * The `check` command's PostgreSQL rows: the tools, the login, and pg_dump against the server,
 * each on its own row so that each cause fails its own row. Nothing is dumped or written.
 */
import { failedRow, type Check } from '../../report/result.js';
import type { EngineContext } from '../engine.js';
import type { PostgresConfig } from './schema.js';
import type { PostgresEngine } from './engine.js';
import { withSession } from './session.js';
import { clientTooOld, clientTooOldError, parseServerVersionNum, type PgVersion } from './versions.js';

async function toolsRow(pg: PostgresEngine, env: NodeJS.ProcessEnv): Promise<{ row: Check; dump: PgVersion | null; restore: PgVersion | null }> {
  try {
    pg.findTools(env);
    const [dump, restore] = await Promise.all([pg.clientVersion(env), pg.restoreClientVersion(env)]);
    return { row: { name: 'postgres tools', result: 'passed', detail: `pg_dump ${dump.text}, pg_restore ${restore.text}` }, dump, restore };
  } catch (err) {
    return { row: failedRow('postgres tools', err), dump: null, restore: null };
  }
}

async function loginRow(pg: PostgresEngine, cfg: PostgresConfig, env: NodeJS.ProcessEnv): Promise<{ row: Check; server: PgVersion | null }> {
  try {
    const num = await withSession(pg.connect(env), async (client) => (await client.query<{ v: string }>("SELECT current_setting('server_version_num') AS v")).rows[0]!.v);
    const server = parseServerVersionNum(Number(num));
    return { row: { name: 'postgres login', result: 'passed', detail: `${cfg.user}@${cfg.host}:${cfg.port}/${cfg.database}: PostgreSQL ${server.text}` }, server };
  } catch (err) {
    return { row: failedRow('postgres login', err), server: null };
  }
}

function versionRow(dump: PgVersion | null, restore: PgVersion | null, server: PgVersion | null, pgDumpPath: string): Check {
  const name = 'postgres client version';
  if (!dump || !restore || !server) return { name, result: 'skipped', detail: 'not compared: needs the tools and the login above' };
  if (clientTooOld(dump, server)) return failedRow(name, clientTooOldError(dump, server, pgDumpPath));
  if (restore.major < dump.major) {
    return { name, result: 'failed', detail: `pg_restore ${restore.text} cannot read archives written by pg_dump ${dump.text} (hint: install both from the same PostgreSQL client package and set postgres.bin_dir)` };
  }
  return { name, result: 'passed', detail: `pg_dump ${dump.text} can dump the PostgreSQL ${server.text} server` };
}

/** The rows, in the order a person fixes them: tools, login, versions. */
export async function checkPostgres(pg: PostgresEngine, cfg: PostgresConfig, ctx: EngineContext): Promise<Check[]> {
  const [tools, login] = await Promise.all([toolsRow(pg, ctx.env), loginRow(pg, cfg, ctx.env)]);
  return [tools.row, login.row, versionRow(tools.dump, tools.restore, login.server, pg.pgDumpPath)];
}
