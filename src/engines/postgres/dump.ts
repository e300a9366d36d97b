/**
 * The dump: one REPEATABLE READ transaction exports its snapshot and only holds it; pg_dump dumps that
 * snapshot while a second session imports it and counts every table (counts.ts), so the counts and
 * the dump are one point in time, and a count the server refuses cannot end the exporting transaction.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { JobError } from '../../errors.js';
import type { PostgresConfig } from '../../inputs/config-schema.js';
import { MANIFEST_FORMAT, type PgCountError, type PostgresSection } from '../../catalog/manifest.js';
import { fileEntry, listFiles } from '../../catalog/checksum.js';
import { folderBytes } from '../../catalog/sets.js';
import { formatBytes } from '../../shared/format.js';
import { ticker } from '../../shared/progress.js';
import type { EngineContext, PreflightInfo } from '../engine.js';
import type { ToolResult } from '../exec.js';
import type { PgArchives } from './archives.js';
import { howEnded, isDumpErrorLine, runPgTool, spawnFailed } from './client.js';
import { countTables, isPermissionError, listCountTargets, type CountTarget, type PgCounts } from './counts.js';
import { archiveName, describeOptions, formatArgs } from './dump-options.js';
import { parseClientVersion } from './versions.js';
import { disableTimeouts, exportSnapshot, importSnapshot, markWal, type PgSessions } from './session.js';

/** What a dump needs of the engine. */
export interface DumpDeps {
  cfg: PostgresConfig;
  pgDump: string;
  sessions: PgSessions;
  archives: PgArchives;
}

/** How often a running pg_dump, pg_restore or row count reports its progress (postgres.progress_seconds). */
export function progressIntervalMs(cfg: Pick<PostgresConfig, 'progress_seconds'>): number {
  return Math.round(cfg.progress_seconds * 1000);
}

/** The bytes of a custom archive, or of every file in a directory archive. */
async function archiveBytes(file: string): Promise<number> {
  const st = await fs.stat(file);
  return st.isDirectory() ? folderBytes(file) : st.size;
}

/** Logs the size of `file` (or folder) every `ms` while pg_dump writes it; returns the stop. */
function reportProgress(file: string, log: EngineContext['log'], ms: number, started: number): () => void {
  return ticker(ms, (l) => log.info(l), async () => `pg_dump: ${formatBytes(await archiveBytes(file))} written after ${Math.round((Date.now() - started) / 1000)} s`);
}

/** Pure: one part of a pg_dump -t/-n pattern, matched exactly (double quotes make every character literal). */
export function patternPart(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Pure: a pg_dump -t pattern naming exactly one table. */
export function tablePattern(schema: string, table: string): string {
  return `${patternPart(schema)}.${patternPart(table)}`;
}

/**
 * Pure: what pg_dump selects. The whole database with its large objects, or (a table restore's safety
 * set) `-t` for each of `only` the database has; a name it does not have is simply not dumped.
 */
export function dumpSelection(targets: CountTarget[], only: readonly string[] | undefined): { targets: CountTarget[]; args: string[] } {
  if (!only) return { targets, args: ['-b'] };
  const want = new Set(only);
  const chosen = targets.filter((t) => want.has(t.name));
  // Without a -t, pg_dump would dump the whole database: never a silent whole dump in place of some tables.
  if (chosen.length === 0) throw new JobError('postgres.no_tables', `the database has none of the tables ${only.join(', ')}`, { hint: 'A table that does not exist yet needs no safety set; run the restore again.' });
  return { targets: chosen, args: chosen.flatMap((t) => ['-t', tablePattern(t.schema, t.table)]) };
}

/** Dumps the database (or `only` these tables of it) into `dir` and returns the manifest section. */
export async function dumpDatabase(deps: DumpDeps, ctx: EngineContext, dir: string, pre: PreflightInfo, only?: readonly string[]): Promise<PostgresSection> {
  const { cfg, sessions } = deps;
  const { log, signal, env } = ctx;
  const fileName = archiveName(cfg);
  const client = parseClientVersion(`(PostgreSQL) ${pre.clientVersion}`) ?? { major: 0, text: pre.clientVersion };
  const file = path.join(dir, fileName);
  const exporter = await sessions.connect(env);
  let counter: pg.Client | undefined;
  let stopProgress = (): void => {};
  try {
    const snap = await exportSnapshot(exporter);
    counter = await sessions.connect(env);
    const c = counter;
    const wal = await markWal(c, cfg.database);
    await disableTimeouts(c);
    await importSnapshot(c, snap);
    const { targets, args: select } = dumpSelection(await listCountTargets(c, MANIFEST_FORMAT), only);
    const extensions = (await c.query<{ name: string; version: string }>('SELECT extname AS name, extversion AS version FROM pg_extension ORDER BY 1')).rows;

    const args = [...formatArgs(cfg, client), ...select, '-w', '-f', file, '--snapshot', snap, '-h', cfg.host, '-p', String(cfg.port), '-U', cfg.user, '-d', cfg.database];
    const started = Date.now();
    const dumping = runPgTool('pg_dump', deps.pgDump, args, ctx);
    stopProgress = reportProgress(file, log, progressIntervalMs(cfg), started);
    // Counting runs while pg_dump runs, on the same snapshot (one after the other costs ~6%).
    // A refused count re-opens the counting transaction on the snapshot; the exporter is not touched.
    const counting = countTables(c, targets, { log, signal, progressMs: progressIntervalMs(cfg) }, () => importSnapshot(c, snap));
    const [dumped, counted] = await Promise.allSettled([dumping, counting]);
    stopProgress();
    if (signal.aborted) throw signal.reason;
    if (dumped.status === 'rejected') throw dumped.reason;
    const { result: r, stderr } = dumped.value;
    if (r.spawnError) throw spawnFailed(deps.pgDump, r.spawnError);
    const errors = stderr.filter(isDumpErrorLine);
    if (r.exitCode !== 0 || errors.length > 0) throw dumpFailure(cfg.user, r, errors, counted.status === 'fulfilled' ? counted.value.errors : []);
    if (counted.status === 'rejected') {
      throw new JobError('postgres.count_failed', `counting rows failed: ${(counted.reason as Error).message}`, { hint: 'The server may have stopped during the backup; run it again once it is up.', cause: counted.reason });
    }
    await c.query('COMMIT');
    await exporter.query('COMMIT');
    const bytes = await requireNonEmpty(cfg, file);
    const header = await deps.archives.readHeader(file, env, signal);
    log.info(`pg_dump: ${formatBytes(bytes)} in ${Math.round((Date.now() - started) / 100) / 10} s (${describeOptions(cfg)}); archive format ${header.archiveVersion ?? '?'}; ${counted.value.tables.length} tables counted`);
    const dumpedSection = section(cfg, pre, snap, header.archiveVersion, extensions, counted.value, await archiveEntries(dir, fileName, cfg));
    // Some tables only: no large objects were dumped, and the manifest says which tables it holds.
    const narrowed = only ? { only_tables: targets.map((t) => t.name), large_objects: 0 } : {};
    return { ...dumpedSection, ...narrowed, ...(wal ? { wal } : {}) };
  } finally {
    stopProgress();
    await counter?.end().catch(() => {});
    await exporter.end().catch(() => {});
  }
}

/** An empty archive (a custom file, or a directory's toc.dat) is a failed dump; returns the archive's bytes. */
async function requireNonEmpty(cfg: PostgresConfig, file: string): Promise<number> {
  const toc = cfg.format === 'directory' ? path.join(file, 'toc.dat') : file;
  const st = await fs.stat(toc).catch(() => null);
  if (!st || st.size === 0) throw new JobError('postgres.empty_dump', `pg_dump wrote ${st ? 'an empty' : 'no'} file ${toc}`, { hint: 'Check the disk and the pg_dump output above.' });
  return archiveBytes(file);
}

/** The manifest's files: the custom archive, or every file of the directory archive ("<db>.dir/toc.dat", ...). */
async function archiveEntries(dir: string, fileName: string, cfg: PostgresConfig): Promise<PostgresSection['files']> {
  if (cfg.format !== 'directory') return [await fileEntry(dir, fileName)];
  const rels = await listFiles(path.join(dir, fileName));
  const files: PostgresSection['files'] = [];
  for (const rel of rels) files.push(await fileEntry(dir, `${fileName}/${rel}`));
  return files;
}

function section(cfg: PostgresConfig, pre: PreflightInfo, snap: string, archiveVersion: string | null, extensions: PostgresSection['extensions'], counted: PgCounts, files: PostgresSection['files']): PostgresSection {
  return {
    server_version: pre.serverVersion,
    client_version: pre.clientVersion,
    database: cfg.database,
    host: cfg.host,
    port: cfg.port,
    archive_version: archiveVersion,
    database_bytes: pre.estimatedBytes,
    snapshot: snap,
    extensions,
    large_objects: counted.largeObjects,
    files,
    tables: counted.tables,
    format: cfg.format ?? 'custom',
    ...(cfg.compress !== undefined ? { compress: cfg.compress } : {}),
    ...(cfg.dump_jobs !== undefined ? { dump_jobs: cfg.dump_jobs } : {}),
    // pg_dump dumped these whole; only their counts are missing, and the manifest says so.
    ...(counted.errors.length ? { count_errors: counted.errors } : {}),
  };
}

/**
 * pg_dump failed. A count refused for want of SELECT is the cause (pg_dump needs the same
 * privilege and fails after it), so it is named first, as what it is.
 */
function dumpFailure(user: string, r: ToolResult, errors: string[], countErrors: PgCountError[]): JobError {
  const how = howEnded(r);
  const lines = (errors.length ? errors : r.stderrTail).slice(-10).join('\n  ');
  const denied = countErrors.filter(isPermissionError);
  if (denied.length > 0) {
    const names = denied.map((d) => d.name).join(', ');
    return new JobError('postgres.permission_denied', `permission denied for table${denied.length > 1 ? 's' : ''} ${names}: the backup user ${user} needs SELECT on every table (the server said: ${denied[0]!.error.replace(/^42501: /, '')}). pg_dump failed after it (${how}):\n  ${lines}`, {
      hint: `Grant it and run the backup again: GRANT SELECT ON ${denied.map((d) => d.name).join(', ')} TO ${user}; (and USAGE on the schema; on PostgreSQL 14+ GRANT pg_read_all_data TO ${user} covers every table).`,
    });
  }
  const also = countErrors.length ? `\n  counting failed too: ${countErrors.map((e) => `${e.name}: ${e.error}`).join('; ')}` : '';
  return new JobError('postgres.dump_failed', `pg_dump failed (${how}):\n  ${lines}${also}`, {
    hint: 'Read the pg_dump lines above. A lost connection means the server stopped or restarted during the dump; run the backup again once it is up.',
  });
}
