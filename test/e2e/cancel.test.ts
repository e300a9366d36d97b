/**
 * Cancellation of every command that writes: SIGINT (what the runner sends first) and SIGTERM
 * (7.5 s later, or a timeout), landing while the command's child process or its file work is in
 * progress. Each run must: exit non-zero within a few seconds (the runner's SIGKILL comes 10 s
 * after its SIGINT), leave no child process, free the lock, leave nothing in .incomplete/, leave
 * the catalog as it was (the set folders and every manifest's bytes), and say in its log and
 * report that it was cancelled. And the action, spawned as the runner does, cancelled mid-dump.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type Cluster } from '../helpers/pg-cluster.js';
import { seedLarge, seedMarketData } from '../helpers/market-data.js';
import { writeFakeSet, DAY_MS } from '../helpers/fake-catalog.js';
import { fakeBinDir } from '../helpers/fake-bin.js';
import { actionFiles, incompleteDirs, launchAction, userEnv, withPostgres, workspace, type Started, type Workspace } from '../helpers/tool.js';
import { backupSet, catalogSnapshot, dumpStarted, interrupt, launch, lockFiles, reportOf, run, until } from '../helpers/faults.js';
import { sha256File } from '../../src/catalog/checksum.js';
import type { RunResult } from '../../src/report/result.js';

type Sig = 'SIGINT' | 'SIGTERM';
const SIGNALS: Sig[] = ['SIGINT', 'SIGTERM'];
/** The runner sends SIGTERM 7.5 s after SIGINT and SIGKILL 2.5 s after that: done well before. */
const WITHIN_MS = 7000;

let big: Cluster;
beforeAll(async () => {
  big = await startCluster({ name: 'cancel' });
  await big.createDb('mystocks');
  await seedMarketData(big, 'mystocks');
  await seedLarge(big, 'mystocks', 120);
});
afterAll(async () => {
  await big?.destroy();
});
const env = (extra: NodeJS.ProcessEnv = {}) => userEnv(big, extra);

const isPgDump = (cmd: string) => cmd.includes('pg_dump');
/** pg_restore into `db` (its command line names -d db). */
const restoringInto = (db: string) => (cmd: string) => cmd.includes('pg_restore') && cmd.includes(`-d ${db}`);

async function databases(): Promise<string[]> {
  return (await big.query<{ datname: string }>('SELECT datname FROM pg_database ORDER BY 1')).map((r) => r.datname);
}

interface Cancelled {
  code: number | null;
  stderr: string;
  report: RunResult;
  log: string;
}

/**
 * Sends `sig` to the run and checks what every cancelled run must do: none of its processes just
 * before the signal outlives it by more than a moment (a pg_restore -j leader stops its workers as
 * it exits). `child`: the run waits first for a child process whose command line matches, which
 * must be among those signalled.
 */
async function cancel(
  started: Started,
  sig: Sig,
  ws: Workspace,
  command: string,
  before: Record<string, string>,
  opts: { newSets?: RegExp; child?: (cmd: string) => boolean; what?: string; timeoutMs?: number } = {},
): Promise<Cancelled> {
  const { r, ms } = await interrupt(started, sig, opts.child, { what: opts.what, timeoutMs: opts.timeoutMs, graceMs: 3000 });
  expect(r.code, r.stderr).toBe(1);
  expect(ms, 'exit within a few seconds of the signal').toBeLessThan(WITHIN_MS);
  expect(lockFiles(ws.root)).toEqual([]);
  expect(incompleteDirs(ws)).toEqual([]);
  const after = await catalogSnapshot(ws.root);
  const added = Object.keys(after).filter((k) => !(k in before));
  for (const k of added) expect(k, 'a set that appeared').toMatch(opts.newSets ?? /^$/);
  for (const k of added) expect(after[k], `${k} is complete`).not.toBe('no manifest');
  expect(Object.fromEntries(Object.entries(after).filter(([k]) => k in before))).toEqual(before);
  const report = reportOf(ws, command, started.child.pid!);
  expect(report, 'the run wrote its report').not.toBeNull();
  expect(report!.status).toBe('cancelled');
  expect(report!.error?.message).toMatch(new RegExp(`^cancelled by ${sig}`));
  const log = readFileSync(report!.log_path!, 'utf8');
  expect(log).toContain(`received ${sig}: stopping child processes and cleaning up`);
  expect(log).toMatch(new RegExp(`${command} cancelled in `));
  return { code: r.code, stderr: r.stderr, report: report!, log };
}

describe('backup', () => {
  it('SIGINT mid-dump (the runner cancelling): pg_dump stopped, nothing kept', async () => {
    const ws = workspace(big, 'mystocks');
    const before = await catalogSnapshot(ws.root);
    const started = launch(ws, ['backup'], env());
    await until(dumpStarted(ws), 'pg_dump to write', { started });
    const c = await cancel(started, 'SIGINT', ws, 'backup', before, { child: isPgDump, what: 'pg_dump to run' });
    expect(c.log).toContain('no set was written; partial files removed. Earlier sets are untouched.');
  });
});

describe('restore', () => {
  let ws: Workspace;
  let setId: string;
  beforeAll(async () => {
    ws = workspace(big, 'mystocks');
    setId = (await backupSet(ws, env())).id;
    // The target the cancelled restores replace: a full copy, so the safety dump takes a while.
    const first = await run(ws, ['restore', setId, '--target', 'big_target', '--confirm', 'big_target'], env());
    expect(first.code, first.stderr).toBe(0);
  });

  it.each(SIGNALS)('%s during the safety dump: pg_dump stopped, no safety set, the target not touched', async (sig) => {
    const before = await catalogSnapshot(ws.root);
    const rowsBefore = (await big.query<{ n: string }>('SELECT count(*)::text AS n FROM public.daily_bars', 'big_target'))[0]!.n;
    const started = launch(ws, ['restore', setId, '--target', 'big_target', '--confirm', 'big_target'], env());
    await until(dumpStarted(ws, 'big_target.dump'), 'the safety dump to write', { started });
    const c = await cancel(started, sig, ws, 'restore', before, { child: isPgDump, what: 'the safety dump (pg_dump) to run' });
    expect(c.report.error!.message).toBe(`cancelled by ${sig}; the restore of ${setId} had not started: big_target was not touched`);
    expect(c.stderr).not.toContain('$ pg_restore -h'); // the restore itself never began
    expect((await big.query<{ n: string }>('SELECT count(*)::text AS n FROM public.daily_bars', 'big_target'))[0]!.n).toBe(rowsBefore);
  });

  it.each(SIGNALS)('%s while pg_restore fills the new database: pg_restore (and its workers) stopped, the safety set kept, the target not touched, the new copy dropped', async (sig) => {
    const before = await catalogSnapshot(ws.root);
    const rowsBefore = (await big.query<{ n: string }>('SELECT count(*)::text AS n FROM public.daily_bars', 'big_target'))[0]!.n;
    const started = launch(ws, ['restore', setId, '--target', 'big_target', '--confirm', 'big_target'], env());
    const c = await cancel(started, sig, ws, 'restore', before, { newSets: /^safety\/safety_big_target_/, child: restoringInto('big_target_pgtaos_new'), what: 'pg_restore to run', timeoutMs: 120_000 });
    const safety = Object.keys(await catalogSnapshot(ws.root)).filter((k) => !(k in before));
    expect(safety).toHaveLength(1);
    expect(c.report.error!.message).toBe(`cancelled by ${sig}; big_target was not touched (the restore of ${setId} was filling a new database, big_target_pgtaos_new, which is dropped)`);
    expect(c.report.error!.hint).toContain('big_target is as it was');
    expect((await big.query<{ n: string }>('SELECT count(*)::text AS n FROM public.daily_bars', 'big_target'))[0]!.n).toBe(rowsBefore);
    expect(await databases()).not.toContain('big_target_pgtaos_new');
  });
});

describe('verify', () => {
  it('SIGINT during its restore: no verification.json written (the earlier one unchanged), scratch database gone', async () => {
    const ws = workspace(big, 'mystocks');
    const set = await backupSet(ws, env());
    const before = await catalogSnapshot(ws.root);
    const started = launch(ws, ['verify', set.id], env());
    await cancel(started, 'SIGINT', ws, 'verify', before, { child: restoringInto('mystocks_verify'), what: 'pg_restore into the scratch database', timeoutMs: 60_000 });
    expect(existsSync(path.join(set.path, 'verification.json'))).toBe(false);
    expect(await databases()).not.toContain('mystocks_verify');

    // With an earlier verification on record: a cancelled verify leaves it byte for byte.
    const v = await run(ws, ['verify', set.id], env());
    expect(v.code, v.stderr).toBe(0);
    const recorded = await sha256File(path.join(set.path, 'verification.json'));
    const again = launch(ws, ['verify', set.id], env());
    await cancel(again, 'SIGTERM', ws, 'verify', await catalogSnapshot(ws.root), { child: restoringInto('mystocks_verify'), what: 'pg_restore into the scratch database', timeoutMs: 60_000 });
    expect(await sha256File(path.join(set.path, 'verification.json'))).toBe(recorded);
  });
});

describe('config', () => {
  it.each(SIGNALS)('%s while the snapshot is packed: no config set, nothing staged', async (sig) => {
    const ws = workspace(null, 'unused');
    const base = path.join(ws.dir, 'app');
    mkdirSync(path.join(base, 'config'), { recursive: true });
    writeFileSync(path.join(base, '.env'), 'DB_PASSWORD=not-a-real-one\n');
    // Enough incompressible bytes that packing takes a while.
    for (let i = 0; i < 16; i++) writeFileSync(path.join(base, 'config', `blob${i}.bin`), randomBytes(4 * 1024 * 1024));
    const cfg = workspace(null, 'unused', { root: ws.root, config_files: { base_dir: base, paths: ['.env', 'config'] } });
    const before = await catalogSnapshot(ws.root);
    const started = launch(cfg, ['config'], env());
    await until(() => incompleteDirs(ws).some((d) => d.startsWith('config_')), 'the snapshot to be staged', { started });
    const c = await cancel(started, sig, cfg, 'config', before);
    expect(c.stderr).not.toContain('config set config_');
  });
});

describe('prune', () => {
  it.each(SIGNALS)('%s while removing: stops between sets; every set left is whole; nothing half-removed', async (sig) => {
    const ws = workspace(null, 'unused');
    const now = Date.now();
    const idAt = (t: number, i: number) => `mystocks_${new Date(t).toISOString().slice(0, 10).replace(/-/g, '')}_00000${i % 10}`;
    // Old dailies retention removes, each a folder of many files (so removing takes a while).
    for (let i = 0; i < 48; i++) {
      const t = now - (30 + i) * DAY_MS;
      const dir = await writeFakeSet(ws.root, { kind: 'daily', id: idAt(t, 0), startedAt: new Date(t) }, { fast: true });
      mkdirSync(path.join(dir, 'many'));
      for (let f = 0; f < 1500; f++) writeFileSync(path.join(dir, 'many', `f${f}`), 'x');
    }
    // The newest three (keep_last) stay whatever happens.
    for (let i = 1; i <= 3; i++) await writeFakeSet(ws.root, { kind: 'daily', id: idAt(now - i * 60_000, i), startedAt: new Date(now - i * 60_000) }, { fast: true });
    const before = await catalogSnapshot(ws.root);
    const started = launch(ws, ['prune'], env());
    let removedLines = 0;
    started.child.stderr!.on('data', (d: Buffer) => (removedLines += (d.toString().match(/^removed /gm) ?? []).length));
    await until(() => removedLines > 0, 'the first set to be removed', { started });
    const { r, ms } = await interrupt(started, sig);
    expect(r.code, r.stderr).toBe(1);
    expect(ms).toBeLessThan(WITHIN_MS);
    expect(lockFiles(ws.root)).toEqual([]);
    expect(incompleteDirs(ws)).toEqual([]);
    // Stopped part-way: some planned removals done, some not; what is left is byte-identical.
    const after = await catalogSnapshot(ws.root);
    const left = Object.keys(after);
    expect(left.length).toBeLessThan(Object.keys(before).length);
    expect(left.length).toBeGreaterThan(3);
    for (const k of left) expect(after[k], k).toBe(before[k]);
    const report = reportOf(ws, 'prune', started.child.pid!)!;
    expect(report.status).toBe('cancelled');
    expect(readFileSync(report.log_path!, 'utf8')).toContain(`received ${sig}: stopping child processes and cleaning up`);
  });
});

describe('import', () => {
  let dump: string;
  beforeAll(async () => {
    const ws = workspace(big, 'mystocks');
    const set = await backupSet(ws, env());
    mkdirSync(path.join(ws.dir, 'old', 'postgresql'), { recursive: true });
    dump = path.join(ws.dir, 'old', 'postgresql', 'mystocks_20251020_000003.backup');
    copyFileSync(path.join(set.path, 'mystocks.dump'), dump);
  });

  it.each(SIGNALS)('%s while pg_restore --list reads the old dump: pg_restore stopped, nothing imported', async (sig) => {
    // pg_restore --list that takes its time (it holds here until the tool stops it).
    const ws = workspace(big, 'mystocks');
    withPostgres(ws, { bin_dir: fakeBinDir(big.clientBinDir, { pg_restore: 'case "$1" in --list) exec sleep 600;; esac\nexec "$REAL" "$@"' }) });
    const before = await catalogSnapshot(ws.root);
    const started = launch(ws, ['import', dump], env());
    await cancel(started, sig, ws, 'import', before, { child: (cmd) => cmd.startsWith('sleep 600'), what: 'pg_restore --list to run' });
    expect(existsSync(dump)).toBe(true);
  });

  it.each(SIGNALS)('%s while the dump is copied into the catalog: no set, nothing staged, the original untouched', async (sig) => {
    const ws = workspace(big, 'mystocks');
    const original = await sha256File(dump);
    const before = await catalogSnapshot(ws.root);
    const started = launch(ws, ['import', dump], env());
    await until(() => incompleteDirs(ws).length > 0, 'the import to be staged', { started });
    await cancel(started, sig, ws, 'import', before);
    expect(await sha256File(dump)).toBe(original);
  });
});

describe('the action', () => {
  it('SIGINT mid-dump, spawned as the runner does: the job summary says cancelled, the status output is cancelled, the step fails', async () => {
    const ws = workspace(big, 'mystocks');
    const before = await catalogSnapshot(ws.root);
    const started = launchAction(ws, { command: 'backup', config: ws.configFile, 'postgres-password': big.password });
    await until(dumpStarted(ws), 'pg_dump to write', { started });
    const { r, ms } = await interrupt(started, 'SIGINT', isPgDump, { what: 'pg_dump to run' });
    expect(r.code).toBe(1);
    expect(ms).toBeLessThan(WITHIN_MS);
    expect(lockFiles(ws.root)).toEqual([]);
    expect(incompleteDirs(ws)).toEqual([]);
    expect(await catalogSnapshot(ws.root)).toEqual(before);
    const { outputs, summary } = actionFiles(started);
    expect(outputs.status).toBe('cancelled');
    expect(outputs['set-id']).toBe('');
    expect(summary).toContain('pgtaos-backup backup: cancelled');
    expect(summary).toContain('cancelled by SIGINT');
    expect(r.stdout).toMatch(/::error::backup cancelled: cancelled by SIGINT/);
    expect(r.stdout.split(`::add-mask::${big.password}`).join('')).not.toContain(big.password);
  });
});
