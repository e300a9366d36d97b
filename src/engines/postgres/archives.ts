/**
 * Reading pg_dump archives with `pg_restore --list`, without a server. `import` uses it alone (it
 * needs no postgres: section); PostgresEngine uses it to check every dump it writes.
 */
import { JobError } from '../../errors.js';
import { childEnv } from '../engine.js';
import { runTool } from '../exec.js';
import { INSTALL_HINT, findPgTool, spawnFailed } from './client.js';

/** Reads "; Dump Version: 1.15-0" from the head of `pg_restore --list`. */
export function parseArchiveHeader(lines: string[]): { archiveVersion: string | null; database: string | null; serverVersion: string | null; createdAt: string | null } {
  const pick = (re: RegExp): string | null => {
    for (const l of lines) {
      const m = re.exec(l);
      if (m) return m[1]!.trim();
    }
    return null;
  };
  return {
    archiveVersion: pick(/^;\s+Dump Version:\s+(\d+\.\d+)/),
    database: pick(/^;\s+dbname:\s+(.+)$/),
    serverVersion: pick(/^;\s+Dumped from database version:\s+(.+)$/),
    createdAt: pick(/^;\s+Archive created at\s+(.+)$/),
  };
}

export interface PgArchiveInfo {
  database: string | null;
  serverVersion: string | null;
  clientVersion: string | null;
  archiveVersion: string | null;
  createdAt: string | null;
  tables: string[];
  extensions: string[];
}

/** Reads `pg_restore --list` output: the header, TABLE DATA entries and extensions. */
export function parseRestoreList(lines: string[]): PgArchiveInfo {
  const header = parseArchiveHeader(lines.filter((l) => l.startsWith(';')).slice(0, 60));
  const clientVersion = lines.map((l) => /^;\s+Dumped by pg_dump version:\s+(\S+)/.exec(l)?.[1]).find(Boolean) ?? null;
  const tables = new Set<string>();
  const extensions = new Set<string>();
  for (const l of lines) {
    const t = /^\d+;\s+\d+\s+\d+\s+TABLE DATA\s+(\S+)\s+(\S+)\s/.exec(l);
    if (t) tables.add(`${t[1]}.${t[2]}`);
    const e = /^\d+;\s+\d+\s+\d+\s+EXTENSION\s+-\s+(\S+)/.exec(l);
    if (e) extensions.add(e[1]!);
  }
  return {
    database: header.database,
    serverVersion: header.serverVersion?.split(/\s+/)[0] ?? null,
    clientVersion,
    archiveVersion: header.archiveVersion,
    createdAt: header.createdAt,
    tables: [...tables].sort(),
    extensions: [...extensions].sort(),
  };
}

/** The server-free part of the engine: `pg_restore --list` of an archive. */
export class PgArchives {
  private pgRestore = '';

  constructor(private readonly binDir: string | undefined) {}

  findTools(env: NodeJS.ProcessEnv): void {
    this.pgRestore = findPgTool('pg_restore', this.binDir, env);
  }

  /**
   * The lines of `pg_restore --list` (header and table of contents; the first `keep` only).
   * Throws when pg_restore cannot read the file: damaged, not a custom-format archive, or too new.
   */
  async list(file: string, env: NodeJS.ProcessEnv, signal: AbortSignal, keep = Number.POSITIVE_INFINITY, verbose = false): Promise<string[]> {
    const lines: string[] = [];
    // No connection is made: the child gets no PG* variables, so no password either.
    const r = await runTool({
      file: this.pgRestore,
      args: [...(verbose ? ['--verbose'] : []), '--list', file],
      env: childEnv(env, {}),
      signal,
      onStdout: (l) => {
        if (lines.length < keep) lines.push(l);
      },
    });
    if (signal.aborted) throw signal.reason;
    if (r.spawnError) throw spawnFailed(this.pgRestore, r.spawnError);
    if (r.exitCode !== 0) {
      const err = r.stderrTail.join(' ');
      const message = `pg_restore --list cannot read ${file}: ${err || `exit ${r.exitCode}`}`;
      if (/unsupported version/.test(err)) {
        throw new JobError('postgres.archive_too_new', message, { hint: `The archive was written by a newer pg_dump than ${this.pgRestore}. ${INSTALL_HINT}` });
      }
      throw new JobError('postgres.unreadable_archive', message, { hint: 'The file is damaged, or it is not a pg_dump custom- or directory-format archive (pg_dump -Fc, -Fd).' });
    }
    return lines;
  }

  /** What an archive says about itself: see parseRestoreList. */
  async describe(file: string, env: NodeJS.ProcessEnv, signal: AbortSignal): Promise<PgArchiveInfo> {
    return parseRestoreList(await this.list(file, env, signal));
  }

  /** `pg_restore --list` must read the archive; its header gives the archive version. */
  async readHeader(file: string, env: NodeJS.ProcessEnv, signal: AbortSignal): Promise<ReturnType<typeof parseArchiveHeader>> {
    return parseArchiveHeader(await this.list(file, env, signal, 40));
  }
}
