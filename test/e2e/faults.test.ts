/**
 * The fault suite: break things on purpose and prove nothing is lost. Every case starts from an
 * earlier complete, VERIFIED set and is held to the same four invariants (helpers/faults.ts):
 *   E  earlier sets still complete, unchanged, and `verify` passes on them
 *   I  no incomplete set counted (list --json, status's "incomplete sets" row)
 *   L  the lock is free
 *   M  the message says what happened (and the hint, where the README promises one)
 * The table at the end is built from what each case measured (exit code, first error line, each
 * invariant pass/FAIL); a case that failed or was skipped shows as such. It is printed and written
 * to test/e2e/fault-table.md (README "Fault suite" holds a copy; test/unit/fault-table.test.ts
 * keeps the two equal).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { startCluster, type Cluster } from '../helpers/pg-cluster.js';
import { seedLarge, seedMarketData } from '../helpers/market-data.js';
import { startS3, type LocalS3 } from '../helpers/s3.js';
import { startTdStandIn, type TaosdumpSwitches, type TdStandIn } from '../helpers/tdengine-standin.js';
import { CANNOT_MOUNT, mountTmpfs, remountReadOnly, remountReadWrite, unmount } from '../helpers/mount.js';
import { behave, fakeBinDir } from '../helpers/fake-bin.js';
import { incompleteDirs, json, userEnv, withPostgres, workspace, type Started, type ToolRun, type Workspace } from '../helpers/tool.js';
import {
  backupSet,
  catalogSnapshot,
  connectionCounter,
  descendants,
  dumpStarted,
  earlierIntact,
  filesUnder,
  firstError,
  interrupt,
  launch,
  listed,
  lockIsFree,
  noIncompleteCounted,
  reportOf,
  run,
  sleep,
  stillRunning,
  throttle,
  until,
  verifiedSet,
  type EarlierSet,
} from '../helpers/faults.js';
import type { RunResult } from '../../src/report/result.js';
import { catalogTrustCases, tdengineTrustCase } from './trust-cases.js';

// ---------- the table, from what was measured ----------

type Mark = 'pass' | 'FAIL' | '–';
type Key = 'E' | 'I' | 'L' | 'M';
interface Row {
  fault: string;
  exit: string;
  error: string;
  marks: Record<Key, Mark>;
  result: 'pass' | 'FAIL' | 'skipped';
  note: string;
}
const rows: Row[] = [];
const FAULT_TABLE_FILE = path.join(path.dirname(new URL(import.meta.url).pathname), 'fault-table.md');

/**
 * Paths, ids, pids, ports, times and checksums out of a message, and only its first clause (up to
 * "; "), so the table reads the same on every run.
 */
function normalize(line: string | null, ws: Workspace | null): string {
  if (!line) return '–';
  let s = line.split('; ')[0]!;
  if (ws) s = s.split(ws.root).join('<root>').split(ws.dir).join('<ws>');
  return s
    .replace(/\/tmp\/[^\s:'"),]+/g, '<tmp>')
    .split(os.hostname())
    .join('<host>')
    .replace(/\b([a-z][a-z0-9_]*?)_\d{8}_\d{6}(-\d+)?\b/g, '$1_<date>_<time>')
    .replace(/_<time>\.\d+/g, '_<time>.<pid>')
    .replace(/\bpid \d+/g, 'pid N')
    .replace(/\d{4}-\d\d-\d\dT[\d:.]+(Z|[+-]\d\d:\d\d)/g, '<time>')
    .replace(/(127\.0\.0\.1|localhost):\d+/g, '$1:<port>')
    .replace(/\b[0-9a-f]{12,}\b/g, '<sha256>')
    .replace(/\|/g, '\\|');
}

interface Case {
  /** Records the faulted run: its exit code and the first line of its error (with `ws`'s paths named <root>, <ws>). */
  observed(r: ToolRun, ws: Workspace): void;
  /** Runs one invariant's assertions; a failure marks it FAIL (the case fails at the end), the others still run. */
  check(key: Key, fn: () => void | Promise<void>): Promise<void>;
  /**
   * E, I and L (each its own mark) for a run that must leave nothing: `earlier` intact and verifying
   * (through `early`, default `ws`, with `env`), nothing left behind on `ws`'s root, the lock free.
   */
  nothingLost(s: { early?: Workspace; ws: Workspace; earlier: EarlierSet }, env: NodeJS.ProcessEnv): Promise<void>;
  /** Skips the case, visibly: it stays in the table as skipped, with the reason. */
  skip(reason: string): never;
}

/** Cases declared; the table file is written only when every one of them ran (or was skipped visibly). */
let declared = 0;

function faultCase(fault: string, body: (c: Case, t: TestContext) => Promise<void>, timeout = 240_000): void {
  declared++;
  it(fault, async (t) => {
    const row: Row = { fault, exit: '–', error: '–', marks: { E: '–', I: '–', L: '–', M: '–' }, result: 'FAIL', note: '' };
    rows.push(row);
    const failures: unknown[] = [];
    let ws: Workspace | null = null;
    const c: Case = {
      observed(r, named) {
        ws = named;
        row.exit = r.code === null ? `killed (${r.signal})` : String(r.code);
        row.error = normalize(firstError(r), ws);
      },
      async check(key, fn) {
        try {
          await fn();
          row.marks[key] = 'pass';
        } catch (err) {
          row.marks[key] = 'FAIL';
          failures.push(err);
        }
      },
      async nothingLost({ early, ws: on, earlier }, env) {
        await c.check('E', () => earlierIntact(early ?? on, env, earlier));
        await c.check('I', () => nothingLeftBehind(on, earlier));
        await c.check('L', () => lockIsFree(on));
      },
      skip(reason) {
        row.result = 'skipped';
        row.note = reason;
        return t.skip(reason) as never;
      },
    };
    try {
      await body(c, t);
      if (failures.length) throw failures[0];
      row.result = 'pass';
    } catch (err) {
      if (row.result !== 'skipped') {
        row.result = 'FAIL';
        row.note = normalize(String(err instanceof Error ? err.message : err).split('\n')[0]!, ws).slice(0, 160);
      }
      throw err;
    }
  }, timeout);
}

function renderTable(): string {
  const head = ['| fault | exit | error (first line) | E | I | L | M | result |', '|---|---|---|---|---|---|---|---|'];
  const body = rows.map((r) => `| ${r.fault} | ${r.exit} | ${r.error === '–' ? '–' : `\`${r.error.replace(/`/g, "'")}\``} | ${r.marks.E} | ${r.marks.I} | ${r.marks.L} | ${r.marks.M} | ${r.result === 'pass' ? 'pass' : `**${r.result}**${r.note ? `: ${r.note.replace(/\|/g, '\\|')}` : ''}`} |`);
  return [...head, ...body].join('\n');
}
afterAll(() => {
  const text = `${renderTable()}\n`;
  // A filtered run (vitest -t) measured only some cases: print them, keep the file of the last whole run.
  const whole = rows.length === declared;
  if (whole) writeFileSync(FAULT_TABLE_FILE, text);
  console.log(`\nFault suite: ${rows.length} of ${declared} cases (E earlier sets intact and verify; I no incomplete set counted; L lock free; M message says what happened)${whole ? `; written to ${FAULT_TABLE_FILE}` : '; not all ran, so the table file was left as it was'}\n${text}`);
});

// ---------- servers ----------

let pgc: Cluster;
let big: Cluster;
beforeAll(async () => {
  pgc = await startCluster({ name: 'faults' });
  await pgc.createDb('mystocks');
  await seedMarketData(pgc, 'mystocks');
  big = await startCluster({ name: 'faults-big' });
  await big.createDb('mystocks');
  await seedMarketData(big, 'mystocks');
  await seedLarge(big, 'mystocks', 120);
}, 300_000);
afterAll(async () => {
  await pgc?.destroy();
  await big?.destroy();
});

const smallEnv = (extra: NodeJS.ProcessEnv = {}) => userEnv(pgc, extra);
const bigEnv = (extra: NodeJS.ProcessEnv = {}) => userEnv(big, extra);

/**
 * A root holding an earlier verified set of the small database (`early`), and a workspace on the
 * same root that dumps the big one (`ws`, so a dump lasts long enough to break it mid-way).
 */
async function rootWithEarlierSet(extra: Record<string, unknown> = {}, env: NodeJS.ProcessEnv = {}): Promise<{ early: Workspace; ws: Workspace; earlier: EarlierSet }> {
  const early = workspace(pgc, 'mystocks', extra);
  const earlier = await verifiedSet(early, smallEnv(env));
  const ws = workspace(big, 'mystocks', { ...extra, root: early.root });
  return { early, ws, earlier };
}

// ---------- PostgreSQL ----------

/** I, for a run that must leave nothing: no staging leftovers, and the earlier set the only backup. */
async function nothingLeftBehind(ws: Workspace, earlier: EarlierSet): Promise<void> {
  expect(incompleteDirs(ws)).toEqual([]);
  await noIncompleteCounted(ws, [earlier.id]);
}

describe('faults during a dump', () => {
  faultCase('PostgreSQL server killed mid-dump', async (c) => {
    const { early, ws, earlier } = await rootWithEarlierSet();
    const started = launch(ws, ['backup', '--json'], bigEnv());
    await until(dumpStarted(ws), 'the dump to start', { started });
    await big.kill();
    const r = await started.done;
    await big.restart();
    c.observed(r, ws);
    await c.nothingLost({ early, ws, earlier }, smallEnv());
    await c.check('M', () => {
      expect(r.code).toBe(1);
      const err = json<RunResult>(r).error!;
      expect(err.message).toMatch(/^pg_dump failed \(exit 1\):/);
      // The tail is pg_dump's own: "server closed the connection unexpectedly", "PQgetCopyData() failed", ...
      expect(err.message).toMatch(/\n {2}pg_dump: error: .*(server closed the connection|PQget\w+\(\) failed|terminat|connection to server)/i);
      expect(err.hint).toContain('A lost connection means the server stopped or restarted during the dump');
      expect(r.stderr).toContain('no set was written; partial files removed. Earlier sets are untouched.');
    });
  });

  faultCase('the tool gets SIGTERM mid-dump (runner cancel or timeout)', async (c) => {
    const { early, ws, earlier } = await rootWithEarlierSet();
    const started = launch(ws, ['backup', '--json'], bigEnv());
    await until(dumpStarted(ws), 'the dump to start', { started });
    // pg_dump is among the run's children, and none of them outlives the tool.
    const { r } = await interrupt(started, 'SIGTERM', (cmd) => cmd.includes('pg_dump'), { what: 'pg_dump to run' });
    c.observed(r, ws);
    await c.nothingLost({ early, ws, earlier }, smallEnv());
    await c.check('M', () => {
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('received SIGTERM: stopping child processes and cleaning up');
      expect(reportOf(ws, 'backup', started.child.pid!)).toMatchObject({ status: 'cancelled', error: { message: 'cancelled by SIGTERM' } });
    });
  });

  faultCase('the tool gets SIGTERM mid-upload to S3', async (c) => {
    const s3: LocalS3 = await startS3();
    const slow = await throttle(Number(new URL(s3.endpoint).port), 3 * 1024 * 1024);
    try {
      const remotes = [{ type: 's3', name: 'oss', endpoint: `http://127.0.0.1:${slow.port}`, bucket: s3.bucket, prefix: 'mystocks/', part_size_mb: 5 }];
      const keys = { ...s3.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
      const { early, ws, earlier } = await rootWithEarlierSet({ remotes }, keys);
      const env = bigEnv(keys);
      // What reached the remote's disk (parts or objects), not the probe the remote check writes.
      const remoteBytes = () =>
        filesUnder(s3.directory)
          .filter((f) => !f.includes('.pgtaos-probe-'))
          .reduce((a, f) => a + statSync(path.join(s3.directory, f)).size, 0);
      const started = launch(ws, ['milestone', 'pre_upload_cut', '--json'], env);
      await until(() => remoteBytes() > 6 * 1024 * 1024, 'the first part to reach the remote', { started, timeoutMs: 180_000 });
      const milestone = readdirSync(path.join(ws.root, 'milestone'))[0]!;
      // Objects of the copy s3rver holds whole (a multipart upload becomes one only when completed).
      const storedObjects = () => filesUnder(s3.directory).filter((f) => f.includes(`milestone/${milestone}/`) && f.endsWith('._S3rver_object'));
      const manifestsOnRemote = () => storedObjects().filter((f) => f.includes(`${milestone}/manifest.json`));
      const storedAtKill = storedObjects();
      started.child.kill('SIGTERM');
      const r = await started.done;
      c.observed(r, ws);
      await c.check('E', () => earlierIntact(early, smallEnv(keys), earlier));
      await c.check('I', async () => {
        expect(storedAtKill, 'the signal landed mid-upload: no file of the copy stored whole yet').toEqual([]);
        expect(manifestsOnRemote()).toEqual([]); // no copy looks complete
        // The local milestone was complete before its copy began: it counts, and is the only new set.
        await noIncompleteCounted(ws, [earlier.id, milestone]);
      });
      await c.check('L', () => lockIsFree(ws));
      await c.check('M', async () => {
        expect(r.code).toBe(1);
        expect(r.stderr).toContain('received SIGTERM');
        expect(json<RunResult>(r).status).toBe('cancelled');
        // The next run copies it again, at full speed, and checks it.
        slow.setRate(null);
        const next = await run(ws, ['backup', '--engines', 'postgres'], env);
        expect(next.code, next.stderr).toBe(0);
        expect(manifestsOnRemote()).toHaveLength(1);
        const copies = JSON.parse(readFileSync(path.join(ws.root, 'milestone', milestone, 'remotes.json'), 'utf8')) as unknown;
        expect(JSON.stringify(copies)).toContain('verified');
      });
    } finally {
      await slow.close();
      await s3.close();
    }
  });

  faultCase('the tool gets SIGKILL mid-dump (no chance to clean up)', async (c) => {
    const { early, ws, earlier } = await rootWithEarlierSet();
    const started = launch(ws, ['backup'], bigEnv());
    await until(dumpStarted(ws), 'the dump to start', { started });
    const children = descendants(started.child.pid!);
    started.child.kill('SIGKILL');
    const r = await started.done;
    c.observed(r, ws);
    // pg_dump outlives a SIGKILLed parent (nothing can forward that signal): let it end.
    await until(() => stillRunning(children).length === 0, 'the orphaned pg_dump to end', { timeoutMs: 120_000 });
    const leftovers = incompleteDirs(ws);
    // Before the next run: the leftover is listed as incomplete, never as a backup.
    const before = await listed(ws);
    // The NEXT backup itself takes over the dead run's lock, cleans its leftover and proceeds.
    const next = await run(early, ['backup', '--json'], smallEnv());
    await c.check('E', () => earlierIntact(early, smallEnv(), earlier));
    await c.check('I', async () => {
      expect(leftovers).toHaveLength(1);
      expect(before.filter((s) => s.status === 'complete').map((s) => s.id)).toEqual([earlier.id]);
      expect(before.some((s) => s.status === 'incomplete' && s.path.includes('.incomplete'))).toBe(true);
      expect(next.code, next.stderr).toBe(0);
      expect(incompleteDirs(ws), 'the next backup removed the leftover').toEqual([]);
      await noIncompleteCounted(ws, [earlier.id, json<RunResult>(next).set!.id]);
    });
    await c.check('L', () => lockIsFree(ws));
    await c.check('M', () => {
      expect(r.signal).toBe('SIGKILL');
      expect(next.stderr).toMatch(/took over a stale lock left by backup \(pid \d+/);
    });
  });

  faultCase('the disk fills up during the dump', async (c) => {
    const mnt = mountTmpfs({ size: '64m' }) ?? c.skip(CANNOT_MOUNT);
    try {
      const { early, ws, earlier } = await rootWithEarlierSet({ root: path.join(mnt, 'backups') });
      const started = launch(ws, ['backup', '--json'], bigEnv());
      await until(dumpStarted(ws), 'the dump to start', { started });
      spawnSync('dd', ['if=/dev/zero', `of=${path.join(mnt, 'filler')}`, 'bs=1M'], { encoding: 'utf8' }); // until ENOSPC
      const r = await started.done;
      c.observed(r, ws);
      rmSync(path.join(mnt, 'filler'), { force: true }); // room again, for verify's own record
      await c.nothingLost({ early, ws, earlier }, smallEnv());
      await c.check('M', () => {
        expect(r.code).toBe(1);
        expect(json<RunResult>(r).error!.message).toMatch(/No space left on device/);
        expect(r.stderr).toContain('Earlier sets are untouched');
      });
    } finally {
      unmount(mnt);
    }
  });

  faultCase('two runs on one root at once', async (c) => {
    // The first run's pg_dump waits a little first, so the second surely starts while it holds the lock.
    const { early, earlier } = await rootWithEarlierSet();
    const slowWs = workspace(pgc, 'mystocks', { root: early.root });
    withPostgres(slowWs, { bin_dir: fakeBinDir(pgc.clientBinDir, { pg_dump: behave.sleepFirst(2) }) });
    const first = launch(slowWs, ['backup', '--json'], smallEnv());
    await until(() => descendants(first.child.pid!).some((p) => p.cmd.includes('sleep 2')), 'the first run to be dumping', { started: first });
    const second = await run(early, ['backup', '--json'], smallEnv());
    const one = await first.done;
    c.observed(second, slowWs);
    await c.check('E', () => earlierIntact(early, smallEnv(), earlier));
    await c.check('I', async () => {
      expect(one.code, one.stderr).toBe(0);
      const made = json<RunResult>(one).set!.id;
      await noIncompleteCounted(early, [earlier.id, made]);
      // The first run's set is a real backup: it verifies.
      const v = await run(early, ['verify', made], smallEnv());
      expect(v.code, v.stderr).toBe(0);
    });
    await c.check('L', () => lockIsFree(early));
    await c.check('M', () => {
      expect(second.code).toBe(1);
      expect(json<RunResult>(second).error!.message).toMatch(new RegExp(`^another pgtaos-backup run holds ${early.root.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/\\.lock: backup \\(pid ${first.child.pid} on ${os.hostname()}, since `));
      expect(json<RunResult>(second).error!.hint).toContain('Wait for it to finish');
    });
  });
});

describe('faults in the catalog', () => {
  /** An earlier verified set, and a newer one the case damages. */
  async function twoSets(): Promise<{ ws: Workspace; earlier: EarlierSet; newer: string }> {
    const ws = workspace(pgc, 'mystocks');
    const earlier = await verifiedSet(ws, smallEnv());
    await sleep(1100); // a new second: a new set id
    return { ws, earlier, newer: (await backupSet(ws, smallEnv())).id };
  }

  /** The fault: the newer set's manifest.json edited by hand (`edit` gets its text, returns the new one); then `verify <newer>`, the faulted run. */
  async function editNewerManifest(c: Case, ws: Workspace, newer: string, edit: (text: string) => string): Promise<ToolRun> {
    const mf = path.join(ws.root, 'daily', newer, 'manifest.json');
    writeFileSync(mf, edit(readFileSync(mf, 'utf8')));
    const v = await run(ws, ['verify', newer, '--json'], smallEnv());
    c.observed(v, ws);
    return v;
  }
  /** An edit: the first postgres file's sha256 set to `sha256` (JSON.stringify with `space`). */
  const firstSha = (sha256: string, space?: number) => (text: string) => {
    const m = JSON.parse(text) as { postgres: { files: { sha256: string }[] } };
    m.postgres.files[0]!.sha256 = sha256;
    return JSON.stringify(m, null, space);
  };

  faultCase('manifest.json truncated by hand', async (c) => {
    const { ws, earlier, newer } = await twoSets();
    const v = await editNewerManifest(c, ws, newer, (text) => text.slice(0, 200));
    await c.check('E', () => earlierIntact(ws, smallEnv(), earlier));
    await c.check('I', async () => {
      expect((await listed(ws)).find((s) => s.id === newer)).toMatchObject({ status: 'incomplete', reason: expect.stringContaining('not valid JSON') });
      await noIncompleteCounted(ws, [earlier.id], [newer]);
      const byDefault = json<RunResult>(await run(ws, ['verify', '--json'], smallEnv()));
      expect(byDefault).toMatchObject({ status: 'success', set: expect.objectContaining({ id: earlier.id }) }); // the newest complete set
      expect((await run(ws, ['prune'], smallEnv())).code).toBe(0);
      expect(existsSync(path.join(ws.root, 'daily', newer, 'mystocks.dump')), 'prune keeps it for a person').toBe(true);
    });
    await c.check('L', () => lockIsFree(ws));
    await c.check('M', () => {
      expect(v.code).toBe(1);
      expect(json<RunResult>(v).error!.message).toContain('incomplete');
    });
  });

  faultCase('manifest.json edited by hand: a checksum changed', async (c) => {
    const { ws, earlier, newer } = await twoSets();
    const v = await editNewerManifest(c, ws, newer, firstSha('f'.repeat(64), 2));
    // Before E verifies the earlier set (which would then be the last verification).
    const st = json<RunResult>(await run(ws, ['status', '--json'], smallEnv()));
    await c.check('E', () => earlierIntact(ws, smallEnv(), earlier));
    await c.check('I', async () => {
      // Still shaped like a manifest: listed, but verify refuses it and status says the last verification failed.
      await noIncompleteCounted(ws, [earlier.id, newer]);
      expect(st.checks.find((x) => x.name === 'last verification')).toMatchObject({ result: 'failed', detail: expect.stringContaining(newer) });
    });
    await c.check('L', () => lockIsFree(ws));
    await c.check('M', () => {
      expect(v.code).toBe(1);
      const res = json<RunResult>(v);
      expect(res.checks.find((x) => x.name === 'checksum mystocks.dump')).toMatchObject({ result: 'failed', detail: expect.stringMatching(/sha256/) });
      expect(res.checks.some((x) => x.name === 'postgres restore')).toBe(false); // no restore of a file that does not match
    });
  });

  faultCase('manifest.json edited by hand: not the manifest format', async (c) => {
    const { ws, earlier, newer } = await twoSets();
    const v = await editNewerManifest(c, ws, newer, firstSha('not-a-checksum'));
    await c.check('E', () => earlierIntact(ws, smallEnv(), earlier));
    await c.check('I', async () => {
      expect((await listed(ws)).find((s) => s.id === newer)).toMatchObject({ status: 'incomplete', reason: expect.stringContaining('does not match the format') });
      await noIncompleteCounted(ws, [earlier.id], [newer]);
      const st = json<RunResult>(await run(ws, ['status', '--json'], smallEnv()));
      expect(st.checks.find((x) => x.name === 'incomplete sets')!.detail).toContain('postgres.files.0.sha256');
    });
    await c.check('L', () => lockIsFree(ws));
    await c.check('M', () => {
      expect(v.code).toBe(1);
      expect(json<RunResult>(v).error!.message).toContain('incomplete');
    });
  });

  faultCase('a set folder deleted by hand', async (c) => {
    const { ws, earlier, newer } = await twoSets();
    rmSync(path.join(ws.root, 'daily', newer), { recursive: true, force: true });
    const v = await run(ws, ['verify', '--json'], smallEnv());
    c.observed(v, ws);
    await c.check('E', () => earlierIntact(ws, smallEnv(), earlier));
    await c.check('I', async () => {
      expect((await listed(ws)).map((s) => s.id)).toEqual([earlier.id]);
      await noIncompleteCounted(ws, [earlier.id]);
      const st = json<RunResult>(await run(ws, ['status', '--json'], smallEnv()));
      expect(st.checks.find((x) => x.name === 'postgres backup')).toMatchObject({ result: 'passed', detail: expect.stringContaining(earlier.id) });
    });
    await c.check('L', () => lockIsFree(ws));
    await c.check('M', () => {
      expect(v.code, v.stderr).toBe(0);
      expect(json<RunResult>(v).set!.id).toBe(earlier.id); // verify goes on with what is there
    });
  });

  faultCase('the backup root is not writable (read-only file system)', async (c) => {
    const mnt = mountTmpfs({ size: '32m' }) ?? c.skip(CANNOT_MOUNT);
    try {
      const ws = workspace(pgc, 'mystocks', { root: path.join(mnt, 'backups') });
      const earlier = await verifiedSet(ws, smallEnv());
      const files = filesUnder(ws.root);
      remountReadOnly(mnt);
      const r = await run(ws, ['backup', '--json'], smallEnv());
      c.observed(r, ws);
      remountReadWrite(mnt);
      await c.check('E', () => earlierIntact(ws, smallEnv(), earlier));
      await c.check('I', () => noIncompleteCounted(ws, [earlier.id]));
      await c.check('L', () => lockIsFree(ws));
      await c.check('M', () => {
        expect(r.code).toBe(1);
        const err = json<RunResult>(r).error!;
        expect(err.message).toBe(`cannot write to the backup root ${ws.root}: it is on a read-only file system (EROFS)`);
        expect(err.hint).toBe('Check that the disk is mounted read-write and that the user running pgtaos-backup owns the backup root. Nothing was written.');
        expect(files.every((f) => existsSync(path.join(ws.root, f)))).toBe(true);
      });
    } finally {
      unmount(mnt);
    }
  });

  faultCase('a wrong password', async (c) => {
    const ws = workspace(pgc, 'mystocks');
    const earlier = await verifiedSet(ws, smallEnv());
    const r = await run(ws, ['backup', '--json'], smallEnv({ PGPASSWORD: 'wrong-password' }));
    c.observed(r, ws);
    await c.nothingLost({ ws, earlier }, smallEnv());
    await c.check('M', () => {
      expect(r.code).toBe(1);
      const err = json<RunResult>(r).error!;
      expect(err.message).toMatch(/^PostgreSQL refused the login postgres@127\.0\.0\.1:\d+\/mystocks/);
      expect(err.hint).toContain('PGPASSWORD');
      expect(err.hint).toContain('postgres-password');
      expect(r.stderr + r.stdout).not.toContain('wrong-password');
    });
  });

  faultCase('pg_dump missing', async (c) => {
    const ws = workspace(pgc, 'mystocks');
    const earlier = await verifiedSet(ws, smallEnv());
    // The config points at a port that only counts connections: nothing may connect to it.
    const counter = await connectionCounter();
    try {
      const empty = mkdtempSync(path.join(os.tmpdir(), 'nobin-'));
      const nobin = workspace(pgc, 'mystocks', { root: ws.root, postgres: { host: '127.0.0.1', port: counter.port, database: 'mystocks', bin_dir: empty } });
      const files = filesUnder(ws.root);
      const before = await catalogSnapshot(ws.root);
      const r = await run(nobin, ['backup', '--json'], smallEnv());
      c.observed(r, ws);
      const created = filesUnder(ws.root).filter((f) => !files.includes(f));
      await c.check('E', () => earlierIntact(ws, smallEnv(), earlier));
      await c.check('I', async () => {
        expect(await catalogSnapshot(ws.root)).toEqual(before);
        await noIncompleteCounted(ws, [earlier.id]);
      });
      await c.check('L', () => lockIsFree(ws));
      await c.check('M', () => {
        expect(r.code).toBe(2);
        expect(json<RunResult>(r).error!.message).toContain(`pg_dump not found in bin_dir ${empty}`);
        expect(counter.connections).toBe(0);
        // Not even a log or a lock; only the run's own JSON report may appear (that is how a refusal is seen).
        expect(created.filter((f) => !/^logs\/[\d_]+-backup-\d+\.json$/.test(f))).toEqual([]);
      });
    } finally {
      await counter.close();
    }
  });
});

describe('the backup root is a trust boundary', () => {
  catalogTrustCases(faultCase, () => pgc, smallEnv);
});

// ---------- TDengine (the stand-ins of test/stand-ins/) ----------

describe('TDengine faults (stand-ins)', () => {
  let td: TdStandIn;
  beforeAll(async () => {
    td = await startTdStandIn({ seed: { childrenPerStable: 4, rowsPerChild: 20 } });
  });
  afterAll(async () => {
    await td?.close();
  });
  const tdEnv = (switches: TaosdumpSwitches = {}) => userEnv(null, td.env({}, switches));
  const tdWs = () => workspace(null, 'unused', { tdengine: td.config() });
  async function earlierTd(): Promise<{ ws: Workspace; earlier: EarlierSet }> {
    const ws = tdWs();
    return { ws, earlier: await verifiedSet(ws, tdEnv()) };
  }
  const dumpingTaos = (cmd: string) => cmd.includes('taosdump') && / -o /.test(cmd);
  const taosdumpDumping = (started: Started) => () => descendants(started.child.pid!).some((p) => dumpingTaos(p.cmd));

  faultCase('taosdump killed mid-dump (SIGKILL)', async (c) => {
    const { ws, earlier } = await earlierTd();
    const started = launch(ws, ['backup', '--engines', 'tdengine', '--json'], tdEnv({ slowMs: 200 }));
    await until(taosdumpDumping(started), 'taosdump to dump', { started });
    const dumper = descendants(started.child.pid!).filter((p) => p.cmd.includes('taosdump'));
    for (const p of dumper) process.kill(p.pid, 'SIGKILL');
    const r = await started.done;
    c.observed(r, ws);
    await c.nothingLost({ ws, earlier }, tdEnv());
    await c.check('M', () => {
      expect(r.code).toBe(1);
      expect(json<RunResult>(r).error!.message).toMatch(/taosdump/);
      expect(json<RunResult>(r).error!.message).toMatch(/SIGKILL|killed|signal/i);
    });
  });

  faultCase('the tool gets SIGTERM during taosdump', async (c) => {
    const { ws, earlier } = await earlierTd();
    const started = launch(ws, ['backup', '--engines', 'tdengine', '--json'], tdEnv({ slowMs: 200 }));
    // taosdump is among the run's children, and none of them outlives the tool.
    const { r } = await interrupt(started, 'SIGTERM', dumpingTaos, { what: 'taosdump to dump' });
    c.observed(r, ws);
    await c.nothingLost({ ws, earlier }, tdEnv());
    await c.check('M', () => {
      expect(r.code).toBe(1);
      expect(json<RunResult>(r)).toMatchObject({ status: 'cancelled', error: { message: 'cancelled by SIGTERM' } });
    });
  });

  faultCase('taosAdapter stopped mid-run', async (c) => {
    const { ws, earlier } = await earlierTd();
    const started = launch(ws, ['backup', '--engines', 'tdengine', '--json'], tdEnv({ slowMs: 200 }));
    await until(taosdumpDumping(started), 'taosdump to dump', { started });
    await td.adapterDown();
    const r = await started.done;
    c.observed(r, ws);
    await td.adapterUp();
    await c.nothingLost({ ws, earlier }, tdEnv());
    await c.check('M', () => {
      expect(r.code).toBe(1);
      expect(json<RunResult>(r).error!.message).toMatch(/taosAdapter/);
    });
  });

  tdengineTrustCase(faultCase, tdWs, tdEnv);
});
