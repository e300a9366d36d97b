/**
 * import <path>...: adopts backups from the old runbook's layout into the catalog, as sets with
 * manifests, so that list, verify, retention and the remotes take care of them.
 *
 * - A file is a pg_dump archive (`postgresql/mystocks_*.backup`,
 *   `postgresql/milestones/<name>_<YYYYMMDD>.backup`). `pg_restore --list` must read it; its header
 *   gives the database, the server and pg_dump versions, the archive version and the dump time, and
 *   its table of contents the tables with data and the extensions.
 * - A folder is a taosdump output folder (`tdengine/tdengine_*`): dbs.sql gives the database and
 *   versions (`#!server_ver:`, `#!taosdump_ver:`, `#!dumpdb:`, PRECISION). It is laid out in the set
 *   as a backup lays out its dump, in `tdengine/` (TDENGINE_DUMP_DIR), where verify and restore read it.
 * - Milestone or daily by name (catalog/import-names.ts).
 * - The originals are copied (then checked by SHA-256), never changed; `--move` removes them once
 *   the set is complete. A path already imported (the manifest's imported_from) is skipped.
 * - Every path is read and checked before any set is written: one unreadable dump imports nothing.
 *
 * An imported dump has no row counts (they can only be had by restoring it): its manifest says
 * `row_counts: "unknown"`, `tables: []`, and for PostgreSQL `archive_tables` lists the tables whose
 * data the archive holds. host/port are "unknown"/0: the old files do not say which server they came from.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sha256Path } from '../shared/hash.js';
import { JobError, UsageError } from '../errors.js';
import { PgArchives, type PgArchiveInfo } from '../engines/postgres/index.js';
import { TDENGINE_DUMP_DIR } from '../engines/tdengine.js';
import { fileEntry, listFiles } from '../catalog/checksum.js';
import { archiveTime, classifyImport, wallTimeIn, type ImportName } from '../catalog/import-names.js';
import { uniqueId } from '../catalog/labels.js';
import { MANIFEST_FORMAT, type FileEntry, type Manifest } from '../catalog/manifest.js';
import { listSets, stageSet } from '../catalog/sets.js';
import { localTime } from '../catalog/time.js';
import { formatBytes } from '../shared/format.js';
import type { CommandOutcome, ListEntry } from '../report/result.js';
import { TOOL_NAME, TOOL_VERSION } from '../version.js';
import type { RunContext } from './context.js';
import { toListEntry } from './list.js';

export interface TaosDumpInfo {
  database: string | null;
  serverVersion: string | null;
  clientVersion: string | null;
  precision: string | null;
}

/** The header lines of taosdump's dbs.sql (top level and per database) and its CREATE DATABASE. */
export function parseTaosDbsSql(texts: string[]): TaosDumpInfo {
  const all = texts.join('\n');
  const pick = (re: RegExp) => re.exec(all)?.[1]?.trim() ?? null;
  return {
    database: pick(/^#!dumpdb:\s*([^:\s]+)/m) ?? pick(/CREATE DATABASE IF NOT EXISTS\s+`?([A-Za-z0-9_]+)`?/),
    // a real 3.3.7 taosdump writes `#!server_ver: ver:3.3.7.5`: the version is what follows `ver:`
    serverVersion: pick(/^#!server_ver:\s*(?:ver:)?(\S+)/m),
    clientVersion: pick(/^#!taosdump_ver:\s*(\S+)/m),
    precision: pick(/PRECISION\s+'(\w+)'/),
  };
}

interface Plan {
  source: string;
  isFolder: boolean;
  name: ImportName;
  startedAt: Date;
  pg?: PgArchiveInfo;
  taos?: TaosDumpInfo;
  /** Relative path (set folder) -> SHA-256 of the original, to check the copy against. */
  sums: Map<string, FileEntry>;
}

/** pg_restore (of postgres.bin_dir, else PATH) reads the archive; found on first use. */
async function readPgArchive(ctx: RunContext, archives: () => PgArchives, file: string): Promise<PgArchiveInfo> {
  try {
    return await archives().describe(file, ctx.env, ctx.signal);
  } catch (err) {
    if (!(err instanceof JobError)) throw err;
    throw new JobError('import.unreadable', `${err.message}; nothing was imported`, {
      hint: err.code === 'postgres.archive_too_new' ? err.hint : 'Is it a pg_dump custom-format archive (pg_dump -Fc)? A plain SQL dump cannot be adopted; leave it out.',
      cause: err,
    });
  }
}

async function readTaosFolder(dir: string): Promise<TaosDumpInfo> {
  const texts: string[] = [];
  const top = path.join(dir, 'dbs.sql');
  try {
    texts.push(await fs.readFile(top, 'utf8'));
  } catch {
    /* older layouts: only the inner dbs.sql */
  }
  const inner = (await fs.readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory() && e.name.startsWith('taosdump.'));
  for (const e of inner) {
    try {
      texts.push(await fs.readFile(path.join(dir, e.name, 'dbs.sql'), 'utf8'));
    } catch {
      /* checked below */
    }
  }
  if (texts.length === 0 || inner.length === 0) {
    throw new UsageError('import.not_taosdump', `${dir} is not a taosdump folder (no dbs.sql and taosdump.* folder in it)`, { hint: 'Import the folder that taosdump -o wrote (it holds dbs.sql and taosdump.<id>/).' });
  }
  return parseTaosDbsSql(texts);
}

async function plan(ctx: RunContext, archives: () => PgArchives, raw: string): Promise<Plan> {
  const source = path.resolve(raw);
  let st;
  try {
    st = await fs.stat(source);
  } catch {
    throw new UsageError('import.missing', `${raw} does not exist`, { hint: 'Give the paths of the old backup files (postgresql/*.backup) or taosdump folders (tdengine/tdengine_*). Nothing was imported.' });
  }
  const tz = ctx.config.timezone;
  const sums = new Map<string, FileEntry>();
  if (st.isFile()) {
    const pg = await readPgArchive(ctx, archives, source);
    const at = archiveTime(pg.createdAt, tz) ?? st.mtime;
    const name = classifyImport(source, pg.database, false, localTime(at, tz).time);
    if ('why' in name) throw new UsageError('import.bad_name', `cannot adopt ${source}: ${name.why}`, { hint: 'Rename a copy of it to <milestone>_<YYYYMMDD>.backup or <database>_<YYYYMMDD>_<HHMMSS>.backup and import that.' });
    const rel = path.basename(source);
    sums.set(rel, { path: rel, bytes: st.size, sha256: await sha256Path(source) });
    return { source, isFolder: false, name, startedAt: at, pg, sums };
  }
  if (!st.isDirectory()) throw new UsageError('import.bad_path', `${source} is neither a file nor a folder`, { hint: 'Give dump files or taosdump folders.' });
  const taos = await readTaosFolder(source);
  const dbs = await fs.stat(path.join(source, 'dbs.sql')).catch(() => st);
  const name0 = classifyImport(source, taos.database, true, null);
  if ('why' in name0) throw new UsageError('import.bad_name', `cannot adopt ${source}: ${name0.why}`, { hint: 'Rename a copy of it to tdengine_<YYYYMMDD>_<HHMMSS> (daily) or <milestone>_<YYYYMMDD> and import that.' });
  // The dump time: from the name; without a time in it, the time dbs.sql was written.
  const fromName = /^(\d{4})(\d{2})(\d{2})$/.exec(name0.date)!;
  const t = name0.time ?? localTime(dbs.mtime, tz).time;
  const at = wallTimeIn(Number(fromName[1]), Number(fromName[2]), Number(fromName[3]), Number(t.slice(0, 2)), Number(t.slice(2, 4)), Number(t.slice(4, 6)), tz);
  const name = classifyImport(source, taos.database, true, t) as ImportName;
  for (const rel of await listFiles(source)) {
    const abs = path.join(source, ...rel.split('/'));
    const inSet = `${TDENGINE_DUMP_DIR}/${rel}`;
    sums.set(inSet, { path: inSet, bytes: (await fs.stat(abs)).size, sha256: await sha256Path(abs) });
  }
  return { source, isFolder: true, name, startedAt: at, taos, sums };
}

export async function importSets(ctx: RunContext): Promise<CommandOutcome> {
  const { config, log } = ctx;
  const paths = ctx.request.paths;
  if (paths.length === 0) throw new UsageError('import.no_paths', 'no paths to import', { hint: 'pgtaos-backup import postgresql/milestones/pre_arch_optimization_20251025.backup postgresql/mystocks_*.backup tdengine/tdengine_*' });

  // 1. Read and check everything first: one bad path imports nothing.
  const plans: Plan[] = [];
  let reader: PgArchives | null = null;
  const archives = (): PgArchives => {
    if (!reader) {
      reader = new PgArchives(config.postgres?.bin_dir);
      reader.findTools(ctx.env);
    }
    return reader;
  };
  for (const p of paths) {
    const pl = await log.group(`reading ${p}`, () => plan(ctx, archives, p));
    log.info(`${pl.source}: ${pl.isFolder ? `taosdump folder of ${pl.taos!.database ?? '?'}` : `pg_dump archive of ${pl.pg!.database ?? '?'} (server ${pl.pg!.serverVersion ?? '?'}, ${pl.pg!.tables.length} tables with data)`}, dumped ${localTime(pl.startedAt, config.timezone).iso} -> ${pl.name.kind} ${pl.name.id}`);
    plans.push(pl);
  }

  // 2. Adopt each one as a set.
  const existing = await listSets(config.root);
  const taken = new Set(existing.map((s) => s.id));
  const imported: string[] = [];
  const skipped: string[] = [];
  const entries: ListEntry[] = [];
  for (const pl of plans) {
    if (ctx.signal.aborted) throw ctx.signal.reason;
    const already = existing.find((s) => s.manifest?.imported_from?.includes(pl.source));
    if (already) {
      log.info(`${pl.source} was imported before, as ${already.id}: skipped`);
      skipped.push(`${pl.source} (already ${already.id})`);
      entries.push(await toListEntry(already));
      continue;
    }
    const id = uniqueId(pl.name.id, (c) => taken.has(c));
    taken.add(id);
    const staged = await stageSet(config.root, pl.name.kind, id);
    try {
      const files: FileEntry[] = [];
      if (pl.isFolder) {
        // the folder's original name is in imported_from; verify and restore read <set>/tdengine/
        await fs.cp(pl.source, path.join(staged.dir, TDENGINE_DUMP_DIR), { recursive: true, errorOnExist: true, force: false, preserveTimestamps: true });
      } else {
        await fs.copyFile(pl.source, path.join(staged.dir, path.basename(pl.source)), fs.constants.COPYFILE_EXCL);
      }
      for (const [rel, want] of pl.sums) {
        const got = await fileEntry(staged.dir, rel);
        if (got.bytes !== want.bytes || got.sha256 !== want.sha256) {
          throw new JobError('import.copy_differs', `the copy of ${rel} differs from the original (${got.bytes} vs ${want.bytes} bytes): was it written to while being imported?`, { hint: 'Nothing was kept; run the import again once nothing writes to the old files.' });
        }
        files.push(got);
      }
      const iso = localTime(pl.startedAt, config.timezone).iso;
      const manifest: Manifest = {
        format: MANIFEST_FORMAT,
        id,
        kind: pl.name.kind,
        milestone: pl.name.milestone,
        status: 'complete',
        started_at: iso,
        finished_at: iso,
        timezone: config.timezone,
        tool: { name: TOOL_NAME, version: TOOL_VERSION },
        hostname: os.hostname(),
        git: null,
        bytes: files.reduce((a, f) => a + f.bytes, 0),
        imported_from: [pl.source],
        ...(pl.pg
          ? {
              postgres: {
                server_version: pl.pg.serverVersion ?? 'unknown',
                client_version: pl.pg.clientVersion ?? 'unknown',
                database: pl.pg.database ?? 'unknown',
                host: 'unknown',
                port: 0,
                archive_version: pl.pg.archiveVersion,
                database_bytes: null,
                snapshot: null,
                extensions: pl.pg.extensions.map((name) => ({ name, version: 'unknown' })),
                large_objects: 0,
                files,
                tables: [],
                row_counts: 'unknown' as const,
                archive_tables: pl.pg.tables,
              },
            }
          : {}),
        ...(pl.taos
          ? {
              tdengine: {
                server_version: pl.taos.serverVersion ?? 'unknown',
                client_version: pl.taos.clientVersion ?? 'unknown',
                database: pl.taos.database ?? 'unknown',
                host: 'unknown',
                port: 0,
                precision: pl.taos.precision,
                end_time: iso,
                files,
                stables: [],
                tables: [],
                row_counts: 'unknown' as const,
              },
            }
          : {}),
      };
      // A signal during the copy must not commit the set: the copy may be whole, but the run is cancelled.
      if (ctx.signal.aborted) throw ctx.signal.reason;
      const finalDir = await staged.commit(manifest);
      log.info(`adopted ${pl.source} as ${pl.name.kind} set ${id} (${formatBytes(manifest.bytes)}, ${files.length} file(s), checksums recorded; row counts unknown until verify restores it)`);
      if (ctx.request.move) {
        await fs.rm(pl.source, { recursive: true, force: true });
        log.info(`--move: removed the original ${pl.source}`);
      }
      imported.push(id);
      const entry = (await listSets(config.root)).find((s) => s.path === finalDir);
      if (entry) entries.push(await toListEntry(entry));
    } catch (err) {
      await staged.discard();
      throw err;
    }
  }
  const message = `imported ${imported.length} set(s)${imported.length ? `: ${imported.join(', ')}` : ''}${skipped.length ? `; ${skipped.length} already in the catalog: ${skipped.join(', ')}` : ''}${ctx.request.move ? '' : '; the original files were left as they were'}`;
  log.info(message);
  return { message, sets: entries };
}
