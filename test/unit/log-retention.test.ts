/**
 * Run logs and JSON reports under <root>/logs follow retention.log_days (default 30), applied by
 * prune (and listed by prune --dry-run); the running prune's files and the lock holder's are never
 * removed; files that are not a run's log or report are never touched.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { planLogRetention, type LogFile } from '../../src/catalog/logs.js';
import { pruneLogs } from '../../src/commands/prune-logs.js';
import { prune, pruneMessage } from '../../src/commands/prune.js';
import { runCommand } from '../../src/run.js';
import { loadConfig } from '../../src/inputs/config.js';
import { silentSink } from '../../src/report/log.js';
import { DAY_MS, writeConfigFile } from '../helpers/fake-catalog.js';
import { testCtx } from '../helpers/run-context.js';
import { liveLockInfo } from '../helpers/tool.js';

const NOW = new Date('2026-11-25T08:00:00.000Z');
const temps: string[] = [];
afterEach(async () => {
  await Promise.all(temps.splice(0).map((d) => fs.rm(d, { recursive: true, force: true })));
});

function file(name: string, ageDays: number): LogFile {
  return { name, path: `/b/logs/${name}`, bytes: 100, mtimeMs: NOW.getTime() - ageDays * DAY_MS };
}

describe('planLogRetention (pure)', () => {
  it('older than log_days (by last write) goes; within it stays; a live run keeps its files whatever their age', () => {
    const files = [file('20261001_000003-backup-10.log', 55), file('20261001_000003-backup-10.json', 55), file('20261120_000003-backup-11.log', 5), file('20261001_000500-prune-77.log', 55), file('20261001_000600-verify-88.json', 31)];
    const plan = planLogRetention(files, { logDays: 30, now: NOW, live: [{ command: 'prune', pid: 77, why: 'this run' }] });
    expect(plan.map((d) => [d.name, d.action])).toEqual([
      ['20261001_000003-backup-10.log', 'remove'],
      ['20261001_000003-backup-10.json', 'remove'],
      ['20261120_000003-backup-11.log', 'keep'],
      ['20261001_000500-prune-77.log', 'keep'],
      ['20261001_000600-verify-88.json', 'remove'],
    ]);
    expect(plan[0]!.reason).toBe('last written 2026-10-01T08:00:00.000Z, more than log_days 30 ago');
    expect(plan[3]!.reason).toBe('this run (pid 77)');
  });

  it('the live run is matched by command and pid both: another command with the same pid is judged by age', () => {
    const plan = planLogRetention([file('20261001_000003-backup-77.log', 40)], { logDays: 30, now: NOW, live: [{ command: 'prune', pid: 77, why: 'this run' }] });
    expect(plan[0]!.action).toBe('remove');
  });
});

async function catalog(extraConfig = ''): Promise<{ dir: string; root: string; logs: string; configFile: string }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pgtaos-logs-'));
  temps.push(dir);
  const root = path.join(dir, 'catalog');
  const logs = path.join(root, 'logs');
  await fs.mkdir(logs, { recursive: true });
  return { dir, root, logs, configFile: await writeConfigFile(dir, extraConfig) };
}

/** A log file last written `ageDays` ago (before the real now: runCommand uses the clock). */
async function oldFile(logs: string, name: string, ageDays: number): Promise<string> {
  const p = path.join(logs, name);
  await fs.writeFile(p, `${name}\n`);
  const t = new Date(Date.now() - ageDays * DAY_MS);
  await fs.utimes(p, t, t);
  return p;
}

describe('prune removes old run logs and reports', () => {
  it('--dry-run lists what would go and removes nothing; prune removes exactly that; other files are never touched', async () => {
    const { dir, root, logs, configFile } = await catalog('retention:\n  log_days: 10\n');
    const gone = [await oldFile(logs, '20261001_000003-backup-101.log', 12), await oldFile(logs, '20261001_000003-backup-101.json', 12), await oldFile(logs, '20261002_000003-status-102.json', 40)];
    const stay = [await oldFile(logs, '20261110_000003-backup-103.log', 9)];
    // Not a run's file: a person's note, a link named like a log (never followed), a folder.
    const outside = path.join(dir, 'elsewhere.log');
    await fs.writeFile(outside, 'keep me');
    const foreign = [await oldFile(logs, 'notes.txt', 400)];
    const link = path.join(logs, '20200101_000000-backup-1.log');
    await fs.symlink(outside, link);
    const folder = path.join(logs, '20200101_000000-backup-2.json');
    await fs.mkdir(folder);
    const long = new Date(Date.now() - 400 * DAY_MS);
    await fs.lutimes(link, long, long);
    await fs.utimes(folder, long, long);
    const before = (await fs.readdir(logs)).sort();

    const dry = await runCommand({ command: 'prune', configFile, dryRun: true }, { sink: silentSink, env: {}, cwd: dir });
    expect(dry.exit_code, dry.message).toBe(0);
    expect(dry.message).toBe(`nothing to remove: 0 sets kept under ${root}; would remove 3 log files older than 10 days (${dry.prune!.logs!.freed_bytes} B)`);
    expect(dry.prune?.logs?.removed.map((r) => r.name).sort()).toEqual(gone.map((g) => path.basename(g)).sort());
    expect(dry.prune?.logs?.log_days).toBe(10);
    const dryLog = await fs.readFile(dry.log_path!, 'utf8');
    expect(dryLog).toMatch(/== logs older than 10 days: would remove 3 of \d+/);
    expect(dryLog).toMatch(/would remove log 20261002_000003-status-102\.json \(\d+ B\): last written \S+, more than log_days 10 ago/);
    // Nothing removed: the dry run only added its own log and report.
    expect((await fs.readdir(logs)).filter((n) => !before.includes(n)).every((n) => n.includes(`-prune-${process.pid}.`))).toBe(true);
    for (const g of gone) await expect(fs.access(g)).resolves.toBeUndefined();

    const real = await runCommand({ command: 'prune', configFile }, { sink: silentSink, env: {}, cwd: dir });
    expect(real.exit_code, real.message).toBe(0);
    expect(real.message).toMatch(/; removed 3 log files older than 10 days \(\d+ B\)$/);
    for (const g of gone) await expect(fs.access(g), g).rejects.toThrow();
    for (const s of [...stay, ...foreign, outside]) await expect(fs.access(s), s).resolves.toBeUndefined();
    expect((await fs.lstat(path.join(logs, '20200101_000000-backup-1.log'))).isSymbolicLink()).toBe(true);
    expect((await fs.stat(path.join(logs, '20200101_000000-backup-2.json'))).isDirectory()).toBe(true);
    // This run's own log and report, and the dry run's (written seconds ago), are there.
    await expect(fs.access(real.log_path!)).resolves.toBeUndefined();
    await expect(fs.access(real.report_path!)).resolves.toBeUndefined();
    await expect(fs.access(dry.report_path!)).resolves.toBeUndefined();
  });

  it('default log_days is 30', async () => {
    const { dir, logs, configFile } = await catalog();
    const old = await oldFile(logs, '20261001_000003-backup-5.log', 31);
    const young = await oldFile(logs, '20261101_000003-backup-6.log', 29);
    const r = await runCommand({ command: 'prune', configFile }, { sink: silentSink, env: {}, cwd: dir });
    expect(r.prune?.logs).toMatchObject({ log_days: 30, removed: [{ name: path.basename(old) }] });
    await expect(fs.access(young)).resolves.toBeUndefined();
  });

  it("never the running prune's own files, nor those of the run holding the lock, however old they look", async () => {
    const { dir, root, logs, configFile } = await catalog('retention:\n  log_days: 1\n');
    // A clock set back, a file copied in: the names say whose they are.
    const own = [await oldFile(logs, `20250101_000003-prune-${process.pid}.log`, 50), await oldFile(logs, `20250101_000003-prune-${process.pid}.json`, 50)];
    const holders = [await oldFile(logs, `20250101_000003-verify-${process.pid}.log`, 50)];
    const other = await oldFile(logs, '20250101_000003-verify-4242.log', 50);
    await fs.writeFile(path.join(root, '.lock'), JSON.stringify(liveLockInfo({ command: 'verify' })));
    const { config, file } = loadConfig({ file: configFile, env: {}, cwd: dir });
    const out = await pruneLogs(testCtx({ config, configFile: file, request: { command: 'prune' } }), false);
    expect(out.problems).toEqual([]);
    expect(out.report.removed.map((r) => r.name)).toEqual([path.basename(other)]);
    for (const f of [...own, ...holders]) await expect(fs.access(f), f).resolves.toBeUndefined();
  });

  it('a log that cannot be removed is a problem that fails the prune (exit 1), naming it', async () => {
    const { dir, root, logs, configFile } = await catalog('retention:\n  log_days: 1\n');
    const stuck = await oldFile(logs, '20250101_000003-backup-9.log', 5);
    const fine = await oldFile(logs, '20250101_000003-backup-8.log', 5);
    const { config, file } = loadConfig({ file: configFile, env: {}, cwd: dir });
    const ctx = testCtx({ config, configFile: file, request: { command: 'prune' } });
    const denied = (p: string) => (p === stuck ? Promise.reject(Object.assign(new Error(`EACCES: permission denied, unlink '${p}'`), { code: 'EACCES' })) : fs.unlink(p));
    const out = await pruneLogs(ctx, false, denied);
    expect(out.problems).toEqual([`could not remove the log ${stuck}: EACCES: permission denied, unlink '${stuck}'`]);
    expect(out.report).toMatchObject({ removed: [{ name: path.basename(fine) }], kept: 1 });
    const message = pruneMessage({ root, dryRun: false, removals: 0, kept: 0, freed: 0, problems: [], logs: out });
    expect(message).toBe(`1 log files could not be removed (0 B freed; removed 1 log files older than 1 days (${out.report.freed_bytes} B)): ${out.problems[0]}`);
    // Through the command: the outcome is a failure (exit 1), with that message.
    await oldFile(logs, '20250101_000003-backup-7.log', 5);
    const outcome = await prune(ctx, undefined, denied);
    expect(outcome.failed).toBe(true);
    expect(outcome.message).toMatch(/^1 log files could not be removed .*could not remove the log .*backup-9\.log: EACCES/);
  });
});
