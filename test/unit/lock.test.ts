/**
 * The root's lock (src/catalog/lock.ts) on a real folder: who holds it, takeovers of dead runs'
 * locks, the races between runs that start together, release, and waiting for a live holder.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { JobError } from '../../src/errors.js';
import { GUARD_ABANDONED_MS, LOCK_FILE, TAKEOVER_FILE, UNREADABLE_GRACE_MS, acquireLock, guardAbandoned, judgeLock, procStart, readLock, type Lock, type LockInfo } from '../../src/catalog/lock.js';

const roots: string[] = [];
afterEach(() => {
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
});

function tempRoot(): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'pgtaos-lock-'));
  roots.push(root);
  return root;
}

/** A pid that existed and is gone: a finished child's. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '']);
  return r.pid!;
}

const live = (command = 'backup'): LockInfo => ({ pid: process.pid, hostname: os.hostname(), proc_start: procStart(process.pid), command, started_at: '2026-11-25T00:00:03.000Z' });
const dead = (command = 'backup'): LockInfo => ({ pid: deadPid(), hostname: os.hostname(), proc_start: '1', command, started_at: '2026-11-24T00:00:03.000Z' });

function writeLock(root: string, info: LockInfo | string, ageMs = 0): string {
  const file = path.join(root, LOCK_FILE);
  writeFileSync(file, typeof info === 'string' ? info : JSON.stringify(info));
  if (ageMs) {
    const t = (Date.now() - ageMs) / 1000;
    utimesSync(file, t, t);
  }
  return file;
}

async function refusal(p: Promise<unknown>): Promise<JobError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(JobError);
    return err as JobError;
  }
  throw new Error('expected the lock to be refused');
}

/** Only the lock itself may be left in the root: no temporary or guard files. */
function leftovers(root: string): string[] {
  return readdirSync(root).filter((n) => n !== LOCK_FILE);
}

/** Resolves once `n` callers have arrived; each caller then waits for `go()`. */
function barrier(n: number) {
  let arrived = 0;
  let allArrived!: () => void;
  const all = new Promise<void>((r) => (allArrived = r));
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  return {
    all,
    go: () => release(),
    wait: async () => {
      if (++arrived === n) allArrived();
      await gate;
    },
  };
}

describe('taking the lock', () => {
  it('a free root: the lock appears with our pid, host and command, and release removes it', async () => {
    const root = tempRoot();
    const lock = await acquireLock(root, 'backup');
    const info = JSON.parse(readFileSync(lock.file, 'utf8')) as LockInfo;
    expect(info).toMatchObject({ pid: process.pid, hostname: os.hostname(), command: 'backup' });
    expect(leftovers(root)).toEqual([]);
    expect(await lock.release()).toBe('released');
    expect(readdirSync(root)).toEqual([]);
  });

  it('a live holder: lock.held naming its command, pid, host and start', async () => {
    const root = tempRoot();
    const file = writeLock(root, live('verify'));
    const err = await refusal(acquireLock(root, 'backup'));
    expect(err.code).toBe('lock.held');
    expect(err.message).toBe(`another pgtaos-backup run holds ${file}: verify (pid ${process.pid} on ${os.hostname()}, since 2026-11-25T00:00:03.000Z)`);
    expect(err.hint).toContain('--lock-wait');
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ command: 'verify' });
    expect(leftovers(root)).toEqual([]);
  });

  it('an empty lock file written just now is held, not stale (a run may be writing it)', async () => {
    const root = tempRoot();
    const file = writeLock(root, '');
    const err = await refusal(acquireLock(root, 'backup'));
    expect(err.code).toBe('lock.held');
    expect(err.message).toContain('an unreadable lock file written just now');
    expect(readFileSync(file, 'utf8')).toBe('');
  });

  it('an unreadable lock file older than the grace period is taken over, with the message', async () => {
    const root = tempRoot();
    const file = writeLock(root, '{"pid": 12', UNREADABLE_GRACE_MS + 5_000);
    const told: (LockInfo | null)[] = [];
    const lock = await acquireLock(root, 'backup', { onStale: (i) => told.push(i) });
    expect(told).toEqual([null]);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ pid: process.pid });
    await lock.release();
  });

  it("a dead run's lock is taken over and the caller is told whose it was", async () => {
    const root = tempRoot();
    const gone = dead('milestone');
    const file = writeLock(root, gone);
    const told: (LockInfo | null)[] = [];
    const lock = await acquireLock(root, 'backup', { onStale: (i) => told.push(i) });
    expect(told).toEqual([gone]);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ pid: process.pid, command: 'backup' });
    expect(leftovers(root)).toEqual([]);
    await lock.release();
  });

  it('a recycled pid (same pid, other start time) does not keep a lock alive: taken over, the caller told whose it was', async () => {
    const root = tempRoot();
    const recycled = { ...live('verify'), proc_start: '1' };
    const file = writeLock(root, recycled);
    const told: (LockInfo | null)[] = [];
    const lock = await acquireLock(root, 'backup', { onStale: (i) => told.push(i) });
    expect(told).toEqual([recycled]);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ pid: process.pid, proc_start: procStart(process.pid), command: 'backup' });
    expect(leftovers(root)).toEqual([]);
    expect(await lock.release()).toBe('released');
  });
});

describe('two runs at once', () => {
  it('both judge the same dead lock stale and take over together: exactly one gets it', async () => {
    const root = tempRoot();
    writeLock(root, dead());
    const b = barrier(2);
    const attempt = () => acquireLock(root, 'backup', { beforeTakeover: b.wait });
    const runs = [attempt(), attempt()];
    await b.all; // both have read the dead lock and judged it stale
    b.go();
    const settled = await Promise.allSettled(runs);
    const won = settled.filter((s): s is PromiseFulfilledResult<Lock> => s.status === 'fulfilled');
    const lost = settled.filter((s): s is PromiseRejectedResult => s.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect((lost[0]!.reason as JobError).code).toBe('lock.held');
    expect(leftovers(root)).toEqual([]);
    expect(await won[0]!.value.release()).toBe('released');
  });

  it('the second takeover comes after the first has its new lock: it must not move that lock away', async () => {
    const root = tempRoot();
    const file = writeLock(root, dead());
    const first = barrier(1);
    const second = barrier(1);
    const bothJudgedStale = barrier(2); // both have judged the lock stale before either proceeds
    const a = acquireLock(root, 'backup', { beforeTakeover: async () => { await bothJudgedStale.wait(); await first.wait(); } });
    const bRun = acquireLock(root, 'verify', { beforeTakeover: async () => { await bothJudgedStale.wait(); await second.wait(); } });
    await bothJudgedStale.all;
    bothJudgedStale.go();
    first.go();
    const lockA = await a;
    const heldText = readFileSync(file, 'utf8');
    second.go();
    const err = await refusal(bRun);
    expect(err.code).toBe('lock.held');
    expect(readFileSync(file, 'utf8')).toBe(heldText); // A's lock, untouched
    expect(await lockA.release()).toBe('released');
  });

  it("release leaves another run's lock alone", async () => {
    const root = tempRoot();
    const lock = await acquireLock(root, 'backup');
    // Someone removed our lock by hand and another run took the root.
    const other = JSON.stringify({ ...live('prune'), started_at: '2026-11-25T01:00:00.000Z' });
    rmSync(lock.file);
    writeFileSync(lock.file, other);
    expect(await lock.release()).toBe('not_ours');
    expect(readFileSync(lock.file, 'utf8')).toBe(other);
  });

  it('release after the lock file was removed by hand: not ours, nothing removed', async () => {
    const root = tempRoot();
    const lock = await acquireLock(root, 'backup');
    rmSync(lock.file);
    expect(await lock.release()).toBe('not_ours');
  });
});

describe('the takeover guard', () => {
  it('a takeover in progress (fresh guard of a live run) is not overrun: the lock stays', async () => {
    const root = tempRoot();
    const file = writeLock(root, dead());
    const before = readFileSync(file, 'utf8');
    writeFileSync(path.join(root, TAKEOVER_FILE), JSON.stringify(live()));
    const err = await refusal(acquireLock(root, 'backup'));
    expect(err.code).toBe('lock.contended');
    expect(err.hint).toBeTruthy();
    expect(readFileSync(file, 'utf8')).toBe(before);
    expect(readdirSync(root).sort()).toEqual([LOCK_FILE, TAKEOVER_FILE].sort());
  });

  it("a guard left by a dead run is abandoned: the takeover goes ahead and the guard is gone", async () => {
    const root = tempRoot();
    writeLock(root, dead());
    writeFileSync(path.join(root, TAKEOVER_FILE), JSON.stringify(dead()));
    const lock = await acquireLock(root, 'backup');
    expect(leftovers(root)).toEqual([]);
    await lock.release();
  });

  it('a guard from another host older than the limit is abandoned (its holder cannot be checked)', async () => {
    const root = tempRoot();
    writeLock(root, dead());
    const guard = path.join(root, TAKEOVER_FILE);
    writeFileSync(guard, JSON.stringify({ ...live(), hostname: 'another-runner' }));
    const t = (Date.now() - GUARD_ABANDONED_MS - 5_000) / 1000;
    utimesSync(guard, t, t);
    const lock = await acquireLock(root, 'backup');
    expect(leftovers(root)).toEqual([]);
    await lock.release();
  });

  it('a guard of a live run on this host is never overrun, however old (a paused run must not end up sharing the lock)', async () => {
    const root = tempRoot();
    const file = writeLock(root, dead());
    const before = readFileSync(file, 'utf8');
    const guard = path.join(root, TAKEOVER_FILE);
    writeFileSync(guard, JSON.stringify(live()));
    const t = (Date.now() - GUARD_ABANDONED_MS - 5_000) / 1000;
    utimesSync(guard, t, t);
    const err = await refusal(acquireLock(root, 'backup'));
    expect(err.code).toBe('lock.contended');
    expect(readFileSync(file, 'utf8')).toBe(before);
  });

  it('with --lock-wait, a takeover in progress is waited out like a holder, not given up after the quick retries', async () => {
    const root = tempRoot();
    writeLock(root, dead());
    const guard = path.join(root, TAKEOVER_FILE);
    writeFileSync(guard, JSON.stringify(live()));
    // The quick retries alone last about 1.5 s; the guard goes after 2.5 s, within the 10 s wait.
    const gone = setTimeout(() => rmSync(guard, { force: true }), 2_500);
    try {
      const lock = await acquireLock(root, 'backup', { waitSeconds: 10, pollMs: 100 });
      expect(JSON.parse(readFileSync(lock.file, 'utf8'))).toMatchObject({ pid: process.pid, command: 'backup' });
      await lock.release();
    } finally {
      clearTimeout(gone);
    }
  });

  it('judging: pure rules for locks and guards', () => {
    const now = 1_000_000_000;
    const aliveIf = (v: boolean) => () => v;
    expect(judgeLock({ info: null, mtimeMs: now - 1 }, now)).toBe('held');
    expect(judgeLock({ info: null, mtimeMs: now - UNREADABLE_GRACE_MS }, now)).toBe('stale');
    expect(judgeLock({ info: live(), mtimeMs: now - 10 * UNREADABLE_GRACE_MS }, now, aliveIf(true))).toBe('held');
    expect(judgeLock({ info: live(), mtimeMs: now }, now, aliveIf(false))).toBe('stale');
    expect(guardAbandoned({ info: live(), mtimeMs: now - 1 }, now, aliveIf(true))).toBe(false);
    expect(guardAbandoned({ info: null, mtimeMs: now - 1 }, now)).toBe(false);
    expect(guardAbandoned({ info: live(), mtimeMs: now - GUARD_ABANDONED_MS }, now, aliveIf(true))).toBe(false);
    expect(guardAbandoned({ info: { ...live(), hostname: 'another-runner' }, mtimeMs: now - GUARD_ABANDONED_MS }, now, aliveIf(true))).toBe(true);
    expect(guardAbandoned({ info: { ...live(), hostname: 'another-runner' }, mtimeMs: now - 1 }, now, aliveIf(true))).toBe(false);
    expect(guardAbandoned({ info: null, mtimeMs: now - GUARD_ABANDONED_MS }, now)).toBe(true);
    expect(guardAbandoned({ info: live(), mtimeMs: now - 1 }, now, aliveIf(false))).toBe(true);
  });

  it('readLock tells status whether the holder is alive', async () => {
    const root = tempRoot();
    expect(await readLock(root)).toBeNull();
    writeLock(root, live());
    expect(await readLock(root)).toMatchObject({ stale: false, info: { pid: process.pid } });
    writeLock(root, dead());
    expect(await readLock(root)).toMatchObject({ stale: true });
  });
});

describe('waiting for the lock', () => {
  it('a holder that finishes within the wait: the waiting run gets the lock, after saying who it waits for', async () => {
    const root = tempRoot();
    const file = writeLock(root, live('verify'));
    const told: { holder: string | undefined; waited: number; total: number }[] = [];
    setTimeout(() => rmSync(file), 1000); // the holder finishes: its release removes the file
    const lock = await acquireLock(root, 'backup', { waitSeconds: 30, pollMs: 100, onWait: (h, waited, total) => told.push({ holder: h?.command, waited, total }) });
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ pid: process.pid, command: 'backup' });
    expect(told[0]).toEqual({ holder: 'verify', waited: expect.any(Number), total: 30_000 });
    await lock.release();
  });

  it('while waiting it reports again at each interval', async () => {
    const root = tempRoot();
    writeLock(root, live());
    const told: number[] = [];
    await refusal(acquireLock(root, 'backup', { waitSeconds: 1, pollMs: 50, reportEveryMs: 200, onWait: (_h, waited) => told.push(waited) }));
    expect(told.length).toBeGreaterThanOrEqual(2);
    expect(told[0]).toBeLessThan(told[1]!);
  });

  it('a holder that does not finish: lock.held when the wait runs out, saying how long it waited', async () => {
    const root = tempRoot();
    writeLock(root, live());
    const err = await refusal(acquireLock(root, 'backup', { waitSeconds: 1, pollMs: 100 }));
    expect(err.code).toBe('lock.held');
    expect(err.message).toMatch(/; waited 1 s for it$/);
    expect(err.hint).toContain('give it longer');
    expect(leftovers(root)).toEqual([]);
  });

  it('an abort (SIGINT/SIGTERM) while waiting stops the wait with the abort reason and leaves nothing behind', { timeout: 10_000 }, async () => {
    const root = tempRoot();
    const file = writeLock(root, live());
    const before = readFileSync(file, 'utf8');
    const controller = new AbortController();
    const reason = new Error('cancelled by SIGTERM');
    const waiting = acquireLock(root, 'backup', { waitSeconds: 600, pollMs: 100, signal: controller.signal, onWait: () => setTimeout(() => controller.abort(reason), 200) });
    await expect(waiting).rejects.toBe(reason);
    expect(readFileSync(file, 'utf8')).toBe(before);
    expect(leftovers(root)).toEqual([]);
  });
});
