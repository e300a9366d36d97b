/**
 * The cluster's roles and tablespaces beside each dump (`pg_dumpall --globals-only`): pg_dump keeps
 * the grants of a database but not the roles they name, so a restore onto a new server needs them
 * first. Without `postgres.globals_password_hashes` the file holds no password hashes
 * (`--no-role-passwords`, which also spares the backup user the superuser-only pg_authid); with it,
 * the file is 0600 and the set leaves the machine only age-encrypted (remotes/registry.ts).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { JobError } from '../../errors.js';
import type { PostgresConfig } from './schema.js';
import type { FileEntry } from '../../catalog/file-entry.js';
import { fileEntry } from '../../catalog/checksum.js';
import type { EngineContext } from '../engine.js';
import { howEnded, runPgTool, spawnFailed } from './client.js';
import { globalsInventory, planGlobals } from './globals-sql.js';
import type { PgGlobals } from './schema.js';
import { withSession } from './session.js';

export const GLOBALS_FILE = 'globals.sql';

/** What dumping the globals needs of the engine. */
export interface GlobalsDeps {
  cfg: Pick<PostgresConfig, 'host' | 'port' | 'user' | 'database' | 'globals_password_hashes'>;
  pgDumpall: string;
}

/** Writes `globals.sql` into `dir`; returns its file entry and the manifest's `globals`. */
export async function dumpGlobals(deps: GlobalsDeps, ctx: EngineContext, dir: string): Promise<{ file: FileEntry; globals: PgGlobals }> {
  const { cfg } = deps;
  const hashes = cfg.globals_password_hashes;
  const file = path.join(dir, GLOBALS_FILE);
  // Made 0600 before pg_dumpall writes a hash into it (it keeps the mode of a file it truncates).
  if (hashes) await fs.writeFile(file, '', { mode: 0o600 });
  const args = ['--globals-only', ...(hashes ? [] : ['--no-role-passwords']), '-w', '-f', file, '-h', cfg.host, '-p', String(cfg.port), '-U', cfg.user, '-l', cfg.database];
  const { result: r, stderr } = await runPgTool('pg_dumpall', deps.pgDumpall, args, ctx);
  if (ctx.signal.aborted) throw ctx.signal.reason;
  if (r.spawnError) throw spawnFailed(deps.pgDumpall, r.spawnError);
  const errors = stderr.filter((l) => /^pg_dumpall: error:/.test(l) || /\b(FATAL|PANIC):/.test(l));
  if (r.exitCode !== 0 || errors.length > 0) throw globalsFailure(cfg.user, hashes, howEnded(r), errors.length ? errors : r.stderrTail);
  if (hashes) await fs.chmod(file, 0o600);
  const inventory = globalsInventory(await fs.readFile(file, 'utf8'));
  if (inventory.roles.length === 0) {
    throw new JobError('postgres.globals_failed', `pg_dumpall --globals-only wrote no CREATE ROLE into ${file}`, { hint: 'Every cluster has at least its bootstrap superuser: check the pg_dumpall lines above.' });
  }
  ctx.log.info(`pg_dumpall: ${inventory.roles.length} roles, ${inventory.tablespaces.length} tablespaces${hashes ? ' (with password hashes: the file is 0600)' : ' (no password hashes)'}`);
  return { file: await fileEntry(dir, GLOBALS_FILE), globals: { path: GLOBALS_FILE, password_hashes: hashes, ...inventory } };
}

function globalsFailure(user: string, hashes: boolean, how: string, lines: string[]): JobError {
  const text = lines.slice(-10).join('\n  ');
  if (hashes && /permission denied for (table|relation) pg_authid/.test(text)) {
    return new JobError('postgres.globals_denied', `pg_dumpall --globals-only failed (${how}): the backup user ${user} cannot read pg_authid, which password hashes need:\n  ${text}`, {
      hint: `Only a superuser can read password hashes. Remove postgres.globals_password_hashes (the roles are then kept without them), or run the backup as a superuser.`,
    });
  }
  return new JobError('postgres.globals_failed', `pg_dumpall --globals-only failed (${how}):\n  ${text}`, { hint: 'Read the pg_dumpall lines above; it connects like pg_dump, to the configured database.' });
}

/** What applying the globals did, for the restore's report. */
export interface GlobalsApplied {
  created: string[];
  keptRoles: string[];
  keptTablespaces: string[];
  statements: number;
}

/**
 * Runs the file's statements one by one on the target server (autocommit: CREATE TABLESPACE cannot
 * run in a transaction). Roles and tablespaces that exist are left as they are and reported; any
 * other failure stops with the statement, before the database is touched.
 */
export async function applyGlobals(opening: Promise<pg.Client>, text: string, where: string): Promise<GlobalsApplied> {
  return withSession(opening, async (client) => {
    const roles = new Set((await client.query<{ n: string }>('SELECT rolname AS n FROM pg_roles')).rows.map((r) => r.n));
    const tablespaces = new Set((await client.query<{ n: string }>('SELECT spcname AS n FROM pg_tablespace')).rows.map((r) => r.n));
    const plan = planGlobals(text, { roles, tablespaces });
    const created: string[] = [];
    for (const stmt of plan.run) {
      try {
        await client.query(stmt);
      } catch (err) {
        throw new JobError('postgres.globals_apply', `applying the set's roles and tablespaces on ${where} failed at: ${stmt.split('\n')[0]!.slice(0, 200)}: ${(err as Error).message}${created.length ? ` (created before it: ${created.join(', ')})` : ''}`, {
          hint: 'A tablespace needs its folder on the new server (create it, owned by the postgres user); a role the file grants to must exist. Nothing was restored into the database.',
          cause: err,
        });
      }
      const m = /^CREATE (ROLE|TABLESPACE) (.+)$/is.exec(stmt.split('\n')[0]!);
      if (m && m[1]!.toUpperCase() === 'ROLE') created.push(m[2]!.trim());
    }
    return { created, keptRoles: plan.keptRoles, keptTablespaces: plan.keptTablespaces, statements: plan.run.length };
  });
}
