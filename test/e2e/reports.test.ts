/**
 * Every command leaves a report that validates against its zod schema, on success and on failure,
 * against a real PostgreSQL: in-process through runCommand (the code both the CLI and the action
 * run): the result returned, the JSON file under <root>/logs/, and a job summary that fits the
 * runner's 1 MiB limit; and through the built CLI (dist/cli.js, or PGTAOS_TEST_DIST), whose
 * `--json` stdout is checked against the schema here, apart from the production code's own parse.
 * Also: the storage estimate, the tail of pg_dump's stderr on a failed dump, and a good backup
 * whose webhooks fail (500, and one that never answers) staying good.
 */
import { spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../src/run.js';
import { COMMANDS, type RunRequestInput } from '../../src/inputs/options.js';
import { runResultSchema, type RunResult } from '../../src/report/result.js';
import { MAX_SUMMARY_BYTES, renderSummary } from '../../src/report/summary.js';
import { silentSink } from '../../src/report/log.js';
import { startCluster, type Cluster } from '../helpers/pg-cluster.js';
import { freePort } from '../helpers/pg-common.js';
import { seedMarketData } from '../helpers/market-data.js';
import { cli, json, liveLockInfo, readJson, rewriteConfig, userEnv, withPostgres, workspace, type ToolRun, type Workspace } from '../helpers/tool.js';
import { listSets } from '../../src/catalog/sets.js';
import { startWebhookServer, type WebhookServer } from '../helpers/webhook-server.js';

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

/** A dump as the old runbook left it (pg_dump -Fc, named mystocks_<date>_<time>.backup), for import. */
async function oldRunbookDump(ws: Workspace): Promise<string> {
  const file = path.join(ws.dir, 'old', 'postgresql', 'mystocks_20251024_000001.backup');
  await fs.mkdir(path.dirname(file), { recursive: true });
  const r = spawnSync(path.join(pgc.clientBinDir, 'pg_dump'), ['-F', 'c', '-b', '-h', pgc.host, '-p', String(pgc.port), '-U', pgc.user, '-f', file, 'mystocks'], { env: pgc.env, encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return file;
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
    const onDisk = readJson(r.report_path!);
    expect(runResultSchema.parse(onDisk)).toEqual(onDisk);
    expect(onDisk).toEqual(r);
  }
  const md = renderSummary(r);
  expect(Buffer.byteLength(md)).toBeLessThan(MAX_SUMMARY_BYTES);
  expect(md).toContain(`pgtaos-backup ${r.command}: ${r.status}`);
  if (r.error) expect(md).toContain(r.error.message.split('\n')[0]!.replace(/\|/g, '\\|'));
}

describe('a report for every command', () => {
  it('success: backup, milestone, config, verify, list, status, import, prune --dry-run, prune, restore', async () => {
    const ws = workspace(pgc, 'mystocks');
    const base = path.join(ws.dir, 'app');
    await fs.mkdir(base);
    await fs.writeFile(path.join(base, '.env'), 'API_KEY=not-a-real-one\n');
    const nas = path.join(ws.dir, 'nas');
    await fs.mkdir(nas);
    rewriteConfig(ws, (c) => ({ ...c, config_files: { base_dir: base, paths: ['.env'] }, remotes: [{ type: 'path', path: nas, require_mount: false }] }));

    const b = await run(ws, { command: 'backup' });
    await expectReport(b, { command: 'backup', status: 'success' });
    expect(b.engines.postgres?.tables.length).toBeGreaterThan(0);
    // One small daily: an average, but no days-left figure from a single sample.
    expect(b.storage).toMatchObject({ sets: { daily: 1 }, sample_days: 1, sample_sets: 1, daily_bytes_per_day: b.set!.bytes, incomplete_sets: 0, days_of_dailies: null });
    expect(renderSummary(b)).toMatch(/storage estimate \| dailies ≈ .+\/day \(last 1 day\); cannot estimate yet: 1 daily set over 1 day \(needs at least 3 over 2 days\) \|/);

    await expectReport(await run(ws, { command: 'milestone', milestone: 'post_phase2' }), { command: 'milestone', status: 'success' });
    await expectReport(await run(ws, { command: 'config' }), { command: 'config', status: 'success' });
    const v = await run(ws, { command: 'verify' });
    await expectReport(v, { command: 'verify', status: 'success' });
    // list and status write no report file unless asked (--report): they run often and change nothing.
    const logsBefore = await fs.readdir(path.join(ws.root, 'logs'));
    const l = await run(ws, { command: 'list' });
    await expectReport(l, { command: 'list', status: 'success', file: false });
    expect(l.report_path).toBeNull();
    expect(l.storage?.sets).toEqual({ daily: 1, milestone: 1, config: 1, safety: 0 });
    const st = await run(ws, { command: 'status' });
    await expectReport(st, { command: 'status', status: 'success', file: false });
    expect(st.report_path).toBeNull();
    expect(await fs.readdir(path.join(ws.root, 'logs'))).toEqual(logsBefore);
    await expectReport(await run(ws, { command: 'list', report: true }), { command: 'list', status: 'success' });
    await expectReport(await run(ws, { command: 'status', report: true }), { command: 'status', status: 'success' });
    expect(st.stale).toEqual([]);
    expect(st.checks.length).toBeGreaterThan(0);
    const imp = await run(ws, { command: 'import', paths: [await oldRunbookDump(ws)] });
    await expectReport(imp, { command: 'import', status: 'success' });
    expect(imp.message).toMatch(/imported 1 set\(s\)/);
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
    await fs.writeFile(lockFile, JSON.stringify(liveLockInfo({ started_at: new Date().toISOString() })));
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
    const st = await run(ws, { command: 'status', report: true });
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
    withPostgres(ws, { user: 'limited' });
    const r = await runCommand({ command: 'backup', configFile: ws.configFile }, { sink: silentSink, env: { ...env(), PGPASSWORD: password }, cwd: ws.dir });
    await expectReport(r, { command: 'backup', status: 'failure' });
    // The counting session's refusal is named first, as what it is; pg_dump's own error follows it
    // (the snapshot survives the refused count, so pg_dump fails on the table, not on the snapshot).
    expect(r.error?.code).toBe('postgres.permission_denied');
    expect(r.error?.message.split('\n')[0]).toMatch(/^permission denied for tables? (\S+, )*public\.daily_bars(, \S+)*: the backup user limited needs SELECT on every table .*pg_dump failed after it \(exit 1\):$/);
    expect(r.error?.stderr_tail?.join('\n')).toMatch(/pg_dump: error: query failed: ERROR: +permission denied for table daily_bars/);
    const md = renderSummary(r);
    expect(md).toContain('Last lines the tool printed on stderr');
    expect(md).toContain(r.error!.stderr_tail!.at(-1)!);
  });
});

describe("the built CLI's --json output, validated here against the schema", () => {
  const cliRun = (ws: Workspace, args: string[]): Promise<ToolRun> => cli([...args, '--json'], { env: userEnv(pgc), cwd: ws.dir });

  /**
   * stdout is one JSON document (logs go to stderr) that is exactly the schema's: parse() drops
   * keys it does not know and fails on missing or mistyped ones, so equality after it means the
   * document is valid and complete. It is the report file too, and its exit code is the process's.
   */
  async function expectCliReport(r: ToolRun, want: { command: string; code: number }): Promise<RunResult> {
    expect(r.code, `${want.command}: ${r.stderr}`).toBe(want.code);
    const out = json<RunResult>(r);
    const parsed = runResultSchema.safeParse(out);
    expect(parsed.success, `${want.command}: ${JSON.stringify(parsed.error?.issues)}`).toBe(true);
    expect(parsed.data).toEqual(out);
    expect([out.command, out.exit_code, out.status]).toEqual([want.command, want.code, want.code === 0 ? 'success' : 'failure']);
    expect(r.stderr.length, `${want.command}: the log goes to stderr`).toBeGreaterThan(0);
    if (out.report_path) expect(readJson(out.report_path)).toEqual(out);
    return out;
  }

  it('every command, on success and on failure', async () => {
    const ws = workspace(pgc, 'mystocks');
    const base = path.join(ws.dir, 'app');
    await fs.mkdir(base);
    await fs.writeFile(path.join(base, '.env'), 'API_KEY=not-a-real-one\n');
    rewriteConfig(ws, (c) => ({ ...c, config_files: { base_dir: base, paths: ['.env'] } }));

    const b = await expectCliReport(await cliRun(ws, ['backup']), { command: 'backup', code: 0 });
    expect(b.set?.kind).toBe('daily');
    expect(b.engines.postgres?.tables.length).toBeGreaterThan(0);
    expect((await expectCliReport(await cliRun(ws, ['milestone', 'post_phase2']), { command: 'milestone', code: 0 })).set?.kind).toBe('milestone');
    expect((await expectCliReport(await cliRun(ws, ['config']), { command: 'config', code: 0 })).set?.kind).toBe('config');
    const v = await expectCliReport(await cliRun(ws, ['verify', b.set!.id]), { command: 'verify', code: 0 });
    expect(v.checks.find((c) => c.name === 'postgres row counts')?.result).toBe('passed');
    const l = await expectCliReport(await cliRun(ws, ['list']), { command: 'list', code: 0 });
    expect(l.sets?.map((s) => s.kind).sort()).toEqual(['config', 'daily', 'milestone']);
    const st = await expectCliReport(await cliRun(ws, ['status']), { command: 'status', code: 0 });
    expect(st.checks.map((c) => c.name)).toEqual(expect.arrayContaining(['postgres backup', 'last verification', 'free space']));
    expect([l.report_path, st.report_path]).toEqual([null, null]);
    expect((await expectCliReport(await cliRun(ws, ['list', '--report']), { command: 'list', code: 0 })).report_path).toMatch(/-list-\d+\.json$/);
    const imp = await expectCliReport(await cliRun(ws, ['import', await oldRunbookDump(ws)]), { command: 'import', code: 0 });
    expect(imp.message).toMatch(/imported 1 set\(s\)/);
    const dry = await expectCliReport(await cliRun(ws, ['prune', '--dry-run']), { command: 'prune', code: 0 });
    expect(dry.prune?.dry_run).toBe(true);
    expect((await expectCliReport(await cliRun(ws, ['prune']), { command: 'prune', code: 0 })).prune?.dry_run).toBe(false);
    await pgc.createDb('restored_cli');
    const rs = await expectCliReport(await cliRun(ws, ['restore', b.set!.id, '--target', 'restored_cli', '--confirm', 'restored_cli']), { command: 'restore', code: 0 });
    expect(rs.engines.postgres?.database).toBe('restored_cli');

    // Failures: a refused confirmation (exit 2), a set that does not exist, a dead server, a bad config.
    const unconfirmed = await expectCliReport(await cliRun(ws, ['restore', b.set!.id, '--target', 'restored_cli', '--confirm', 'mystocks']), { command: 'restore', code: 2 });
    expect(unconfirmed.error?.code).toBe('restore.not_confirmed');
    const missing = await expectCliReport(await cliRun(ws, ['verify', 'mystocks_19990101_000000']), { command: 'verify', code: 2 });
    expect(missing.error?.code).toBe('set.not_found');
    expect(missing.error?.message).toContain('no set mystocks_19990101_000000');
    const dead = workspace(pgc, 'mystocks');
    withPostgres(dead, { port: await freePort() });
    expect((await expectCliReport(await cliRun(dead, ['backup']), { command: 'backup', code: 1 })).error?.code).toBe('postgres.unreachable');
    const bad = workspace(pgc, 'mystocks', { unknown_key: 1 });
    for (const command of ['list', 'status', 'prune']) expect((await expectCliReport(await cliRun(bad, [command]), { command, code: 2 })).error?.code).toBe('config.invalid');
  });
});

describe('a good backup whose webhooks fail stays good', () => {
  const servers: WebhookServer[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
  });

  it('one webhook answers 500, another never answers: exit 0, the set complete, a warning for each in the report and the log', async () => {
    const failing = await startWebhookServer(() => ({ status: 500, body: 'internal error' }));
    const hanging = await startWebhookServer(() => 'hang');
    servers.push(failing, hanging);
    const ws = workspace(pgc, 'mystocks', {
      notify: [
        { kind: 'wecom', url_env: 'HOOK_500', on: ['always'] },
        { kind: 'slack', url_env: 'HOOK_HANG', on: ['success'] },
      ],
    });
    const r = await runCommand(
      { command: 'backup', configFile: ws.configFile },
      { sink: silentSink, env: { ...env(), HOOK_500: failing.url('/cgi-bin/webhook/send?key=k0123456789'), HOOK_HANG: hanging.url('/services/T0/B0/XXXXXXXX') }, cwd: ws.dir, notify: { timeoutMs: 400, tries: 2, backoffMs: 10 } },
    );
    await expectReport(r, { command: 'backup', status: 'success' });
    expect(r.exit_code).toBe(0);
    expect(failing.requests).toHaveLength(2);
    expect(hanging.requests).toHaveLength(2);
    expect(r.notifications.map((n) => [n.kind, n.delivered, n.attempts]).sort()).toEqual([
      ['slack', false, 2],
      ['wecom', false, 2],
    ]);
    const sets = await listSets(ws.root);
    expect(sets.map((s) => [s.id, s.status])).toEqual([[r.set!.id, 'complete']]);
    expect(r.warnings).toEqual(
      expect.arrayContaining([expect.stringContaining('notification not sent: wecom webhook (HOOK_500): HTTP 500: internal error (after 2 tries)'), expect.stringContaining('notification not sent: slack webhook (HOOK_HANG): no answer within 400 ms (after 2 tries)')]),
    );
    const logText = await fs.readFile(r.log_path!, 'utf8');
    expect(logText).toMatch(/WARN +notification not sent: wecom webhook \(HOOK_500\)/);
    expect(logText).toMatch(/WARN +notification not sent: slack webhook \(HOOK_HANG\)/);
  });
});
