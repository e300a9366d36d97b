/**
 * The action's report artifact (upload-report, report-retention-days, on-report-error) through
 * main.run() in this process, with a fake ReportUploader that records what it is given: the
 * artifact's name and files, the skip without an Actions runtime, and a failed upload failing the
 * step unless on-report-error is warn. (test/e2e/report-action.test.ts runs the bundle with the
 * real @actions/artifact client.)
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { run } from '../../src/main.js';
import { ACTION_INPUTS } from '../../src/inputs/options.js';
import { artifactName, uploadReport, type ReportUploader, type UploadOptions } from '../../src/report/artifact.js';
import { runResultSchema, type RunResult } from '../../src/report/result.js';
import { findPgBinDir, freePort } from '../helpers/pg-common.js';
import { startResultsService } from '../helpers/results-service.js';
import { DAY_MS, writeFakeSet } from '../helpers/fake-catalog.js';

interface Call {
  name: string;
  files: string[];
  rootDirectory: string;
  options: UploadOptions;
}

function fakeUploader(fail?: string): ReportUploader & { calls: Call[] } {
  const calls: Call[] = [];
  return {
    calls,
    upload(name, files, rootDirectory, options) {
      calls.push({ name, files, rootDirectory, options });
      return fail ? Promise.reject(new Error(fail)) : Promise.resolve({ id: 123, size: 456 });
    },
  };
}

const temps: string[] = [];
const savedEnv = { ...process.env };
// @actions/core's summary remembers the first GITHUB_STEP_SUMMARY it saw: one file for the whole file.
let summaryFile = '';
beforeAll(async () => {
  summaryFile = path.join(await fs.mkdtemp(path.join(os.tmpdir(), 'pgtaos-summary-')), 'step_summary');
});
afterAll(async () => {
  await fs.rm(path.dirname(summaryFile), { recursive: true, force: true });
});
let stdout: string[] = [];
beforeEach(() => {
  stdout = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout.push(String(chunk));
    return true;
  });
});
afterEach(async () => {
  vi.restoreAllMocks();
  process.env = { ...savedEnv };
  process.exitCode = undefined;
  await Promise.all(temps.splice(0).map((d) => fs.rm(d, { recursive: true, force: true })));
});

async function workspace(config: Record<string, unknown> = {}): Promise<{ dir: string; root: string; configFile: string; output: string; summary: string }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pgtaos-action-report-'));
  temps.push(dir);
  const root = path.join(dir, 'backups');
  await fs.mkdir(path.join(root, 'logs'), { recursive: true });
  const configFile = path.join(dir, 'pgtaos-backup.yml');
  await fs.writeFile(configFile, stringify({ root, timezone: 'Asia/Shanghai', min_free_gb: 0, postgres: { database: 'mystocks' }, ...config }));
  const output = path.join(dir, 'github_output');
  const summary = summaryFile;
  await fs.writeFile(output, '');
  await fs.writeFile(summary, '');
  return { dir, root, configFile, output, summary };
}

/** Sets the environment as the runner would: every declared input (value or default), the file commands. */
function runnerEnv(ws: { dir: string; output: string; summary: string }, inputs: Record<string, string>, extra: NodeJS.ProcessEnv = {}): void {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, GITHUB_ACTIONS: 'true', GITHUB_OUTPUT: ws.output, GITHUB_STEP_SUMMARY: ws.summary, RUNNER_TEMP: ws.dir, ...extra };
  for (const [name, spec] of Object.entries(ACTION_INPUTS)) env[`INPUT_${name.toUpperCase()}`] = inputs[name] ?? spec.default ?? '';
  process.env = env;
}

const RUNTIME = { ACTIONS_RUNTIME_TOKEN: 'not-a-real-token', ACTIONS_RESULTS_URL: 'http://127.0.0.1:9/' };

async function outputs(file: string): Promise<Record<string, string>> {
  const text = await fs.readFile(file, 'utf8');
  const out: Record<string, string> = {};
  const re = /^([^<\n]+)<<(.+)\n([\s\S]*?)\n\2$/gm;
  for (const m of text.matchAll(re)) out[m[1]!] = m[3]!;
  return out;
}

describe('artifact name', () => {
  it('pgtaos-backup-<command>-<set id>-<UTC start>; no-set without a set; characters the service refuses replaced', () => {
    expect(artifactName({ command: 'backup', set: { id: 'mystocks_20261126_000003', kind: 'daily', path: '/x', bytes: 1 }, started_at: '2026-11-25T16:00:03.120Z' })).toBe('pgtaos-backup-backup-mystocks_20261126_000003-20261125T160003Z');
    expect(artifactName({ command: 'status', set: null, started_at: '2026-11-25T16:00:03.120Z' })).toBe('pgtaos-backup-status-no-set-20261125T160003Z');
    expect(artifactName({ command: 'a/b:c"d', set: null, started_at: '2026-11-25T16:00:03Z' })).toBe('pgtaos-backup-a_b_c_d-no-set-20261125T160003Z');
  });
});

describe('uploadReport', () => {
  it('passes the report and the log, their folder, and the retention days; 0 days means the repository default', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pgtaos-up-'));
    temps.push(dir);
    const report = path.join(dir, 'logs', 'r.json');
    const logFile = path.join(dir, 'logs', 'r.log');
    await fs.mkdir(path.dirname(report));
    await fs.writeFile(report, '{}');
    await fs.writeFile(logFile, 'x');
    const result = { command: 'verify', set: null, started_at: '2026-11-25T16:00:03.120Z', report_path: report, log_path: logFile } as unknown as RunResult;
    const up = fakeUploader();
    expect((await uploadReport(result, { uploader: up, env: RUNTIME, retentionDays: 14 })).status).toBe('uploaded');
    await uploadReport(result, { uploader: up, env: RUNTIME, retentionDays: 0 });
    expect(up.calls).toEqual([
      { name: 'pgtaos-backup-verify-no-set-20261125T160003Z', files: [report, logFile], rootDirectory: path.join(dir, 'logs'), options: { retentionDays: 14 } },
      { name: 'pgtaos-backup-verify-no-set-20261125T160003Z', files: [report, logFile], rootDirectory: path.join(dir, 'logs'), options: {} },
    ]);
  });

  it('files in different folders: their common folder is the root', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pgtaos-up-'));
    temps.push(dir);
    await fs.mkdir(path.join(dir, 'a'));
    await fs.mkdir(path.join(dir, 'b'));
    await fs.writeFile(path.join(dir, 'a', 'r.json'), '{}');
    await fs.writeFile(path.join(dir, 'b', 'r.log'), 'x');
    const up = fakeUploader();
    const result = { command: 'list', set: null, started_at: '2026-11-25T16:00:03Z', report_path: path.join(dir, 'a', 'r.json'), log_path: path.join(dir, 'b', 'r.log') } as unknown as RunResult;
    await uploadReport(result, { uploader: up, env: RUNTIME, retentionDays: 0 });
    expect(up.calls[0]?.rootDirectory).toBe(dir);
  });

  it('skipped, uploader untouched, without ACTIONS_RUNTIME_TOKEN / ACTIONS_RESULTS_URL', async () => {
    const up = fakeUploader();
    const r = await uploadReport({ command: 'list', set: null, started_at: '2026-11-25T16:00:03Z', report_path: null, log_path: null } as unknown as RunResult, { uploader: up, env: {}, retentionDays: 0 });
    expect(r.status).toBe('skipped');
    expect(r.message).toContain('ACTIONS_RUNTIME_TOKEN and ACTIONS_RESULTS_URL are not set');
    expect(up.calls).toEqual([]);
  });
});

describe('the action with upload-report: true', () => {
  it('a good run: the report goes up as pgtaos-backup-list-no-set-..., retention days passed, the summary says so', async () => {
    const ws = await workspace();
    runnerEnv(ws, { command: 'list', config: ws.configFile, 'upload-report': 'true', 'report-retention-days': '5' }, RUNTIME);
    const up = fakeUploader();
    const code = await run({ uploader: up });
    expect(code).toBe(0);
    const out = await outputs(ws.output);
    expect(out.status).toBe('success');
    const report = JSON.parse(await fs.readFile(out['report-path']!, 'utf8')) as RunResult;
    expect(runResultSchema.parse(report)).toEqual(report);
    expect(path.dirname(out['report-path']!)).toBe(path.join(ws.root, 'logs'));
    expect(up.calls).toHaveLength(1);
    expect(up.calls[0]!.name).toMatch(/^pgtaos-backup-list-no-set-\d{8}T\d{6}Z$/);
    expect(up.calls[0]!.files).toEqual([out['report-path']]);
    expect(up.calls[0]!.rootDirectory).toBe(path.join(ws.root, 'logs'));
    expect(up.calls[0]!.options).toEqual({ retentionDays: 5 });
    expect(await fs.readFile(ws.summary, 'utf8')).toContain(`report artifact ${up.calls[0]!.name} uploaded`);
  });

  it('a failed backup: its report and its log go up, the step fails for the backup', async () => {
    const ws = await workspace({ postgres: { host: '127.0.0.1', port: await freePort(), database: 'mystocks', bin_dir: findPgBinDir() } });
    runnerEnv(ws, { command: 'backup', config: ws.configFile, 'upload-report': 'true' }, RUNTIME);
    const up = fakeUploader();
    expect(await run({ uploader: up })).toBe(1);
    const out = await outputs(ws.output);
    expect(out.status).toBe('failure');
    const files = up.calls[0]!.files;
    expect(files.map((f) => path.extname(f))).toEqual(['.json', '.log']);
    expect(files[0]).toBe(out['report-path']);
    expect(await fs.readFile(files[1]!, 'utf8')).toContain('cannot connect to PostgreSQL');
    expect(up.calls[0]!.name).toMatch(/^pgtaos-backup-backup-no-set-\d{8}T\d{6}Z$/);
  });

  it('a failed upload fails the step of a good run (on-report-error: fail, the default); outputs still say the run succeeded', async () => {
    const ws = await workspace();
    runnerEnv(ws, { command: 'list', config: ws.configFile, 'upload-report': 'true' }, RUNTIME);
    const code = await run({ uploader: fakeUploader('Failed to CreateArtifact: 503 Service Unavailable') });
    expect(code).toBe(1);
    expect((await outputs(ws.output)).status).toBe('success');
    const printed = stdout.join('');
    expect(printed).toMatch(/::error::report artifact pgtaos-backup-list-no-set-\S+ could not be uploaded: Failed to CreateArtifact: 503 Service Unavailable\. The list itself succeeded; set on-report-error: warn/);
    expect(process.exitCode).toBe(1);
  });

  it('on-report-error: warn keeps a failed upload from failing the step (a warning instead)', async () => {
    const ws = await workspace();
    runnerEnv(ws, { command: 'list', config: ws.configFile, 'upload-report': 'true', 'on-report-error': 'warn' }, RUNTIME);
    const code = await run({ uploader: fakeUploader('network down') });
    expect(code).toBe(0);
    expect(stdout.join('')).toMatch(/::warning::report artifact \S+ could not be uploaded: network down \(on-report-error: warn/);
    expect(process.exitCode).toBeUndefined();
  });

  it('outside a runner (no ACTIONS_RUNTIME_TOKEN): skipped with a notice, the step unaffected', async () => {
    const ws = await workspace();
    runnerEnv(ws, { command: 'list', config: ws.configFile, 'upload-report': 'true' });
    const up = fakeUploader();
    expect(await run({ uploader: up })).toBe(0);
    expect(up.calls).toEqual([]);
    expect(stdout.join('')).toContain('::notice::report artifact not uploaded: ACTIONS_RUNTIME_TOKEN and ACTIONS_RESULTS_URL are not set');
  });

  it('upload-report: false uploads nothing', async () => {
    const ws = await workspace();
    runnerEnv(ws, { command: 'list', config: ws.configFile }, RUNTIME);
    const up = fakeUploader();
    expect(await run({ uploader: up })).toBe(0);
    expect(up.calls).toEqual([]);
    // Not asked for, list writes no report under <root>/logs: report-path is the action's own, in RUNNER_TEMP.
    expect(path.dirname((await outputs(ws.output))['report-path']!)).toBe(ws.dir);
  });

  it('bad inputs still leave a valid report (in RUNNER_TEMP) behind report-path', async () => {
    const ws = await workspace();
    runnerEnv(ws, { command: 'backupp' });
    expect(await run({ uploader: fakeUploader() })).toBe(2);
    const out = await outputs(ws.output);
    expect(path.dirname(out['report-path']!)).toBe(ws.dir);
    const report = JSON.parse(await fs.readFile(out['report-path']!, 'utf8')) as RunResult;
    expect(runResultSchema.parse(report)).toEqual(report);
    expect(report.error?.code).toBe('input.invalid');
    expect(report.report_path).toBe(out['report-path']);
  });
});

describe('the action running status', () => {
  /** A catalog whose nightly stopped 3 days ago and whose last verification is 10 days old. */
  async function staleCatalog(root: string): Promise<void> {
    const now = Date.now();
    await writeFakeSet(root, { kind: 'daily', id: 'mystocks_20261122_000003', startedAt: new Date(now - 3 * DAY_MS), verification: { result: 'passed', at: new Date(now - 10 * DAY_MS) } });
    await writeFakeSet(root, { kind: 'daily', id: 'mystocks_20261121_000003', startedAt: new Date(now - 4 * DAY_MS) });
  }

  it('a stale catalog: the step fails, and the checklist rows reach the job summary with their figures', async () => {
    const ws = await workspace();
    await staleCatalog(ws.root);
    runnerEnv(ws, { command: 'status', config: ws.configFile });
    expect(await run({ uploader: fakeUploader() })).toBe(1);
    expect(process.exitCode).toBe(1);
    const out = await outputs(ws.output);
    expect(out.status).toBe('failure');
    const summary = await fs.readFile(ws.summary, 'utf8');
    expect(summary).toContain('## ⚠️ pgtaos-backup status: failure (backups are stale)');
    expect(summary).toContain('**Stale:** `postgres backup`, `last verification`');
    expect(summary).toContain('### Checks');
    expect(summary).toContain('| check | result | detail |');
    expect(summary).toMatch(/^\| postgres backup \| ❌ failed \| newest: mystocks_20261122_000003 \(daily\), started \S+, 72\.\d h old > 26 h; 2 complete set\(s\) hold a PostgreSQL dump of mystocks \|$/m);
    expect(summary).toMatch(/^\| last verification \| ❌ failed \| mystocks_20261122_000003 verified \S+: passed, 10\.0 days ago > 8 days \|$/m);
    expect(summary).toMatch(/^\| free space \| ✅ passed \| .+ free on .+ >= min_free_gb 0 /m);
    // Failed rows first, so they are seen before the passing ones.
    expect(summary.indexOf('| last verification | ❌')).toBeLessThan(summary.indexOf('| free space | ✅'));
    expect(stdout.join('')).toMatch(/::error::status failure: status: \d+ passed, 2 failed \(postgres backup, last verification\)/);
  });

  it('a fresh catalog: exit 0, every row in the summary', async () => {
    const ws = await workspace();
    const now = Date.now();
    await writeFakeSet(ws.root, { kind: 'daily', id: 'mystocks_20261125_000003', startedAt: new Date(now - 2 * 3_600_000), verification: { result: 'passed', at: new Date(now - 3_600_000) } });
    runnerEnv(ws, { command: 'status', config: ws.configFile });
    expect(await run({ uploader: fakeUploader() })).toBe(0);
    const summary = await fs.readFile(ws.summary, 'utf8');
    for (const name of ['postgres backup', 'tdengine backup', 'last run log', 'free space', 'last verification', 'retention applied', 'incomplete sets', 'safety sets']) expect(summary).toMatch(new RegExp(`^\\| ${name} \\| (✅ passed|skipped) \\|`, 'm'));
  });

  it('upload-report: status writes no run log, so its artifact holds the JSON report alone (every row and warning is in it)', async () => {
    const ws = await workspace();
    await staleCatalog(ws.root);
    runnerEnv(ws, { command: 'status', config: ws.configFile, 'upload-report': 'true' }, RUNTIME);
    const up = fakeUploader();
    expect(await run({ uploader: up })).toBe(1);
    const out = await outputs(ws.output);
    expect(up.calls).toHaveLength(1);
    expect(up.calls[0]!.name).toMatch(/^pgtaos-backup-status-no-set-\d{8}T\d{6}Z$/);
    expect(up.calls[0]!.files).toEqual([out['report-path']]);
    const report = JSON.parse(await fs.readFile(out['report-path']!, 'utf8')) as RunResult;
    expect(report.log_path).toBeNull();
    expect(report.checks.map((c) => c.name)).toEqual(expect.arrayContaining(['postgres backup', 'last verification']));
    expect(await fs.readdir(path.join(ws.root, 'logs'))).toEqual([path.basename(out['report-path']!)]);
  });
});

describe('the real @actions/artifact client, against a local stand-in of the results service', () => {
  it('uploads the report and log zipped under the artifact name, with the retention as an expiry', async () => {
    const svc = await startResultsService();
    try {
      const ws = await workspace({ postgres: { host: '127.0.0.1', port: await freePort(), database: 'mystocks', bin_dir: findPgBinDir() } });
      runnerEnv(ws, { command: 'backup', config: ws.configFile, 'upload-report': 'true', 'report-retention-days': '3' }, { ACTIONS_RUNTIME_TOKEN: svc.token, ACTIONS_RESULTS_URL: `${svc.url}/` });
      expect(await run()).toBe(1); // the backup failed; the upload did not
      const out = await outputs(ws.output);
      expect(svc.artifacts).toHaveLength(1);
      const a = svc.artifacts[0]!;
      expect(a.name).toMatch(/^pgtaos-backup-backup-no-set-\d{8}T\d{6}Z$/);
      expect(a.finalized).toBe(true);
      expect(Date.parse(a.expiresAt!) - Date.now()).toBeGreaterThan(2.9 * 86_400_000);
      const report = path.basename(out['report-path']!);
      expect([...a.files.keys()].sort()).toEqual([report, report.replace(/\.json$/, '.log')].sort());
      const uploaded = JSON.parse(a.files.get(report)!) as RunResult;
      expect(runResultSchema.parse(uploaded)).toEqual(uploaded);
      expect(uploaded.error?.code).toBe('postgres.unreachable');
      expect(stdout.join('')).not.toContain('::error::report artifact');
    } finally {
      await svc.close();
    }
  });

  it('a refusal from the service fails the step of a good run', async () => {
    const svc = await startResultsService();
    svc.fail = true;
    try {
      const ws = await workspace();
      runnerEnv(ws, { command: 'list', config: ws.configFile, 'upload-report': 'true' }, { ACTIONS_RUNTIME_TOKEN: svc.token, ACTIONS_RESULTS_URL: `${svc.url}/` });
      expect(await run()).toBe(1);
      expect(stdout.join('')).toMatch(/::error::report artifact \S+ could not be uploaded: Failed to CreateArtifact: Received non-retryable error: Failed request: \(400\)/);
    } finally {
      await svc.close();
    }
  });
});
