/**
 * Long work is never silent: the progress ticker, pg_restore -v's entries counted against
 * `pg_restore --list` (on output captured from the real tools, serial and -j 2), and a remote
 * upload and read-back that say how many bytes are done and left while they run. A step that
 * finishes before the interval says nothing; the remote tests hold the transfer open until a line
 * has appeared (no timing assumed).
 */
import { readFileSync } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ENTRY_DONE_RE, restoreCounter, restoreEntries, restoreLine } from '../../src/engines/postgres/restore.js';
import { bytesOfTotal, doneOfTotal, ticker } from '../../src/shared/progress.js';
import { MemoryRemote } from '../remotes/memory.js';
import { configSchema, type Config } from '../../src/inputs/config-schema.js';
import { setToCopy } from '../../src/commands/replicate.js';
import { copySetTo } from '../../src/commands/replicate-copy.js';
import type { PutOptions } from '../../src/remotes/remote.js';
import { RunLog, type Sink } from '../../src/report/log.js';
import { testCtx } from '../helpers/run-context.js';
import { writeFakeSet } from '../helpers/fake-catalog.js';

const GOLDEN = path.join(import.meta.dirname, 'golden', 'pg-restore-v');
const lines = (name: string) => readFileSync(path.join(GOLDEN, name), 'utf8').split('\n').filter(Boolean);

describe('ticker', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('asks every interval and logs the answer; null says nothing; nothing after the stop', async () => {
    vi.useFakeTimers();
    const said: string[] = [];
    let n = 0;
    const stop = ticker(1000, (l) => said.push(l), () => (++n === 2 ? null : `step ${n}`));
    await vi.advanceTimersByTimeAsync(999);
    expect(said).toEqual([]);
    await vi.advanceTimersByTimeAsync(3001);
    expect(said).toEqual(['step 1', 'step 3', 'step 4']);
    stop();
    await vi.advanceTimersByTimeAsync(5000);
    expect(said).toEqual(['step 1', 'step 3', 'step 4']);
  });

  it('a line that cannot be made (a file gone) is skipped, not thrown', async () => {
    vi.useFakeTimers();
    const said: string[] = [];
    const stop = ticker(10, (l) => said.push(l), () => Promise.reject(new Error('ENOENT')));
    await vi.advanceTimersByTimeAsync(50);
    stop();
    expect(said).toEqual([]);
  });

  it('done and left, never past the total', () => {
    expect(doneOfTotal(3, 10, 'tables counted')).toBe('3 of 10 tables counted, 7 left');
    expect(doneOfTotal(12, 10, 'tables counted')).toBe('10 of 10 tables counted, 0 left');
    expect(bytesOfTotal(1024 ** 3 * 1.5, 1024 ** 3 * 4, 'sent')).toBe('1.5 GiB of 4.0 GiB sent, 2.5 GiB left');
  });
});

describe('pg_restore -v counted against pg_restore --list', () => {
  const total = restoreEntries(lines('list.txt'), false);

  it('the table of contents: entries only (";" lines are comments); --no-acl leaves the ACL entries out', () => {
    expect(total).toBe(38);
    const withAcl = [...lines('list.txt'), '3411; 0 0 ACL - SCHEMA public pg_database_owner', '3412; 0 0 DEFAULT ACL - DEFAULT PRIVILEGES FOR TABLES postgres'];
    expect(restoreEntries(withAcl, false)).toBe(40);
    expect(restoreEntries(withAcl, true)).toBe(38);
  });

  for (const [name, file] of [['serial', 'serial.stderr.txt'], ['parallel (-j 2)', 'parallel-j2.stderr.txt']] as const) {
    it(`${name}: every entry counted once, and only the step lines are taken from the log`, () => {
      const c = restoreCounter();
      const logged = lines(file).filter((l) => !c.onLine(l));
      expect(c.done()).toBe(total);
      expect(logged).toEqual([]);
      expect(restoreLine(c.done(), total)).toBe('pg_restore: 38 of 38 archive entries restored, 0 left');
    });
  }

  it('errors and their context are never taken: they are logged and judged as before', () => {
    const c = restoreCounter();
    const errors = ['pg_restore: error: could not execute query: ERROR:  relation "x" already exists', 'pg_restore: while PROCESSING TOC:', 'pg_restore: from TOC entry 217; 1259 16411 TABLE daily_bars postgres'];
    expect(errors.filter((l) => c.onLine(l))).toEqual([]);
    expect(c.done()).toBe(0);
    expect(ENTRY_DONE_RE.test('pg_restore: creating TABLE "public.t"')).toBe(true);
  });

  it('-j workers whose prefixes interleave on the shared stderr (seen under load): every entry still counted, nothing logged', () => {
    const c = restoreCounter();
    const mixed = ['pg_restore: pg_restore:pg_restore: finished item 3393 TABLE DATA factor_scores', 'pg_restore:  processing data for table "public.daily_bars"', 'pg_restore: creating INDEX "public.a"pg_restore: creating INDEX "public.b"', ' creating CONSTRAINT "public.daily_bars daily_bars_pkey"', 'restoring large object with OID 16447'];
    expect(mixed.filter((l) => !c.onLine(l))).toEqual([]);
    expect(c.done()).toBe(4);
    expect(c.onLine('pg_restore: pg_restore: error: could not execute query')).toBe(false);
  });

  it('half-way: done and left; an archive that could not be listed: done only', () => {
    expect(restoreLine(12, 38)).toBe('pg_restore: 12 of 38 archive entries restored, 26 left');
    expect(restoreLine(12, null)).toBe('pg_restore: 12 archive entries restored');
  });
});

/** Lines the log gave its sink. */
function capture(): { sink: Sink; lines: string[]; seen: (re: RegExp) => Promise<void> } {
  const got: string[] = [];
  const sink: Sink = { info: (l) => got.push(l), warn: (l) => got.push(l), error: (l) => got.push(l), startGroup: () => {}, endGroup: () => {} };
  const seen = async (re: RegExp) => {
    while (!got.some((l) => re.test(l))) await new Promise((r) => setTimeout(r, 5));
  };
  return { sink, lines: got, seen };
}

/** A remote that holds each transfer open, after its first bytes, until a progress line about it was logged. */
class GatedRemote extends MemoryRemote {
  constructor(private readonly seen: (re: RegExp) => Promise<void>) {
    super('nas');
  }
  override async put(key: string, body: Readable, opts: PutOptions = {}): Promise<void> {
    const it = body[Symbol.asyncIterator]();
    const first = await it.next();
    await this.seen(new RegExp(`nas: uploading ${key.replace(/[.]/g, '\\.')}: `));
    const rest = async function* () {
      if (!first.done) yield first.value as Buffer;
      for (let r = await it.next(); !r.done; r = await it.next()) yield r.value as Buffer;
    };
    return super.put(key, Readable.from(rest()), opts);
  }
  override async get(key: string): Promise<Readable> {
    const whole = await super.get(key);
    const seen = this.seen;
    return Readable.from(
      (async function* () {
        for await (const chunk of whole) {
          const b = chunk as Buffer;
          yield b.subarray(0, 1);
          await seen(new RegExp(`nas: reading back ${key.replace(/[.]/g, '\\.')}: `));
          yield b.subarray(1);
        }
      })(),
    );
  }
}

describe('remote uploads and read-backs', () => {
  const temps: string[] = [];
  afterEach(() => {
    for (const d of temps.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('say how many bytes are sent and read back, of how many, while they run', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'pgtaos-progress-'));
    temps.push(root);
    const config: Config = configSchema.parse({ root, remote_progress_seconds: 0.05, remotes: [{ type: 'path', name: 'nas', path: '/mnt/nas/backups' }] });
    const dir = await writeFakeSet(root, { kind: 'milestone', id: 'post_phase2_20261125', startedAt: new Date() });
    const cap = capture();
    const ctx = { ...testCtx({ config, request: { command: 'milestone', milestone: 'post_phase2' } }), log: new RunLog(cap.sink, []) };
    const rec = await copySetTo(ctx, (await setToCopy(dir))!, new GatedRemote(cap.seen));
    expect(rec.result, rec.error ?? '').toBe('verified');
    const key = 'milestone/post_phase2_20261125/mystocks.dump';
    const up = cap.lines.filter((l) => l.startsWith(`nas: uploading ${key}: `));
    const back = cap.lines.filter((l) => l.startsWith(`nas: reading back ${key}: `));
    expect(up.length).toBeGreaterThan(0);
    expect(back.length).toBeGreaterThan(0);
    for (const l of up) expect(l).toMatch(/: \d+(\.\d)? (B|KiB) of 800 B sent, \d+(\.\d)? (B|KiB) left$/);
    // The read-back was held after its first byte: at least one line says so.
    expect(back).toContain(`nas: reading back ${key}: 1 B of 800 B read, 799 B left`);
    // Each line came before the file's "stored and read back" line, never after it.
    const done = cap.lines.findIndex((l) => l.includes(`${key} (800 B) stored and read back`));
    expect(cap.lines.findLastIndex((l) => l.startsWith(`nas: reading back ${key}: `))).toBeLessThan(done);
  });
});
