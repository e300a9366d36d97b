/**
 * import, TDengine: a taosdump output folder from the old runbook. dbs.sql gives the database and
 * versions (`#!server_ver:`, `#!taosdump_ver:`, `#!dumpdb:`, PRECISION). It is laid out in the set
 * as a backup lays out its dump, in `tdengine/` (TDENGINE_DUMP_DIR), where verify and restore read it.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../../errors.js';
import { listFiles } from '../../catalog/checksum.js';
import type { FileEntry } from '../../catalog/file-entry.js';
import { classifyImport, wallTimeIn, type ImportName } from '../../catalog/import-names.js';
import { localTime } from '../../catalog/time.js';
import type { RunContext } from '../../commands/context.js';
import { sha256Path } from '../../shared/hash.js';
import type { EngineImporter, ForeignDump } from '../plugin.js';
import { TDENGINE_DUMP_DIR } from './dump.js';
import type { TdengineSection } from './schema.js';

/** The runbook named its nightly taosdump folders tdengine_<date>_<time> (and sometimes taosdump_...): dailies, not milestones. */
const RUNBOOK_FOLDER_STEMS = ['tdengine', 'taosdump'] as const;

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

export function tdengineImporter(ctx: RunContext): EngineImporter {
  return {
    what: 'taosdump folders (tdengine/tdengine_*)',
    example: 'tdengine/tdengine_*',
    takes: 'folder',
    async read(source, st): Promise<ForeignDump> {
      const tz = ctx.config.timezone;
      const taos = await readTaosFolder(source);
      const dbs = await fs.stat(path.join(source, 'dbs.sql')).catch(() => st);
      const name0 = classifyImport(source, taos.database, true, null, RUNBOOK_FOLDER_STEMS);
      if ('why' in name0) throw new UsageError('import.bad_name', `cannot adopt ${source}: ${name0.why}`, { hint: 'Rename a copy of it to tdengine_<YYYYMMDD>_<HHMMSS> (daily) or <milestone>_<YYYYMMDD> and import that.' });
      // The dump time: from the name; without a time in it, the time dbs.sql was written.
      const fromName = /^(\d{4})(\d{2})(\d{2})$/.exec(name0.date)!;
      const t = name0.time ?? localTime(dbs.mtime, tz).time;
      const at = wallTimeIn(Number(fromName[1]), Number(fromName[2]), Number(fromName[3]), Number(t.slice(0, 2)), Number(t.slice(2, 4)), Number(t.slice(4, 6)), tz);
      const name = classifyImport(source, taos.database, true, t, RUNBOOK_FOLDER_STEMS) as ImportName;
      const sums = new Map<string, FileEntry>();
      for (const rel of await listFiles(source)) {
        const abs = path.join(source, ...rel.split('/'));
        const inSet = `${TDENGINE_DUMP_DIR}/${rel}`;
        sums.set(inSet, { path: inSet, bytes: (await fs.stat(abs)).size, sha256: await sha256Path(abs) });
      }
      return {
        name,
        startedAt: at,
        sums,
        summary: `taosdump folder of ${taos.database ?? '?'}`,
        // the folder's original name is in imported_from; verify and restore read <set>/tdengine/
        copyInto: (dir) => fs.cp(source, path.join(dir, TDENGINE_DUMP_DIR), { recursive: true, errorOnExist: true, force: false, preserveTimestamps: true }),
        section: (files, iso): TdengineSection => ({
          server_version: taos.serverVersion ?? 'unknown',
          client_version: taos.clientVersion ?? 'unknown',
          database: taos.database ?? 'unknown',
          host: 'unknown',
          port: 0,
          precision: taos.precision,
          end_time: iso,
          files,
          stables: [],
          tables: [],
          row_counts: 'unknown',
        }),
      };
    },
  };
}
