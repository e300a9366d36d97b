/**
 * prune, status and list through runCommand on a catalog on disk (no database: fake dumps with
 * their real checksums, manifests written by writeManifest).
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { procStart } from '../../src/catalog/lock.js';
import { runCommand } from '../../src/run.js';
import { inside, prune, refuseProtectedRemovals, removeSet } from '../../src/commands/prune.js';
import type { planRetention } from '../../src/catalog/retention.js';
import { loadConfig } from '../../src/inputs/config.js';
import { silentSink } from '../../src/report/log.js';
import type { RunContext } from '../../src/commands/context.js';
import type { RunResult } from '../../src/report/result.js';
import { DAY_MS, manySets, writeConfigFile, writeDamagedSet, writeFakeSet, writeFakeSets, writeStagingLeftover, type FakeSet } from '../helpers/fake-catalog.js';
import { testCtx } from '../helpers/run-context.js';

const temps: string[] = [];
afterEach(async () => {
  await Promise.all(temps.splice(0).map((d) => fs.rm(d, { recursive: true, force: true })));
});

async function tempDir(): Promise<{ dir: string; root: string; configFile: string }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pgtaos-catalog-'));
  temps.push(dir);
  const root = path.join(dir, 'catalog');
  await fs.mkdir(root);
  return { dir, root, configFile: await writeConfigFile(dir) };
}

function run(command: 'prune' | 'status' | 'list', dir: string, configFile: string, dryRun = false): Promise<RunResult> {
  return runCommand({ command, configFile, dryRun }, { sink: silentSink, env: {}, cwd: dir });
}

/** prune's context for calling it directly (its report, or a plan of the test's own). */
function pruneCtx(dir: string, configFile: string, dryRun = false): RunContext {
  const { config, file } = loadConfig({ file: configFile, env: {}, cwd: dir });
  return testCtx({ config, configFile: file, request: { command: 'prune', dryRun } });
}

/** Every folder and file under root, relative, excluding logs (runs add those). */
async function tree(root: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(d: string): Promise<void> {
    for (const e of await fs.readdir(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      const rel = path.relative(root, p);
      if (rel === 'logs' || rel === '.lock') continue;
      out.push(rel);
      if (e.isDirectory()) await walk(p);
    }
  }
  await walk(root);
  return out.sort();
}

async function exists(p: string): Promise<boolean> {
  return fs.access(p).then(
    () => true,
    () => false,
  );
}

const ago = (days: number) => new Date(Date.now() - days * DAY_MS);

/** A catalog with something for every rule; returns what retention must remove. */
async function mixedCatalog(root: string): Promise<{ removed: string[]; kept: string[] }> {
  const sets: (FakeSet & { goes: boolean })[] = [
    { kind: 'daily', id: 'mystocks_20990101_000003', startedAt: ago(0.2), goes: false },
    { kind: 'daily', id: 'mystocks_20990102_000003', startedAt: ago(1), goes: false },
    { kind: 'daily', id: 'mystocks_20990103_000003', startedAt: ago(2), goes: false },
    // Names that sort as the newest, dated old: order is by started_at.
    { kind: 'daily', id: 'zzz_20991231_000003', startedAt: ago(8), goes: true },
    { kind: 'daily', id: 'mystocks_20000101_000003', startedAt: ago(9), goes: true },
    { kind: 'daily', id: 'mystocks_20000102_000003', startedAt: ago(10), verification: { result: 'passed', at: ago(1) }, goes: false },
    { kind: 'daily', id: 'mystocks_20000103_000003', startedAt: ago(12), goes: true },
    { kind: 'daily', id: 'mystocks_20000104_000003', startedAt: ago(20), verification: { result: 'passed', at: ago(18) }, goes: true },
    { kind: 'milestone', id: 'pre_arch_optimization_20230101', startedAt: ago(365 * 3), engines: ['postgres', 'tdengine'], goes: false },
    { kind: 'milestone', id: 'post_phase2_20240101', startedAt: ago(365 * 2), goes: false },
    { kind: 'safety', id: 'safety_mystocks_20250101_101010', startedAt: ago(365), goes: false },
    { kind: 'config', id: 'config_20990101_000000', startedAt: ago(1), goes: false },
    { kind: 'config', id: 'config_20000101_000000', startedAt: ago(40), goes: true },
    { kind: 'config', id: 'config_20000102_000000', startedAt: ago(50), goes: true },
  ];
  for (const s of sets) {
    const d = await writeFakeSet(root, s);
    // File times say the opposite of the manifests: prune must not care.
    const t = s.startedAt.getTime() < Date.now() - 5 * DAY_MS ? new Date() : new Date('2001-01-01T00:00:00Z');
    for (const f of [d, path.join(d, 'manifest.json')]) await fs.utimes(f, t, t);
  }
  await writeDamagedSet(root, 'daily', 'mystocks_20000105_000003');
  await writeStagingLeftover(root, 'mystocks_20990104_000003');
  return {
    removed: [...sets.filter((s) => s.goes).map((s) => `${s.kind}/${s.id}`), '.incomplete/mystocks_20990104_000003.999999'],
    kept: [...sets.filter((s) => !s.goes).map((s) => `${s.kind}/${s.id}`), 'daily/mystocks_20000105_000003'],
  };
}

describe('prune on a catalog on disk', () => {
  it('--dry-run deletes nothing and says what would go and why; a real run deletes exactly that', async () => {
    const { dir, root, configFile } = await tempDir();
    const { removed, kept } = await mixedCatalog(root);
    const before = await tree(root);

    const dry = await run('prune', dir, configFile, true);
    expect(dry.exit_code, dry.message).toBe(0);
    expect(await tree(root)).toEqual(before);
    expect(dry.message).toMatch(/^dry run: would remove 7 sets \(.+\) and keep 9; nothing was deleted$/);
    expect(dry.checks.map((c) => c.name).sort()).toEqual(removed.map((r) => `would remove ${path.basename(r).replace(/\.999999$/, '')}`).sort());
    expect(dry.checks.every((c) => c.result === 'skipped')).toBe(true);
    expect(dry.checks.find((c) => c.name === 'would remove mystocks_20000104_000003')?.detail).toMatch(/^daily, .*: daily, 20\.0 days old > 7 days$/);
    const dryLog = await fs.readFile(dry.log_path!, 'utf8');
    for (const r of removed) expect(dryLog).toContain(`at ${path.join(root, r)}: `);
    expect(dryLog).toMatch(/keep +mystocks_20000102_000003 \(daily\): newest postgres daily that passed verification/);
    expect(dryLog).toMatch(/keep +pre_arch_optimization_20230101 \(milestone\): milestone: kept forever/);
    expect(dryLog).toMatch(/keep +mystocks_20000105_000003 \(daily\): damaged: .*kept for a person to inspect/);

    const real = await run('prune', dir, configFile);
    expect(real.exit_code, real.message).toBe(0);
    expect(real.message).toMatch(/^removed 7 sets, freed \d+(\.\d)? (B|KiB); 9 sets kept$/);
    for (const r of removed) expect(await exists(path.join(root, r)), r).toBe(false);
    for (const k of kept) expect(await exists(path.join(root, k)), k).toBe(true);
    expect(await fs.readdir(path.join(root, '.incomplete'))).toEqual([]);
    expect(await tree(root)).toEqual(before.filter((p) => !removed.some((r) => p === r || p.startsWith(`${r}/`))));
    const realLog = await fs.readFile(real.log_path!, 'utf8');
    expect(realLog).toMatch(/removed zzz_20991231_000003 \(daily, \d+ B\) at \S+: daily, 8\.0 days old > 7 days/);
    expect(realLog).toMatch(/removed 7 sets, freed /);

    const again = await run('prune', dir, configFile);
    expect(again.message).toBe(`nothing to remove: 9 sets kept under ${root}`);
    const listed = await run('list', dir, configFile);
    expect(listed.sets?.length).toBe(9);
  });

  it('reports every decision with its size (the prune section of the result)', async () => {
    const { dir, root, configFile } = await tempDir();
    const { removed } = await mixedCatalog(root);
    const outcome = await prune(pruneCtx(dir, configFile, true));
    const p = outcome.prune!;
    expect(p.dry_run).toBe(true);
    expect(p.decisions).toHaveLength(16);
    const gone = p.decisions.filter((d) => d.action === 'remove');
    expect(gone.map((d) => path.relative(root, d.path)).sort()).toEqual([...removed].sort());
    expect(gone.every((d) => d.bytes > 0)).toBe(true);
    expect(p.freed_bytes).toBe(gone.reduce((a, d) => a + d.bytes, 0));
    expect(p.decisions.find((d) => d.id === 'pre_arch_optimization_20230101')).toMatchObject({ action: 'keep', reason: 'milestone: kept forever' });
    expect(await exists(path.join(root, removed[0]!))).toBe(true);
    // Each decision names its rule as a code beside the prose.
    expect(p.decisions.find((d) => d.id === 'pre_arch_optimization_20230101')?.rule).toBe('milestone');
    expect(new Set(gone.map((d) => d.rule))).toEqual(new Set(gone.map((d) => (d.path.includes('.incomplete') ? 'staging_leftover' : d.kind === 'config' ? 'config_days' : 'daily_days'))));
  });

  it('milestones years old survive even when they are all there is', async () => {
    const { dir, root, configFile } = await tempDir();
    await writeFakeSet(root, { kind: 'milestone', id: 'mvp_complete_20200101', startedAt: ago(365 * 6) });
    await writeFakeSet(root, { kind: 'milestone', id: 'pre_us3_refactor_20210101', startedAt: ago(365 * 5) });
    const r = await run('prune', dir, configFile);
    expect(r.exit_code).toBe(0);
    expect(r.message).toBe(`nothing to remove: 2 sets kept under ${root}`);
    expect(await exists(path.join(root, 'milestone', 'mvp_complete_20200101', 'mystocks.dump'))).toBe(true);
  });

  it('never deletes below keep_last when every daily is old', async () => {
    const { dir, root, configFile } = await tempDir();
    for (let i = 0; i < 6; i++) await writeFakeSet(root, { kind: 'daily', id: `mystocks_2020010${i + 1}_000003`, startedAt: ago(30 + i) });
    const r = await run('prune', dir, configFile);
    expect(r.exit_code).toBe(0);
    expect((await fs.readdir(path.join(root, 'daily'))).sort()).toEqual(['mystocks_20200101_000003', 'mystocks_20200102_000003', 'mystocks_20200103_000003']);
  });

  it('does nothing while another run holds the lock (its staging folder is not a leftover)', async () => {
    const { dir, root, configFile } = await tempDir();
    await writeStagingLeftover(root, 'mystocks_20990101_000003', 'daily', process.pid);
    await fs.writeFile(path.join(root, '.lock'), JSON.stringify({ pid: process.pid, hostname: os.hostname(), proc_start: procStart(process.pid), command: 'backup', started_at: new Date().toISOString() }));
    const r = await run('prune', dir, configFile);
    expect(r.exit_code).toBe(1);
    expect(r.error?.code).toBe('lock.held');
    expect(await fs.readdir(path.join(root, '.incomplete'))).toEqual([`mystocks_20990101_000003.${process.pid}`]);
  });
});

describe('prune backstops (retention never asks for these; they hold if it ever did)', () => {
  it('inside(): only paths strictly below the root', () => {
    expect(inside('/b/root', '/b/root/daily/x')).toBe(true);
    expect(inside('/b/root', '/b/root/.incomplete/x.1')).toBe(true);
    expect(inside('/b/root', '/b/root')).toBe(false);
    expect(inside('/b/root', '/b/root/')).toBe(false);
    expect(inside('/b/root', '/b/rootx/daily/x')).toBe(false);
    expect(inside('/b/root', '/b/root/../other/x')).toBe(false);
    expect(inside('/b/root', '/etc')).toBe(false);
  });

  for (const staging of [false, true]) {
    it(`removeSet refuses a folder outside the backup root, the root's parent and the root itself (${staging ? 'staging leftover' : 'set'}), removing nothing`, async () => {
      const { root } = await tempDir();
      const outside = path.join(`${root}x`, 'daily', 'mystocks_20200101_000003');
      await fs.mkdir(outside, { recursive: true });
      await fs.writeFile(path.join(outside, 'mystocks.dump'), 'not ours');
      for (const p of [outside, path.join(root, '..'), root]) {
        await expect(removeSet(root, { kind: 'daily', path: p }, staging)).rejects.toThrow(/is not under the backup root/);
      }
      expect(await fs.readFile(path.join(outside, 'mystocks.dump'), 'utf8')).toBe('not ours');
      expect(await exists(root)).toBe(true);
    });
  }

  for (const kind of ['milestone', 'safety'] as const) {
    it(`a plan that would remove a ${kind} set removes nothing at all (not even the dailies it also names)`, async () => {
      const { dir, root, configFile } = await tempDir();
      await writeFakeSet(root, { kind: 'daily', id: 'mystocks_20200101_000003', startedAt: ago(30) });
      const protectedId = kind === 'milestone' ? 'post_phase2_20200101' : 'safety_mystocks_20200101_000003';
      await writeFakeSet(root, { kind, id: protectedId, startedAt: ago(40) });
      await writeStagingLeftover(root, 'mystocks_20990101_000003');
      const before = await tree(root);
      // Every set removed, the protected one first-class among them.
      const faulty: typeof planRetention = (sets) => sets.map((s) => ({ id: s.id, kind: s.kind, path: s.path, action: 'remove' as const, rule: 'daily_days' as const, reason: 'a faulty plan' }));
      await expect(prune(pruneCtx(dir, configFile), faulty)).rejects.toThrow(`internal: retention planned to remove ${kind} set ${protectedId}; nothing was removed`);
      expect(await tree(root)).toEqual(before);
    });
  }

  it('a staging leftover whose marker says milestone is not a milestone: it may go', () => {
    expect(() => refuseProtectedRemovals([{ id: 'post_phase2_20261125', kind: 'milestone', path: '/b/.incomplete/post_phase2_20261125.42' }], () => true)).not.toThrow();
    expect(() => refuseProtectedRemovals([{ id: 'post_phase2_20261125', kind: 'milestone', path: '/b/milestone/post_phase2_20261125' }], () => false)).toThrow(/nothing was removed/);
  });
});

describe('status on a catalog on disk', () => {
  it('fails on a stale catalog, naming the figures', async () => {
    const { dir, root, configFile } = await tempDir();
    await writeFakeSet(root, { kind: 'daily', id: 'mystocks_20990101_000003', startedAt: ago(3), verification: { result: 'passed', at: ago(2) } });
    const r = await run('status', dir, configFile);
    expect(r.exit_code).toBe(1);
    expect(r.status).toBe('failure');
    const pg = r.checks.find((c) => c.name === 'postgres backup');
    expect(pg).toMatchObject({ result: 'failed', detail: expect.stringMatching(/^newest: mystocks_20990101_000003 \(daily\), started .*\+08:00, 72\.0 h old > 26 h/) });
    expect(r.message).toBe('status: 4 passed, 1 failed (postgres backup), 4 skipped');
    expect(r.log_path).toBeNull();
  });

  it('passes on a fresh, pruned, verified catalog; fails again when the last run logged an error', async () => {
    const { dir, root, configFile } = await tempDir();
    await mixedCatalog(root);
    await writeFakeSet(root, { kind: 'daily', id: 'mystocks_20990105_000003', startedAt: ago(0.1), verification: { result: 'passed', at: ago(0.05) } });
    const pruned = await run('prune', dir, configFile);
    expect(pruned.exit_code).toBe(0);
    let r = await run('status', dir, configFile);
    expect(r.checks.map((c) => [c.name, c.result])).toEqual([
      ['postgres backup', 'passed'],
      ['tdengine backup', 'skipped'],
      ['last run log', 'passed'],
      ['free space', 'passed'],
      ['last verification', 'passed'],
      ['retention applied', 'passed'],
      ['incomplete sets', 'failed'], // the damaged set waits for a person
      ['safety sets', 'passed'], // the mixed catalog holds a safety set
      ['milestones copied to every remote', 'skipped'], // no remotes: in this config
    ]);
    await fs.rm(path.join(root, 'daily', 'mystocks_20000105_000003'), { recursive: true });
    r = await run('status', dir, configFile);
    expect(r.exit_code, JSON.stringify(r.checks, null, 2)).toBe(0);
    expect(r.checks.find((c) => c.name === 'last run log')?.detail).toMatch(/^no ERROR lines in \d{8}_\d{6}-prune-\d+\.log \(prune\)$/);

    // A later backup run that failed: its log has ERROR lines.
    const failedLog = path.join(root, 'logs', '20990106_000003-backup-4242.log');
    await fs.writeFile(failedLog, `${new Date().toISOString()} INFO  pgtaos-backup: backup\n${new Date().toISOString()} ERROR pg_dump: error: connection to server failed\n`);
    r = await run('status', dir, configFile);
    expect(r.exit_code).toBe(1);
    expect(r.checks.find((c) => c.name === 'last run log')).toMatchObject({ result: 'failed', detail: expect.stringContaining('20990106_000003-backup-4242.log (backup) has 1 ERROR line(s), first: pg_dump: error: connection to server failed') });
  });

  it('fails when retention is overdue, naming the sets', async () => {
    const { dir, root, configFile } = await tempDir();
    // Removable since before the last max_age_hours: three newer sets existed already then.
    await writeFakeSet(root, { kind: 'daily', id: 'mystocks_20990105_000003', startedAt: ago(0.1), verification: { result: 'passed', at: ago(0.05) } });
    for (let i = 0; i < 3; i++) await writeFakeSet(root, { kind: 'daily', id: `mystocks_2099010${i + 1}_000003`, startedAt: ago(i * 0.5 + 1.2) });
    await writeFakeSet(root, { kind: 'daily', id: 'mystocks_20000101_000003', startedAt: ago(15) });
    const r = await run('status', dir, configFile);
    expect(r.exit_code).toBe(1);
    expect(r.message).toBe('status: 4 passed, 1 failed (retention applied), 4 skipped');
    expect(r.checks.find((c) => c.name === 'retention applied')).toMatchObject({ result: 'failed', detail: expect.stringMatching(/^1 set\(s\) should have been removed: mystocks_20000101_000003 \(daily, 15\.0 days old > 7 days\)/) });
  });
});

describe('a catalog of 1,000 sets', () => {
  it('list, prune --dry-run, status and prune each finish (durations printed; target 1 s, measured by bench/)', async () => {
    const { dir, root, configFile } = await tempDir();
    const sets = manySets(1000, new Date());
    await writeFakeSets(root, sets, { fast: true });
    const timings: string[] = [];
    const timed = async (label: string, f: () => Promise<RunResult>) => {
      const t0 = performance.now();
      const r = await f();
      timings.push(`${label}: ${(performance.now() - t0).toFixed(0)} ms (exit ${r.exit_code})`);
      return r;
    };
    const l = await timed('list', () => run('list', dir, configFile));
    expect(l.sets).toHaveLength(1000);
    const dry = await timed('prune --dry-run', () => run('prune', dir, configFile, true));
    expect(dry.exit_code).toBe(0);
    const going = dry.checks.length;
    expect(going).toBeGreaterThan(500);
    const st = await timed('status', () => run('status', dir, configFile));
    expect(st.checks.find((c) => c.name === 'retention applied')?.result).toBe('failed');
    const real = await timed('prune', () => run('prune', dir, configFile));
    expect(real.exit_code).toBe(0);
    const after = await timed('list after prune', () => run('list', dir, configFile));
    expect(after.sets).toHaveLength(1000 - going);
    console.log(`1,000-set catalog (${going} removed):\n  ${timings.join('\n  ')}`);
  });
});

describe('prune reads weeks in the configured time zone', () => {
  it('keep_weekly: a Monday 00:00:03 daily in Asia/Shanghai holds its own week (in UTC it would share Sunday\'s)', async () => {
    const { dir, root } = await tempDir();
    const configFile = await writeConfigFile(dir, 'retention:\n  keep_last: 1\n  keep_weekly: 3\n');
    const verified = (at: string) => ({ result: 'passed' as const, at: new Date(at) });
    const sunday = { kind: 'daily' as const, id: 'mystocks_20261220_000003', startedAt: new Date('2026-12-19T16:00:03Z'), verification: verified('2026-12-19T17:00:00Z') };
    const monday = { kind: 'daily' as const, id: 'mystocks_20261221_000003', startedAt: new Date('2026-12-20T16:00:03Z'), verification: verified('2026-12-20T17:00:00Z') };
    const newest = { kind: 'daily' as const, id: 'mystocks_20261230_000003', startedAt: new Date('2026-12-29T16:00:03Z'), verification: verified('2026-12-29T17:00:00Z') };
    for (const s of [sunday, monday, newest]) await writeFakeSet(root, s);
    const { config, file } = loadConfig({ file: configFile, env: {}, cwd: dir });
    const ctx = testCtx({ config, configFile: file, request: { command: 'prune', dryRun: true }, now: () => new Date('2026-12-31T04:00:00Z') });
    const decisions = (await prune(ctx)).prune!.decisions;
    const rule = (id: string) => decisions.find((d) => d.id === id)?.rule;
    expect([rule(newest.id), rule(monday.id), rule(sunday.id)]).toEqual(['keep_last', 'keep_weekly', 'keep_weekly']);
    expect(decisions.find((d) => d.id === sunday.id)?.reason).toContain('2026-W51');
  });
});
