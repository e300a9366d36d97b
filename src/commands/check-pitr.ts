/**
 * `check`'s point-in-time rows (only with a `pitr:` section): Barman installed, the PostgreSQL server
 * binaries in pitr.bin_dir of the server's major version (base backups, the WAL receiver and a
 * scratch recovery run them), and `barman check` on the config `pitr setup` wrote. Reads only: a
 * missing Barman config is a failed row, never written here.
 */
import { existsSync } from 'node:fs';
import { barmanCheckRows } from '../engines/barman/recover.js';
import { BARMAN_HINT, barmanVersion } from '../engines/barman/barman.js';
import { barmanPaths } from '../engines/barman/conf.js';
import type { PitrConfig } from '../engines/barman/schema.js';
import { binaryMajors, PITR_SERVER_BINARIES } from '../engines/barman/binaries.js';
import { serverMajor } from '../engines/barman/sql.js';
import { failedRow, type Check } from '../report/result.js';
import type { RunContext } from './context.js';

async function barmanRow(env: NodeJS.ProcessEnv): Promise<Check> {
  const r = await barmanVersion(env);
  if ('error' in r) return { name: 'pitr barman', result: 'failed', detail: `barman cannot be run: ${r.error} (hint: ${BARMAN_HINT})` };
  return { name: 'pitr barman', result: 'passed', detail: `Barman ${r.version}` };
}

async function binariesRow(cfg: PitrConfig, env: NodeJS.ProcessEnv): Promise<Check> {
  const name = 'pitr server binaries';
  const { found, missing } = await binaryMajors(cfg.bin_dir, env);
  const hint = `(hint: set pitr.bin_dir to the PostgreSQL server binaries of the production major version; Debian/PGDG: apt install postgresql-<major>)`;
  if (missing.length) return { name, result: 'failed', detail: `${missing.join(', ')} not found or not runnable in ${cfg.bin_dir}: a scratch recovery and Barman need them ${hint}` };
  const majors = [...new Set(found.map((f) => f.major))];
  if (majors.length !== 1 || majors[0] === null) return { name, result: 'failed', detail: `${cfg.bin_dir} mixes versions: ${found.map((f) => `${f.bin} ${f.major ?? '?'}`).join(', ')} ${hint}` };
  const server = await serverMajor({ cfg, ctx: { env } });
  if ('error' in server) return { name, result: 'failed', detail: `${cfg.bin_dir} holds PostgreSQL ${majors[0]}; the server's version could not be read (${server.error}) (hint: the pitr role must log in from this runner)` };
  if (server.major !== majors[0]) return { name, result: 'failed', detail: `${cfg.bin_dir} holds PostgreSQL ${majors[0]}, the server at ${cfg.host}:${cfg.port} runs ${server.major}: a scratch recovery needs the same major version ${hint}` };
  return { name, result: 'passed', detail: `${PITR_SERVER_BINARIES.join(', ')} ${majors[0]} in ${cfg.bin_dir}, the server's major version` };
}

async function barmanCheckRow(cfg: PitrConfig, ctx: RunContext, barmanFound: boolean): Promise<Check> {
  const name = 'pitr barman check';
  if (!barmanFound) return { name, result: 'skipped', detail: 'not tried: needs barman (above)' };
  const paths = barmanPaths(cfg);
  if (!existsSync(paths.conf)) return { name, result: 'failed', detail: `Barman has no config in ${cfg.barman_home} (hint: run \`pgtaos-backup pitr setup\` on this runner)` };
  try {
    const rows = await barmanCheckRows({ cfg, paths, ctx: { log: ctx.log, signal: ctx.signal, env: ctx.env } });
    const bad = rows.filter((r) => r.result === 'failed');
    if (bad.length === 0) return { name, result: 'passed', detail: rows[0]!.detail };
    return { name, result: 'failed', detail: `${bad.map((r) => r.detail.replace(/^barman check: /, '')).join('; ')} (hint: README, Point-in-time recovery; \`barman -c ${paths.conf} check ${cfg.server}\`)` };
  } catch (err) {
    if (ctx.signal.aborted) throw err;
    return failedRow(name, err);
  }
}

export async function pitrCheckRows(cfg: PitrConfig, ctx: RunContext): Promise<Check[]> {
  const [barman, bins] = await Promise.all([barmanRow(ctx.env), binariesRow(cfg, ctx.env)]);
  return [barman, bins, await barmanCheckRow(cfg, ctx, barman.result === 'passed')];
}
