/**
 * One run at a time per backup root. The lock file records who holds it; a lock whose process
 * is gone (killed run, rebooted runner) is stale and is taken over with a message.
 */
import { promises as fs, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { JobError } from '../errors.js';

export const LOCK_FILE = '.lock';

const lockInfo = z.object({
  pid: z.number().int(),
  hostname: z.string(),
  /** /proc start time of the pid, so a recycled pid is not mistaken for the holder. */
  proc_start: z.string().nullable(),
  command: z.string(),
  started_at: z.string(),
});
export type LockInfo = z.infer<typeof lockInfo>;

export function procStart(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22 (starttime) follows the parenthesised command name, which may hold spaces.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return rest[19] ?? null;
  } catch {
    return null;
  }
}

function alive(info: LockInfo): boolean {
  if (info.hostname !== os.hostname()) return true; // cannot tell: assume it runs
  try {
    process.kill(info.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
  }
  const start = procStart(info.pid);
  return info.proc_start === null || start === null || start === info.proc_start;
}

export async function readLock(root: string): Promise<{ info: LockInfo | null; stale: boolean } | null> {
  let text: string;
  try {
    text = await fs.readFile(path.join(root, LOCK_FILE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  const parsed = lockInfo.safeParse(safeJson(text));
  if (!parsed.success) return { info: null, stale: true };
  return { info: parsed.data, stale: !alive(parsed.data) };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

export interface Lock {
  readonly file: string;
  release(): Promise<void>;
}

/**
 * Takes the lock or throws a JobError naming the holder. `onStale` is told when a dead run's
 * lock is taken over.
 */
export async function acquireLock(root: string, command: string, onStale: (info: LockInfo | null) => void): Promise<Lock> {
  const file = path.join(root, LOCK_FILE);
  const mine: LockInfo = {
    pid: process.pid,
    hostname: os.hostname(),
    proc_start: procStart(process.pid),
    command,
    started_at: new Date().toISOString(),
  };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fh = await fs.open(file, 'wx', 0o644);
      await fh.writeFile(JSON.stringify(mine));
      await fh.close();
      let released = false;
      return {
        file,
        async release() {
          if (released) return;
          released = true;
          await fs.rm(file, { force: true });
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const held = await readLock(root);
    if (!held) continue; // released meanwhile
    if (!held.stale) {
      const h = held.info!;
      throw new JobError('lock.held', `another pgtaos-backup run holds ${file}: ${h.command} (pid ${h.pid} on ${h.hostname}, since ${h.started_at})`, {
        hint: `Wait for it to finish. If no such run exists (the host ${h.hostname} was rebooted, say), remove ${file} by hand.`,
      });
    }
    onStale(held.info);
    // Take it over: rename it away, then retry the exclusive create. Known gap: two runs that both
    // judged the same lock stale can race here (the second rename may move the first run's new
    // lock); it needs two runs starting together while a dead run's lock exists.
    const aside = `${file}.stale-${process.pid}`;
    try {
      await fs.rename(file, aside);
      await fs.rm(aside, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  throw new JobError('lock.contended', `could not take the lock ${file}`, { hint: 'Another run keeps taking it; try again.' });
}
