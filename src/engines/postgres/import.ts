/**
 * import, PostgreSQL: a pg_dump archive from the old runbook, read with `pg_restore --list`: a
 * custom-format file, or a directory-format folder (toc.dat and a file per table), which the set
 * holds as `<database>.dir/` with every file listed in the manifest.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { JobError, UsageError } from '../../errors.js';
import type { FileEntry } from '../../catalog/file-entry.js';
import { listFiles } from '../../catalog/checksum.js';
import { archiveTime, classifyImport } from '../../catalog/import-names.js';
import { localTime } from '../../catalog/time.js';
import type { RunContext } from '../../commands/context.js';
import { sha256Path } from '../../shared/hash.js';
import type { EngineImporter, ForeignDump } from '../plugin.js';
import { PgArchives, type PgArchiveInfo } from './index.js';
import type { PostgresSection } from './schema.js';

export function postgresImporter(ctx: RunContext): EngineImporter {
  let reader: PgArchives | null = null;
  /** pg_restore (of postgres.bin_dir, else PATH), found on first use. */
  const archives = (): PgArchives => {
    if (!reader) {
      reader = new PgArchives(ctx.config.postgres?.bin_dir);
      reader.findTools(ctx.env);
    }
    return reader;
  };
  return {
    what: 'the old backup files (postgresql/*.backup, or pg_dump -Fd folders)',
    example: 'postgresql/milestones/pre_arch_optimization_20251025.backup postgresql/mystocks_*.backup',
    takes: 'both',
    // A folder is a pg_dump directory archive when it holds toc.dat (a taosdump folder does not).
    claims: async (source, st) => st.isFile() || (await fs.stat(path.join(source, 'toc.dat')).then((t) => t.isFile(), () => false)),
    async read(source, st): Promise<ForeignDump> {
      const tz = ctx.config.timezone;
      const pg = await readPgArchive(ctx, archives, source);
      const at = archiveTime(pg.createdAt, tz) ?? st.mtime;
      const name = classifyImport(source, pg.database, false, localTime(at, tz).time);
      if ('why' in name) throw new UsageError('import.bad_name', `cannot adopt ${source}: ${name.why}`, { hint: 'Rename a copy of it to <milestone>_<YYYYMMDD>.backup or <database>_<YYYYMMDD>_<HHMMSS>.backup (a folder: <database>_<YYYYMMDD>_<HHMMSS>) and import that.' });
      const directory = st.isDirectory();
      const rel = directory ? `${pg.database ?? 'postgres'}.dir` : path.basename(source);
      const sums = directory ? await folderSums(source, rel) : new Map<string, FileEntry>([[rel, { path: rel, bytes: st.size, sha256: await sha256Path(source) }]]);
      return {
        name,
        startedAt: at,
        sums,
        summary: `pg_dump archive of ${pg.database ?? '?'} (server ${pg.serverVersion ?? '?'}, ${pg.tables.length} tables with data)`,
        copyInto: (dir) => (directory ? copyFolder(source, path.join(dir, rel), [...sums.keys()].map((k) => k.slice(rel.length + 1))) : fs.copyFile(source, path.join(dir, rel), fs.constants.COPYFILE_EXCL)),
        section: (files): PostgresSection => ({
          server_version: pg.serverVersion ?? 'unknown',
          client_version: pg.clientVersion ?? 'unknown',
          database: pg.database ?? 'unknown',
          host: 'unknown',
          port: 0,
          archive_version: pg.archiveVersion,
          database_bytes: null,
          snapshot: null,
          extensions: pg.extensions.map((n) => ({ name: n, version: 'unknown' })),
          large_objects: 0,
          files,
          tables: [],
          row_counts: 'unknown',
          archive_tables: pg.tables,
          format: directory ? 'directory' : 'custom',
        }),
      };
    },
  };
}

/** Every file of a directory archive, as it will lie in the set (`<rel>/...`). */
async function folderSums(source: string, rel: string): Promise<Map<string, FileEntry>> {
  const sums = new Map<string, FileEntry>();
  for (const f of await listFiles(source)) {
    const abs = path.join(source, ...f.split('/'));
    sums.set(`${rel}/${f}`, { path: `${rel}/${f}`, bytes: (await fs.stat(abs)).size, sha256: await sha256Path(abs) });
  }
  return sums;
}

/** Copies the listed files of a directory archive into `dest` (created; nothing is overwritten). */
async function copyFolder(source: string, dest: string, rels: string[]): Promise<void> {
  for (const f of rels) {
    const to = path.join(dest, ...f.split('/'));
    await fs.mkdir(path.dirname(to), { recursive: true });
    await fs.copyFile(path.join(source, ...f.split('/')), to, fs.constants.COPYFILE_EXCL);
  }
}

/** `pg_restore --list` reads the archive; what it cannot read is not adopted. */
async function readPgArchive(ctx: RunContext, archives: () => PgArchives, file: string): Promise<PgArchiveInfo> {
  try {
    return await archives().describe(file, ctx.env, ctx.signal);
  } catch (err) {
    if (!(err instanceof JobError)) throw err;
    throw new JobError('import.unreadable', `${err.message}; nothing was imported`, {
      hint: err.code === 'postgres.archive_too_new' ? err.hint : 'Is it a pg_dump custom-format archive (pg_dump -Fc) or directory-format folder (pg_dump -Fd)? A plain SQL dump cannot be adopted; leave it out.',
      cause: err,
    });
  }
}
