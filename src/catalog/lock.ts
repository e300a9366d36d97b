/**
 * One run at a time per backup root. The lock file records who holds it; a lock whose process
 * is gone (killed run, rebooted runner) is stale and is taken over with a message.
 *
 * How it stays race-free:
 * - A lock only ever appears whole: the info is written to a private temporary file, then
 *   hard-linked to `.lock` (link fails with EEXIST when one is there). No reader sees it empty.
 * - A takeover happens behind a second exclusive file, `.lock.takeover`: under it the lock is read
 *   again and replaced only if it is still the very stale lock that was judged (same inode and
 *   text), so two runs that judged the same dead lock cannot both take it.
 * - release() removes `.lock` only while it is still ours (same inode and text).
 */
import { randomBytes } from 'node:crypto';
import { constants, promises as fs, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { JobError } from '../errors.js';
import { sleep } from '../shared/async.js';

export const LOCK_FILE = '.lock';
export const TAKEOVER_FILE = '.lock.takeover';

/** An unreadable lock younger than this is treated as held (a person or an older version may be writing it). */
export const UNREADABLE_GRACE_MS = 10_000;
/** A takeover guard whose holder cannot be checked (another host, unreadable) is abandoned after this: a takeover takes milliseconds. */
export const GUARD_ABANDONED_MS = 30_000;

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

function notALockFile(file: string, what: string): JobError {
  return new JobError('lock.not_a_file', `${file} is ${what}; the tool's lock is a plain file it writes itself, so it neither reads nor removes this one`, {
    hint: `Someone or something put it there. Look at it, remove it (rm ${file}), and run again.`,
  });
}

/** A lock (or guard) file as found on disk. */
interface FileState {
  text: string;
  ino: number;
  mtimeMs: number;
  info: LockInfo | null;
}

async function readState(file: string): Promise<FileState | null> {
  let fh: fs.FileHandle;
  try {
    // Never through a link, and never blocked by a fifo planted there: the lock is a file this tool wrote.
    fh = await fs.open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') throw notALockFile(file, 'a symbolic link');
    throw err;
  }
  try {
    // Inode and text from one open file: they belong together even if the name is replaced meanwhile.
    const st = await fh.stat();
    if (!st.isFile()) throw notALockFile(file, 'not a regular file');
    const text = await fh.readFile('utf8');
    const parsed = lockInfo.safeParse(safeJson(text));
    return { text, ino: st.ino, mtimeMs: st.mtimeMs, info: parsed.success ? parsed.data : null };
  } finally {
    await fh.close();
  }
}

/** Pure: is a lock file stale? An unreadable one only once it is old enough not to be mid-write. */
export function judgeLock(state: { info: LockInfo | null; mtimeMs: number }, now: number, isAlive: (i: LockInfo) => boolean = alive): 'held' | 'stale' {
  if (!state.info) return now - state.mtimeMs >= UNREADABLE_GRACE_MS ? 'stale' : 'held';
  return isAlive(state.info) ? 'held' : 'stale';
}

/** Pure: may a takeover guard be removed? Its holder is dead, or it is far older than a takeover takes. */
export function guardAbandoned(state: { info: LockInfo | null; mtimeMs: number }, now: number, isAlive: (i: LockInfo) => boolean = alive): boolean {
  // A holder on this host that still runs is never overrun, however long it takes (a paused VM,
  // SIGSTOP): overrunning it mid-takeover could leave two runs holding the lock. Only a guard
  // whose holder cannot be checked (another host, unreadable) is judged by its age.
  if (state.info && state.info.hostname === os.hostname()) return !isAlive(state.info);
  return now - state.mtimeMs >= GUARD_ABANDONED_MS;
}

export async function readLock(root: string): Promise<{ info: LockInfo | null; stale: boolean } | null> {
  const state = await readState(path.join(root, LOCK_FILE));
  if (!state) return null;
  return { info: state.info, stale: judgeLock(state, Date.now()) === 'stale' };
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
  /** Removes the lock if it is still ours; 'not_ours' when someone replaced or removed it meanwhile. */
  release(): Promise<'released' | 'not_ours'>;
}

export interface AcquireOptions {
  /** Told after a dead run's lock was taken over (null: the lock file was unreadable). */
  onStale?: (info: LockInfo | null) => void;
  /** Seconds to wait for a live holder to finish; 0 (default): refuse at once. */
  waitSeconds?: number;
  /** Told when the wait starts and then every `reportEveryMs` while it lasts. */
  onWait?: (holder: LockInfo | null, waitedMs: number, waitMs: number) => void;
  reportEveryMs?: number;
  /** How often a held lock is looked at again while waiting. */
  pollMs?: number;
  /** Aborts a wait (SIGINT/SIGTERM): acquireLock rejects with the signal's reason. */
  signal?: AbortSignal;
  /** For tests: awaited after a lock was judged stale, before the takeover is attempted. */
  beforeTakeover?: (info: LockInfo | null) => Promise<void>;
}

/** Attempts that find the lock changing under them (released, taken over) before giving up. */
const MAX_CONTENDED = 40;

function mine(command: string): LockInfo {
  return { pid: process.pid, hostname: os.hostname(), proc_start: procStart(process.pid), command, started_at: new Date().toISOString() };
}

/** Writes `text` to a fresh private file beside `target`; returns its name. */
async function writeTemp(target: string, text: string): Promise<string> {
  const tmp = `${target}.${process.pid}.${randomBytes(6).toString('hex')}`;
  try {
    await fs.writeFile(tmp, text, { flag: 'wx', mode: 0o644 });
  } catch (err) {
    await fs.rm(tmp, { force: true }); // a full disk must not leave a half-written temp file
    throw err;
  }
  return tmp;
}

/** link(2) that says whether the name was free. */
async function linkIfFree(from: string, to: string): Promise<boolean> {
  try {
    await fs.link(from, to);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

/** Removes `file` only if it is still the one described (same inode and text). */
async function unlinkIfSame(file: string, expected: { ino: number; text: string }): Promise<boolean> {
  const now = await readState(file);
  if (!now || now.ino !== expected.ino || now.text !== expected.text) return false;
  await fs.rm(file, { force: true });
  return true;
}

function jitter(minMs: number, maxMs: number): number {
  return minMs + Math.floor(Math.random() * (maxMs - minMs));
}

/** Who holds a lock, for messages. */
export function describeHolder(h: LockInfo | null): string {
  return h ? `${h.command} (pid ${h.pid} on ${h.hostname}, since ${h.started_at})` : 'an unreadable lock file written just now';
}

/** A wait's length, for messages: seconds, or minutes past two of them. */
export function formatWait(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 120 ? `${s} s` : `${Math.round(s / 60)} min`;
}

/**
 * The takeover guard: at most one run replaces a stale lock at a time. Returns null when another
 * run's takeover is in progress (the caller looks again shortly).
 */
async function takeGuard(root: string, command: string): Promise<{ release(): Promise<void> } | null> {
  const guard = path.join(root, TAKEOVER_FILE);
  const text = JSON.stringify(mine(command));
  const tmp = await writeTemp(guard, text);
  try {
    for (let i = 0; i < 2; i++) {
      if (await linkIfFree(tmp, guard)) {
        const ino = (await fs.stat(tmp)).ino;
        return { release: async () => void (await unlinkIfSame(guard, { ino, text })) };
      }
      const held = await readState(guard);
      if (!held) continue;
      if (!guardAbandoned(held, Date.now())) return null;
      // A run killed mid-takeover left it: remove exactly that one, then try once more.
      await unlinkIfSame(guard, held);
    }
    return null;
  } finally {
    await fs.rm(tmp, { force: true });
  }
}

/**
 * Takes the lock or throws a JobError naming the holder. With `waitSeconds`, a live holder is
 * waited for (polling), and the error says how long it waited.
 */
export async function acquireLock(root: string, command: string, opts: AcquireOptions = {}): Promise<Lock> {
  const file = path.join(root, LOCK_FILE);
  const text = JSON.stringify(mine(command));
  const waitMs = Math.max(0, (opts.waitSeconds ?? 0) * 1000);
  const reportEvery = opts.reportEveryMs ?? 30_000;
  const pollMs = opts.pollMs ?? 1000;
  const t0 = Date.now();
  let nextReport = t0;
  let contended = 0;
  // One poll of the wait (a live holder, or contention that outlasted the quick retries); false
  // once --lock-wait has run out.
  const waitOn = async (): Promise<boolean> => {
    const waited = Date.now() - t0;
    if (waited >= waitMs) return false;
    await sleep(Math.min(jitter(pollMs * 0.75, pollMs * 1.25), Math.max(1, waitMs - waited)), opts.signal);
    return true;
  };
  const tmp = await writeTemp(file, text);
  try {
    const ino = (await fs.stat(tmp)).ino;
    const lock: Lock = {
      file,
      release: async () => ((await unlinkIfSame(file, { ino, text })) ? 'released' : 'not_ours'),
    };
    for (;;) {
      if (opts.signal?.aborted) throw opts.signal.reason;
      if (await linkIfFree(tmp, file)) return lock;
      const cur = await readState(file);
      if (!cur) {
        // Released between our link and our read: simply try again.
        if (++contended > MAX_CONTENDED && !(await waitOn())) break;
        continue;
      }
      if (judgeLock(cur, Date.now()) === 'held') {
        const waited = Date.now() - t0;
        if (waited >= waitMs) {
          throw new JobError('lock.held', `another pgtaos-backup run holds ${file}: ${describeHolder(cur.info)}${waitMs > 0 ? `; waited ${formatWait(waited)} for it` : ''}`, {
            hint: cur.info
              ? `Wait for it to finish${waitMs > 0 ? ', or give it longer (--lock-wait SECONDS, action input lock-wait)' : ' (or let the next run wait: --lock-wait SECONDS, action input lock-wait)'}. If no such run exists (the host ${cur.info.hostname} was rebooted, say), remove ${file} by hand.`
              : `The lock file is being written or was written by hand; if it is still unreadable in ${UNREADABLE_GRACE_MS / 1000} s it is taken over.`,
          });
        }
        if (Date.now() >= nextReport) {
          opts.onWait?.(cur.info, waited, waitMs);
          nextReport = Date.now() + reportEvery;
        }
        await waitOn();
        continue;
      }
      // Stale: replace it, but only behind the guard and only if it is still the same lock.
      await opts.beforeTakeover?.(cur.info);
      const guard = await takeGuard(root, command);
      if (guard) {
        let took = false;
        try {
          if (await unlinkIfSame(file, cur)) took = await linkIfFree(tmp, file);
        } finally {
          await guard.release();
        }
        if (took) {
          opts.onStale?.(cur.info);
          return lock;
        }
      }
      if (++contended > MAX_CONTENDED) {
        if (!(await waitOn())) break;
        continue;
      }
      // Someone else is changing the lock right now: look again after a short, random pause.
      await sleep(jitter(10, 60), opts.signal);
    }
  } finally {
    await fs.rm(tmp, { force: true });
  }
  throw new JobError('lock.contended', `could not take the lock ${file}: other runs kept taking or replacing it`, {
    hint: 'Several runs are starting on this backup root at once; run this one again when they are done.',
  });
}
