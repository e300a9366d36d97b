/**
 * Restoring a PostgreSQL archive: pg_restore (never --clean: it always fills a new, empty database,
 * see admin.ts) with TimescaleDB's pre/post steps, the checks before it (the archive readable, the
 * extension offered, no old copy left), and the restored copy's counts against the manifest.
 */
import path from 'node:path';
import type pg from 'pg';
import { JobError } from '../../errors.js';
import type { PostgresConfig } from '../../inputs/config-schema.js';
import type { SetEntry } from '../../catalog/sets.js';
import { assertSetSafe, setFilePath } from '../../catalog/set-files.js';
import { archiveRel, setFormat } from './dump-options.js';
import { renderDifferences } from '../../catalog/compare.js';
import { comparePostgres } from './compare.js';
import type { RunLog } from '../../report/log.js';
import type { Check } from '../../report/result.js';
import type { EngineContext } from '../engine.js';
import { oldName, type OpenMaintenance } from './admin.js';
import type { PgArchives } from './archives.js';
import { howEnded, isDumpErrorLine, runPgTool, spawnFailed } from './client.js';
import type { PgCounts } from './counts.js';
import { withSession } from './session.js';
import { doneOfTotal, ticker } from '../../shared/progress.js';

/** `noOwner`: --no-owner --no-acl (a scratch restore, where the roles may not exist). */
export interface RestoreOptions {
  jobs: number;
  timescale: boolean;
  noOwner: boolean;
  /** pg_restore -L: restore only the entries this file lists. */
  listFile?: string;
  /** pg_restore --section: only these parts of the archive. */
  sections?: ('pre-data' | 'data' | 'post-data')[];
}

/** What a restore needs of the engine: its SQL steps are the engine's own methods. */
export interface RestoreDeps {
  cfg: Pick<PostgresConfig, 'host' | 'port' | 'user' | 'progress_seconds'>;
  pgRestore: string;
  /** `pg_restore --list` of the archive: its table of contents, for the progress lines' "of N". */
  listArchive(file: string, env: NodeJS.ProcessEnv, signal: AbortSignal): Promise<string[]>;
  sql(env: NodeJS.ProcessEnv, database: string, text: string): Promise<void>;
  resetRestoring(env: NodeJS.ProcessEnv, database: string): Promise<void>;
}

/**
 * pg_restore into `target`, a new empty database. TimescaleDB databases are restored the
 * documented way: timescaledb_pre_restore() before, timescaledb_post_restore() after, and no -j.
 * Whatever happens (failure, cancel), `timescaledb.restoring` is reset on `target` after.
 */
export async function restoreArchive(deps: RestoreDeps, ctx: EngineContext, file: string, target: string, opts: RestoreOptions): Promise<void> {
  const { log, env } = ctx;
  let failed = true;
  let prepared = false;
  try {
    if (opts.timescale) await deps.sql(env, target, 'CREATE EXTENSION IF NOT EXISTS timescaledb; SELECT timescaledb_pre_restore();');
    prepared = opts.timescale;
    await runRestore(deps, ctx, file, target, opts);
    failed = false;
  } finally {
    // post_restore resets it too, but only when it runs and succeeds: the reset is unconditional.
    const after = async () => {
      try {
        if (prepared) await deps.sql(env, target, 'SELECT timescaledb_post_restore();');
      } finally {
        await deps.resetRestoring(env, target);
      }
    };
    if (!failed) await after();
    else {
      await after().catch((e: unknown) => log.error(`${prepared ? 'timescaledb_post_restore()' : 'resetting timescaledb.restoring'} on ${target} failed: ${(e as Error).message}; before using ${target}, run on it: ${prepared ? 'SELECT timescaledb_post_restore(); ' : ''}ALTER DATABASE ${target} RESET timescaledb.restoring`));
    }
  }
}

/**
 * The entries pg_restore will restore: the table of contents of `pg_restore --list` (";" lines are
 * comments), without the ACL entries --no-acl skips.
 */
export function restoreEntries(listing: string[], noAcl: boolean): number {
  return listing.filter((l) => /^\d+;/.test(l) && !(noAcl && /^\d+; \d+ \d+ (ACL|DEFAULT ACL) /.test(l))).length;
}

/**
 * One line of `pg_restore -v` per entry restored, in serial and parallel (-j) runs alike: "creating
 * TABLE ...", "processing data for table ...", "executing SEQUENCE SET ...", "processing BLOBS".
 * Other verbose lines ("launching item", "restoring large object") are not entries of their own.
 */
export const ENTRY_DONE_RE = /^pg_restore: (creating |processing data for table |executing |processing BLOBS)/;
/** The same messages anywhere in a line: -j workers share stderr and their prefixes interleave. */
const ENTRY_DONE_G = /(?:^|\s)(?:creating |processing data for table |executing |processing BLOBS)/g;
/** -v's other step lines: not logged (one or more per entry, or per large object). */
const VERBOSE_STEP_RE = /(?:^|\s)(?:connecting to database|entering |finished main parallel loop|launching item |finished item |processing item |processing missed item |restoring large object |restored \d+ large object)/;
/** Words that make a line pg_restore's complaint (or its context): always logged and judged. */
const NEVER_TAKEN_RE = /\b(?:error|warning|detail|hint):|PROCESSING TOC|from TOC entry/i;

/**
 * Takes pg_restore -v's step lines (true: counted or dropped, not logged) and counts the entries done.
 * Parallel workers write their "pg_restore: " prefix and message in separate writes, so under load a
 * line can read "pg_restore: pg_restore:pg_restore: finished item ..." and the next
 * "pg_restore:  processing data for table ..." or " creating CONSTRAINT ..." with no prefix at all:
 * prefixes are stripped and messages found anywhere.
 */
export function restoreCounter(): { onLine: (l: string) => boolean; done: () => number } {
  let done = 0;
  return {
    onLine: (l) => {
      // The prefix may have landed on the line before: a bare " creating …" is still an entry.
      if (NEVER_TAKEN_RE.test(l)) return false;
      const rest = l.replace(/pg_restore:\s*/g, ' ').trim();
      const entries = rest.match(ENTRY_DONE_G)?.length ?? 0;
      done += entries;
      return entries > 0 || rest === '' || VERBOSE_STEP_RE.test(rest);
    },
    done: () => done,
  };
}

/** The progress line of a running pg_restore. */
export function restoreLine(done: number, total: number | null): string {
  return `pg_restore: ${total === null ? `${done} archive entries restored` : doneOfTotal(done, total, 'archive entries restored')}`;
}

/** pg_restore -v's per-entry lines are counted for the progress lines, not logged one by one. */
function restoreProgress(log: EngineContext['log'], ms: number, total: number | null): { onLine: (l: string) => boolean; stop: () => void } {
  const counter = restoreCounter();
  return { onLine: counter.onLine, stop: ticker(ms, (l) => log.info(l), () => restoreLine(counter.done(), total)) };
}

async function runRestore(deps: RestoreDeps, ctx: EngineContext, file: string, target: string, opts: RestoreOptions): Promise<void> {
  const { cfg } = deps;
  // The "of N" of the progress lines; an archive pg_restore cannot list fails below, with pg_restore's own words.
  const total = await deps.listArchive(file, ctx.env, ctx.signal).then(
    (l) => restoreEntries(l, opts.noOwner),
    () => null,
  );
  if (ctx.signal.aborted) throw ctx.signal.reason;
  const args = [
    '-h', cfg.host, '-p', String(cfg.port), '-U', cfg.user, '-w', '-v', '-d', target,
    '--exit-on-error',
    ...(opts.timescale || opts.jobs <= 1 ? [] : ['-j', String(opts.jobs)]),
    ...(opts.noOwner ? ['--no-owner', '--no-acl'] : []),
    ...(opts.listFile ? ['-L', opts.listFile] : []),
    ...(opts.sections ?? []).map((s) => `--section=${s}`),
    file,
  ];
  const progress = restoreProgress(ctx.log, Math.round(cfg.progress_seconds * 1000), total);
  const { result: r, stderr } = await runPgTool('pg_restore', deps.pgRestore, args, ctx, progress.onLine).finally(progress.stop);
  if (ctx.signal.aborted) throw ctx.signal.reason;
  if (r.spawnError) throw spawnFailed(deps.pgRestore, r.spawnError);
  if (r.exitCode !== 0) {
    // Without an error line (killed), the lines pg_restore printed other than -v's steps (then its raw tail).
    const errors = stderr.filter(isDumpErrorLine);
    throw new JobError('postgres.restore_failed', `pg_restore into ${target} failed (${howEnded(r)}):\n  ${(errors.length ? errors : stderr.length ? stderr : r.stderrTail).slice(-10).join('\n  ')}`, {
      hint: 'Read the pg_restore lines above: a damaged archive, a missing extension or role on the target server, or a full disk.',
    });
  }
}

/**
 * pg_restore of the `-L` list's entries into `target`, an existing database: --clean --if-exists
 * drops each object before recreating it, and --single-transaction makes it all or nothing
 * (so no -j; --exit-on-error is implied). Used by restore --table; with no list (--as-schema), the
 * whole archive of a new schema, in one transaction.
 */
export async function restoreListed(deps: Pick<RestoreDeps, 'cfg' | 'pgRestore'>, ctx: EngineContext, file: string, listFile: string | null, target: string): Promise<void> {
  const { cfg } = deps;
  // No list: a whole archive of new objects (a side schema), so nothing to clean.
  const select = listFile === null ? [] : ['--clean', '--if-exists', '-L', listFile];
  const args = ['-h', cfg.host, '-p', String(cfg.port), '-U', cfg.user, '-w', '-v', '-d', target, '--single-transaction', '--exit-on-error', ...select, file];
  const progress = restoreProgress(ctx.log, Math.round(cfg.progress_seconds * 1000), null);
  const { result: r, stderr } = await runPgTool('pg_restore', deps.pgRestore, args, ctx, progress.onLine).finally(progress.stop);
  if (ctx.signal.aborted) throw ctx.signal.reason;
  if (r.spawnError) throw spawnFailed(deps.pgRestore, r.spawnError);
  if (r.exitCode !== 0) {
    const errors = stderr.filter(isDumpErrorLine);
    throw new JobError('postgres.restore_failed', `pg_restore into ${target} failed (${howEnded(r)}); its one transaction was rolled back:\n  ${(errors.length ? errors : stderr.length ? stderr : r.stderrTail).slice(-10).join('\n  ')}`, {
      hint: listFile === null
        ? 'Read the pg_restore lines above: nothing of it was kept in the target.'
        : 'Read the pg_restore lines above. "other objects depend on it": a view or another table\'s object needs the table; restore those tables with it (--table for each), or restore the whole set.',
    });
  }
}

/** One SQL text on `database` (TimescaleDB's pre/post steps); an error names the database. */
export async function runSql(opening: Promise<pg.Client>, database: string, text: string): Promise<void> {
  await withSession(opening, async (client) => {
    try {
      await client.query(text);
    } catch (err) {
      throw new JobError('postgres.sql', `on ${database}: ${(err as Error).message}`, { hint: 'For TimescaleDB, the target server needs the same timescaledb extension version as the manifest records.', cause: err });
    }
  });
}

/**
 * Clears `timescaledb.restoring` on `database`: timescaledb_pre_restore() sets it per database,
 * and a database left with it on runs without TimescaleDB's background jobs. Plain PostgreSQL
 * accepts the name as a placeholder, so this runs for every restore.
 */
export async function resetRestoring(open: OpenMaintenance, database: string): Promise<void> {
  await withSession(open(), async (client) => {
    if ((await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database])).rowCount === 1) {
      await client.query(`ALTER DATABASE ${client.escapeIdentifier(database)} RESET timescaledb.restoring`);
    }
  });
}

/** The target server must offer the extension the dump needs, at the version it was made with. */
export async function requireExtension(open: OpenMaintenance, cfg: Pick<PostgresConfig, 'host' | 'port'>, name: string, version: string | undefined): Promise<void> {
  const offered = await withSession(open(), async (client) =>
    (await client.query<{ version: string }>('SELECT version FROM pg_available_extension_versions WHERE name = $1', [name])).rows.map((r) => r.version),
  );
  if (offered.length === 0) {
    throw new JobError('postgres.extension_missing', `the server ${cfg.host}:${cfg.port} has no ${name} extension, which the dump needs${version ? ` (it was made with ${name} ${version})` : ''}`, {
      hint: `Install ${name}${version ? ` ${version}` : ''} for this PostgreSQL version on the target server (and add it to shared_preload_libraries), then run again. Nothing was restored.`,
    });
  }
  if (version && !offered.includes(version)) {
    throw new JobError('postgres.extension_version', `the server offers ${name} ${offered.join(', ')}, but the dump was made with ${name} ${version}`, {
      hint: `Install ${name} ${version} on the target server: TimescaleDB restores need the same extension version. Nothing was restored.`,
    });
  }
}

/**
 * The PostgreSQL archive of a set: relative, inside the set, not a link (checked now, just before use).
 * A directory-format archive is a folder pg_restore reads whole: every file the manifest lists is
 * checked, and nothing under the set folder may be a link (pg_restore would follow it).
 */
export async function pgDumpPath(set: SetEntry): Promise<string> {
  const section = set.manifest!.postgres!;
  if (setFormat(section) === 'custom') return setFilePath(set.path, section.files[0]!.path, set.id);
  const rel = archiveRel(section);
  // globals.sql sits beside the archive folder (pg_dumpall's file, restored apart with --with-globals).
  const archiveFiles = section.files.filter((f) => f.path !== section.globals?.path);
  const outside = archiveFiles.find((f) => !f.path.startsWith(`${rel}/`));
  if (outside) {
    throw new JobError('set.unsafe_file', `set ${set.id} is damaged: its directory archive ${rel} and the file ${outside.path} the manifest lists are not one folder`, {
      hint: 'Someone or something changed manifest.json after it was written. Inspect it by hand, and verify or restore another set.',
    });
  }
  await assertSetSafe(set.path, archiveFiles.map((f) => f.path), set.id);
  return path.join(set.path, ...rel.split('/'));
}

/** Why `pg_restore --list` cannot read the set's archive, or null when it can. A cancel is thrown. */
export async function archiveProblem(archives: PgArchives, set: SetEntry, ectx: EngineContext): Promise<string | null> {
  try {
    await archives.list(await pgDumpPath(set), ectx.env, ectx.signal, 1);
    return null;
  } catch (err) {
    if (ectx.signal.aborted) throw err;
    return (err as Error).message;
  }
}

/** A copy an earlier restore swapped out and could not drop is refused, never dropped unseen. */
export async function refuseOldCopy(exists: (name: string) => Promise<boolean>, target: string): Promise<void> {
  const old = oldName(target);
  if (!(await exists(old))) return;
  throw new JobError('restore.old_copy_left', `database ${old} exists: an earlier restore replaced ${target} and left the old copy behind`, {
    hint: `It holds what ${target} held before that restore (its safety set has it too: \`pgtaos-backup list\`). Once you no longer need it, drop it (dropdb ${old}) and run the restore again.`,
  });
}

/** The copy's counts against the manifest: a difference stops the restore before the swap. */
export function compareWithManifest(log: RunLog, set: SetEntry, staging: string, restored: PgCounts): Check[] {
  const pg = set.manifest!.postgres!;
  if (pg.row_counts === 'unknown') {
    const rows = restored.tables.reduce((a, t) => a + t.rows, 0);
    return [{ name: 'postgres row counts', result: 'skipped', detail: `not compared: an imported set's manifest has none (the restored copy has ${restored.tables.length} tables, ${rows} rows)` }];
  }
  const { diffs, notCompared } = comparePostgres(pg, restored);
  const wrong = diffs.filter((d) => d.expected !== null);
  for (const e of diffs.filter((d) => d.expected === null)) log.warn(`the restored copy has a table the manifest does not list: ${e.table} (${e.restored} rows)`);
  if (wrong.length > 0) {
    for (const l of renderDifferences(wrong)) log.error(`  ${l}`);
    throw new JobError('restore.counts_differ', `the restored copy ${staging} differs from the manifest of ${set.id} in ${wrong.length} table(s): ${wrong.map((d) => d.table).join(', ')}`, {
      hint: `The set does not restore to what was backed up: run \`pgtaos-backup verify ${set.id}\`, and restore another set.`,
    });
  }
  return [
    { name: 'postgres row counts', result: 'passed', detail: `${pg.tables.length} tables match the manifest` },
    ...notCompared.map((n): Check => ({ name: `postgres row count ${n.table}`, result: 'skipped', detail: `not compared: the backup could not count it (${n.reason})` })),
  ];
}
