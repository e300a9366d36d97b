/**
 * `taosdump -i <dumpDir>` into a target database. taosdump restores into the name recorded in the
 * dump, so a different target is always given with `-W "<recorded>=<target>"`, and a target equal
 * to that recorded name (TDengine names ignore case) is refused unless production is allowed.
 * The behaviours relied on: docs/tdengine.md ("What a restore does").
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { JobError, UsageError } from '../../errors.js';
import type { EngineContext } from '../engine.js';
import { judgeRestore, OutputAccumulator, parseDumpedDatabases } from '../taosdump-output.js';
import { checkName, isSystemDatabase, sameDatabase } from './names.js';
import { INSTALL_HINT, maskPassword, Taosdump } from './taosdump.js';
import type { TdParts } from './parts.js';
import { supportsRename, versionProblem } from './versions.js';

export interface TdRestoreOutcome {
  /** ERROR:/WARN: lines that did not fail the restore (e.g. the DESCRIBE probe of each normal table). */
  warnings: string[];
  /** taosdump's `OK: <N> row(s) dumped in!` (not trustworthy alone: compare counts). */
  rowsReported: number | null;
  /** The database name recorded in the dump (what `-W` renamed). */
  source: string;
}

export interface RestoreOptions {
  allowProduction?: boolean;
  allowExisting?: boolean;
}

/**
 * The one database a dump holds, as its top-level dbs.sql records it (`#!dumpdb:`): the name
 * `taosdump -i` creates and writes into unless `-W` renames it. Remembered by the guard, so that
 * no scratch operation of this engine ever drops it.
 */
export async function recordedDatabase(p: TdParts, dumpDir: string): Promise<string> {
  let dbsSql: string;
  try {
    dbsSql = await fs.readFile(path.join(dumpDir, 'dbs.sql'), 'utf8');
  } catch {
    throw new JobError('tdengine.not_a_dump', `${dumpDir} holds no readable dbs.sql: it is not a taosdump -o folder`, { hint: 'Pass the folder taosdump dumped into (the set\'s tdengine/ folder).' });
  }
  const recorded = parseDumpedDatabases(dbsSql);
  if (recorded.length !== 1) {
    throw new JobError('tdengine.not_a_dump', `${dumpDir}/dbs.sql names ${recorded.length} databases (${recorded.join(', ') || 'none'}); a set's dump holds exactly one`, { hint: 'Restore such a dump by hand with taosdump -i ... -W "old=new|old2=new2".' });
  }
  p.guard.remember(recorded[0]!);
  return recorded[0]!;
}

function refuseTarget(p: TdParts, target: string, opts: RestoreOptions): void {
  checkName(target, 'the restore target');
  if (isSystemDatabase(target) || (sameDatabase(target, p.cfg.database) && !opts.allowProduction)) {
    throw new UsageError('tdengine.restore_into_production', `refusing to restore into ${target}: it is ${isSystemDatabase(target) ? 'a system database' : 'the production database'}`, {
      hint: 'Restore into the scratch database (verify does), or use the restore command with --confirm.',
    });
  }
}

export async function restoreDump(p: TdParts, ctx: EngineContext, dumpDir: string, target: string, resultFile: string, opts: RestoreOptions = {}): Promise<TdRestoreOutcome> {
  const { log, signal, env } = ctx;
  const { tool, server } = p;
  refuseTarget(p, target, opts);
  if (!tool.binary) tool.find(env);
  const password = server.password(env);
  const source = await recordedDatabase(p, dumpDir);
  if (sameDatabase(source, target) && !opts.allowProduction) {
    // without -W taosdump writes into the recorded name: that is a real database, not a scratch
    throw new UsageError('tdengine.scratch_is_dump_source', `refusing to restore into ${target}: it is the database the dump was made from (${source}; TDengine names ignore case), so this would write into it rather than into a scratch copy`, {
      hint: 'Set tdengine.scratch_database to a name no real database uses, or use the restore command with --confirm to replace that database.',
    });
  }
  const base = Taosdump.safeBase(dumpDir);
  const [client, { server: serverV }] = await Promise.all([tool.clientVersion(env), server.probe(env, signal)]);
  tool.checkPasswordFits(password, client);
  // -W is exact: the recorded spelling on the left, and no -W when only the case differs
  const rename = source !== target;
  if (rename && !supportsRename(client)) {
    throw new JobError('tdengine.no_rename', `taosdump ${client.text} has no -W (rename on restore; since 3.1.1.17 / 3.2.2.0): it would restore into ${source} instead of ${target}`, { hint: INSTALL_HINT });
  }
  const vp = versionProblem(serverV, client, tool.binary);
  if (vp) throw new JobError(vp.code, vp.message, { hint: vp.hint });
  if (!opts.allowExisting && (await server.databaseExists(env, target, signal))) {
    throw new JobError('tdengine.target_exists', `database ${target} already exists: taosdump would merge the dump into it, and its counts would not be the dump's`, {
      hint: `Drop it first (verify drops its scratch database itself), or restore into a new name.`,
    });
  }

  const args = [
    ...tool.connArgs(client),
    '-i', base,
    ...(rename ? ['-W', `${source}=${target}`] : []),
    '-r', path.resolve(resultFile),
    '-T', String(p.cfg.threads),
    '-B', String(p.cfg.batch_rows),
  ];
  const cwd = path.dirname(path.resolve(dumpDir));
  log.info(`$ ${path.basename(tool.binary)} ${args.join(' ')}   (in ${cwd}; password on stdin)`);
  const acc = new OutputAccumulator();
  const r = await tool.run(ctx, { args, cwd, password, acc, what: 'restore' });
  await tool.scrub(path.resolve(resultFile), password);
  const verdict = judgeRestore(acc.facts, r);
  if (!verdict.ok) {
    throw tool.failure('tdengine.restore_failed', `taosdump could not restore ${source} into ${target}`, verdict, password,
      'A data file that "Cannot decode file block" is damaged (verify its checksums); "WAL size exceeds limit" asks for a lower tdengine.batch_rows; a connection failure means the server went away during the restore.');
  }
  const mask = (s: string) => maskPassword(s, password);
  log.info(`taosdump: restore of ${source} into ${target} reported ${verdict.rows} row(s)${verdict.warnings.length ? `, with ${verdict.warnings.length} benign ERROR/WARN line(s)` : ''}`);
  return { warnings: verdict.warnings.map(mask), rowsReported: verdict.rows, source };
}
