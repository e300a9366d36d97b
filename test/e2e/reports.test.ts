/**
 * Every command leaves a report that validates against its zod schema, on success and on failure,
 * against a real PostgreSQL (in-process runCommand, the code both the CLI and the action run):
 * the result returned, the JSON file under <root>/logs/, and a job summary that fits the runner's
 * 1 MiB limit. Also: the storage estimate, and the tail of pg_dump's stderr on a failed dump.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../src/run.js';
import { COMMANDS, type RunRequestInput } from '../../src/inputs/options.js';
import { runResultSchema, type RunResult } from '../../src/report/result.js';
import { MAX_SUMMARY_BYTES, renderSummary } from '../../src/report/summary.js';
import { silentSink } from '../../src/report/log.js';
import { procStart } from '../../src/catalog/lock.js';
import { startCluster, type Cluster } from '../helpers/pg-cluster.js';
import { freePort } from '../helpers/pg-common.js';
import { seedMarketData } from '../helpers/market-data.js';
import { workspace, type Workspace } from '../helpers/tool.js';
import os from 'node:os';

let pgc: Cluster;
beforeAll(async () => {
  pgc = await startCluster({ name: 'reports' });
  await pgc.createDb('mystocks');
  await seedMarketData(pgc, 'mystocks');
});
afterAll(async () => {
  await pgc?.destroy();
});

function env(): NodeJS.ProcessEnv {
  return { PATH: `${pgc.clientBinDir}:${process.env.PATH ?? '/usr/bin:/bin'}`, PGPASSWORD: pgc.password, HOME: process.env.HOME };
}

function run(ws: Workspace, input: Omit<RunRequestInput, 'configFile'>): Promise<RunResult> {
  return runCommand({ configFile: ws.configFile, ...input }, { sink: silentSink, env: env(), cwd: ws.dir });
}

/** The result, its file and its summary: valid, equal, readable. */
async function expectReport(r: RunResult, want: { command: string; status: RunResult['status']; file?: boolean }): Promise<void> {
  // parse() drops unknown keys and fills nothing in: equality means the document is exactly the schema's.
  expect(runResultSchema.parse(r)).toEqual(r);
  expect(r.command).toBe(want.command);
  expect(r.status, `${r.message}\n${JSON.stringify(r.checks, null, 1)}`).toBe(want.status);
  expect(r.events[0]).toBe(want.status === 'success' ? 'success' : 'failure');
  if (want.status !== 'success') expect(r.exit_code).not.toBe(0);
  if (want.file ?? true) {
    expect(r.report_path, `${want.command}: no report file`).not.toBeNull();
    const onDisk = JSON.parse(await fs.readFile(r.report_path!, 'utf8')) as unknown;
    expect(runResultSchema.parse(onDisk)).toEqual(onDisk);
    expect(onDisk).toEqual(r);
  }
  const md = renderSummary(r);
  expect(Buffer.byteLength(md)).toBeLessThan(MAX_SUMMARY_BYTES);
  expect(md).toContain(`pgtaos-backup ${r.command}: ${r.status}`);
  if (r.error) expect(md).toContain(r.error.message.split('\n')[0]!.replace(/\|/g, '\\|'));
}

describe('a report for every command', () => {
  it('success: backup, milestone, config, verify, list, status, prune --dry-run, prune, restore', async () => {
    const ws = workspace(pgc, 'mystocks');
    const base = path.join(ws.dir, 'app');
    await fs.mkdir(base);
    await fs.writeFile(path.join(base, '.env'), 'API_KEY=not-a-real-one\n');
    const nas = path.join(ws.dir, 'nas');
    await fs.mkdir(nas);
    await fs.writeFile(ws.configFile, `${await fs.readFile(ws.configFile, 'utf8')}config_files:\n  base_dir: ${base}\n  paths: [.env]\nremotes:\n  - {type: path, path: ${nas}, require_mount: false}\n`);

    const b = await run(ws, { command: 'backup' });
    await expectReport(b, { command: 'backup', status: 'success' });
    expect(b.engines.postgres?.tables.length).toBeGreaterThan(0);
    expect(b.storage).toMatchObject({ sets: { daily: 1 }, sample_days: 1, daily_bytes_per_day: b.set!.bytes, incomplete_sets: 0 });
    expect(b.storage!.days_of_dailies).toBe(Math.floor(b.storage!.free_bytes! / b.set!.bytes));
    expect(renderSummary(b)).toMatch(/storage estimate \| dailies ≈ .+\/day \(last 1 day\); about \*\*\d+ more days\*\* of dailies fit/);

    await expectReport(await run(ws, { command: 'milestone', milestone: 'post_phase2' }), { command: 'milestone', status: 'success' });
    await expectReport(await run(ws, { command: 'config' }), { command: 'config', status: 'success' });
    const v = await run(ws, { command: 'verify' });
    await expectReport(v, { command: 'verify', status: 'success' });
    const l = await run(ws, { command: 'list' });
    await expectReport(l, { command: 'list', status: 'success' });
    expect(l.storage?.sets).toEqual({ daily: 1, milestone: 1, config: 1, safety: 0 });
    const st = await run(ws, { command: 'status' });
    await expectReport(st, { command: 'status', status: 'success' });
    expect(st.stale).toEqual([]);
    expect(st.checks.length).toBeGreaterThan(0);
    await expectReport(await run(ws, { command: 'prune', dryRun: true }), { command: 'prune', status: 'success' });
    await expectReport(await run(ws, { command: 'prune' }), { command: 'prune', status: 'success' });
    await pgc.createDb('restored_reports');
    await expectReport(await run(ws, { command: 'restore', setId: b.set!.id, target: 'restored_reports', confirm: 'restored_reports' }), { command: 'restore', status: 'success' });
  });

  it('failure: every command (bad arguments, a held lock, a dead server, a damaged set, a stale catalog)', async () => {
    const ws = workspace(pgc, 'mystocks');
    const good = await run(ws, { command: 'backup' });
    expect(good.status).toBe('success');

    // A live run holds the lock: every writing command is refused, and says so in its report.
    const lockFile = path.join(ws.root, '.lock');
    await fs.writeFile(lockFile, JSON.stringify({ pid: process.pid, hostname: os.hostname(), proc_start: procStart(process.pid), command: 'backup', started_at: new Date().toISOString() }));
    for (const command of ['backup', 'verify', 'prune', 'config', 'import'] as const) {
      const r = await run(ws, { command, paths: ['/nonexistent'] });
      await expectReport(r, { command, status: 'failure' });
      expect(r.error?.code, command).toBe('lock.held');
    }
    await fs.rm(lockFile);

    // Bad arguments (exit 2), rejected before anything is touched.
    const usage: [RunRequestInput, string][] = [
      [{ command: 'restore', setId: good.set!.id, target: 'x_db', confirm: 'y_db' }, 'restore.not_confirmed'],
      [{ command: 'import' }, 'import.no_paths'],
      [{ command: 'config' }, 'config_files.missing_section'],
    ];
    for (const [input, code] of usage) {
      const r = await run(ws, input);
      await expectReport(r, { command: input.command, status: 'failure' });
      expect([r.exit_code, r.error?.code]).toEqual([2, code]);
    }
    // A bad milestone name is refused with the request, before the config is read: a result, no file.
    const badName = await run(ws, { command: 'milestone', milestone: 'Not A Name' });
    await expectReport(badName, { command: 'milestone', status: 'failure', file: false });
    expect([badName.exit_code, badName.error?.code]).toEqual([2, 'usage.invalid']);

    // Nothing listens on the port.
    const dead = await run(ws, { command: 'backup', overrides: { 'postgres-port': String(await freePort()) } });
    await expectReport(dead, { command: 'backup', status: 'failure' });
    expect(dead.error?.code).toBe('postgres.unreachable');

    // A flipped byte: verify fails and names the file; status then finds the verification failed (stale).
    const dump = path.join(good.set!.path, 'mystocks.dump');
    const fh = await fs.open(dump, 'r+');
    await fh.write(Buffer.from([0x42]), 0, 1, 1000);
    await fh.close();
    const v = await run(ws, { command: 'verify' });
    await expectReport(v, { command: 'verify', status: 'failure' });
    expect(v.checks.find((c) => c.result === 'failed')?.name).toBe('checksum mystocks.dump');
    const st = await run(ws, { command: 'status' });
    await expectReport(st, { command: 'status', status: 'failure' });
    expect(st.stale).toContain('last verification');
    expect(st.events).toEqual(['failure', 'stale']);

    // list and status on a root that is a file: an internal error, still a valid result (no report file: no logs/ folder).
    const notDir = workspace(pgc, 'mystocks', { root: path.join(ws.dir, 'pgtaos-backup.yml') });
    for (const command of ['list', 'status'] as const) {
      const r = await runCommand({ command, configFile: notDir.configFile }, { sink: silentSink, env: env(), cwd: notDir.dir });
      await expectReport(r, { command, status: 'failure', file: false });
    }
  });

  it('a config error (exit 2, no root known) still gives every command a valid result', async () => {
    const ws = workspace(pgc, 'mystocks', { unknown_key: 1 });
    for (const command of COMMANDS) {
      const r = await run(ws, { command, ...(command === 'milestone' ? { milestone: 'post_phase2' } : {}) });
      await expectReport(r, { command, status: 'failure', file: false });
      expect([r.exit_code, r.error?.code]).toEqual([2, 'config.invalid']);
      expect(r.storage).toBeNull();
    }
  });
});

describe('a failed dump carries the tail of pg_dump stderr', () => {
  it('pg_dump refused one table (permission denied): stderr_tail in the report and the summary', async () => {
    // A role that may read every table but one: pg_dump itself fails, with its error on stderr.
    const password = 'limited-role-pw-8812';
    await pgc.query(`DROP ROLE IF EXISTS limited; CREATE ROLE limited LOGIN PASSWORD '${password}'`);
    await pgc.query('GRANT USAGE ON SCHEMA public TO limited; GRANT SELECT ON ALL TABLES IN SCHEMA public TO limited; REVOKE SELECT ON public.daily_bars FROM limited', 'mystocks');
    const ws = workspace(pgc, 'mystocks');
    await fs.writeFile(ws.configFile, (await fs.readFile(ws.configFile, 'utf8')).replace(/user: \S+/, 'user: limited'));
    const r = await runCommand({ command: 'backup', configFile: ws.configFile }, { sink: silentSink, env: { ...env(), PGPASSWORD: password }, cwd: ws.dir });
    await expectReport(r, { command: 'backup', status: 'failure' });
    expect(r.error?.code).toBe('postgres.dump_failed');
    // pg_dump hits the table it may not read, or (when the tool's counting hit it first and ended the snapshot's transaction) the snapshot.
    expect(r.error?.stderr_tail?.join('\n')).toMatch(/pg_dump: error: query failed: ERROR: +(permission denied for table daily_bars|could not import the requested snapshot)/);
    expect(r.error?.message.split('\n')[0]).toMatch(/^pg_dump failed \(exit 1\):$/);
    const md = renderSummary(r);
    expect(md).toContain('Last lines the tool printed on stderr');
    expect(md).toContain(r.error!.stderr_tail!.at(-1)!);
  });
});
