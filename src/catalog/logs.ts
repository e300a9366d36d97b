/**
 * The run logs and JSON reports under <root>/logs (named by run.ts: <YYYYMMDD>_<HHMMSS>-<command>-<pid>
 * .log / .json) and their retention, `retention.log_days`, applied by prune. A file is judged by when
 * it was last written (its mtime). Files of the running prune and of the lock's holder are always
 * kept; files that are not a run's log or report (other names, links, folders) are never touched.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { LOGS_DIR } from './sets.js';

const DAY_MS = 86_400_000;

/** A run's log or report file name: the run's local start, its command and its pid. */
export const RUN_FILE_RE = /^\d{8}_\d{6}-([a-z]+)-(\d+)\.(log|json)$/;

export interface LogFile {
  name: string;
  path: string;
  bytes: number;
  /** Last written. */
  mtimeMs: number;
}

/** A run whose files must stay: the running prune itself, and whoever holds the lock. */
export interface LiveRun {
  command: string;
  pid: number;
  why: string;
}

export interface LogDecision extends LogFile {
  action: 'keep' | 'remove';
  reason: string;
}

/** The regular files under <root>/logs named like a run's log or report; [] when there is no logs/. */
export async function listLogFiles(root: string): Promise<LogFile[]> {
  const dir = path.join(root, LOGS_DIR);
  const names = await fs.readdir(dir).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return [] as string[];
    throw e;
  });
  const files = await Promise.all(
    names
      .filter((n) => RUN_FILE_RE.test(n))
      .map(async (name): Promise<LogFile | null> => {
        const p = path.join(dir, name);
        const st = await fs.lstat(p).catch(() => null);
        return st?.isFile() ? { name, path: p, bytes: st.size, mtimeMs: st.mtimeMs } : null;
      }),
  );
  return files.filter((f): f is LogFile => f !== null).sort((a, b) => a.name.localeCompare(b.name));
}

function liveOwner(name: string, live: LiveRun[]): LiveRun | undefined {
  const m = RUN_FILE_RE.exec(name);
  if (!m) return undefined;
  return live.find((r) => r.command === m[1] && String(r.pid) === m[2]);
}

/** Pure: which files go. Older than logDays (by last write) goes, unless a live run owns it. */
export function planLogRetention(files: LogFile[], opts: { logDays: number; now: Date; live: LiveRun[] }): LogDecision[] {
  const cutoff = opts.now.getTime() - opts.logDays * DAY_MS;
  return files.map((f): LogDecision => {
    const owner = liveOwner(f.name, opts.live);
    const written = new Date(f.mtimeMs).toISOString();
    if (owner) return { ...f, action: 'keep', reason: `${owner.why} (pid ${owner.pid})` };
    if (f.mtimeMs < cutoff) return { ...f, action: 'remove', reason: `last written ${written}, more than log_days ${opts.logDays} ago` };
    return { ...f, action: 'keep', reason: `last written ${written}, within log_days ${opts.logDays}` };
  });
}
