/**
 * Point-in-time recovery through the real Barman package against a throwaway cluster (replication over
 * 127.0.0.1): recovery to a time between two marked inserts, the weekly proof on a good chain, and its
 * plain failures when the receiver is stopped, a WAL segment is missing or damaged, and the base backup
 * is damaged. PostgreSQL refuses to run as root, so when the tests run as root the tool runs as the
 * cluster's OS user (as it would run as the runner's user).
 */
import { spawn, spawnSync } from 'node:child_process';
import { chownSync, cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type Cluster } from '../helpers/pg-cluster.js';
import { serverOsUser } from '../helpers/pg-common.js';
import { CLI, userEnv, workspace, type ToolRun, type Workspace } from '../helpers/tool.js';
import type { RunResult } from '../../src/report/result.js';
import { barmanLogTail, closeSegment, type BarmanSide } from '../helpers/barman.js';

const hasBarman = spawnSync('barman', ['--version']).status === 0;
if (!hasBarman) {
  if (process.env.CI && process.env.CI !== 'false') throw new Error('barman is not installed and CI is set: scripts/setup.sh installs it');
  console.warn('pitr.test.ts skipped: barman is not installed (apt install barman; scripts/setup.sh does)');
}

let pgc: Cluster;
let ws: Workspace;
let env: NodeJS.ProcessEnv;
let home: string;
const osUser = serverOsUser();

/** Runs the CLI as the cluster's OS user when we are root. */
function run(args: string[]): Promise<ToolRun> {
  const child = spawn(process.execPath, [CLI, ...args, '--json'], { env, cwd: ws.dir, stdio: ['ignore', 'pipe', 'pipe'], ...(osUser ? { uid: osUser.uid, gid: osUser.gid } : {}) });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
}

function report(r: ToolRun): RunResult {
  return JSON.parse(r.stdout) as RunResult;
}

/** barman itself, as the tool's user, on the config the tool wrote. */
function barman(...args: string[]): string {
  const r = spawnSync('barman', ['-c', path.join(home, 'barman.conf'), ...args], { env, encoding: 'utf8', ...(osUser ? { uid: osUser.uid, gid: osUser.gid } : {}) });
  return `${r.stdout}${r.stderr}`;
}

/** The tool's output and the end of barman.log: what a failure in CI needs to be understood. */
function why(r: ToolRun): string {
  return `${r.stderr}${r.stdout}\n--- barman.log (end) ---\n${barmanLogTail(home)}`;
}

const side = (): BarmanSide => ({ barman, psql: (sql) => pgc.psql(sql, 'market'), home, server: 'pg' });

function chownTree(p: string): void {
  if (!osUser) return;
  chownSync(p, osUser.uid, osUser.gid);
}

/**
 * Shorter than the 15 s between the server's own idle WAL records: setup passes only because the tool
 * writes the record that lets Barman archive the segment it closed (remove nudgeWal: setup fails).
 */
const ARCHIVE_TIMEOUT = 8;

let between = '';
let segment = '';

describe.skipIf(!hasBarman)('point-in-time recovery (real Barman)', () => {
  beforeAll(async () => {
    pgc = await startCluster({ name: 'pitr' });
    await pgc.createDb('market');
    await pgc.psql("CREATE TABLE marks (id int PRIMARY KEY, what text); INSERT INTO marks SELECT g, 'seed' FROM generate_series(100, 199) g", 'market');
    const dir = mkdtempSync(path.join(os.tmpdir(), 'pgtaos-pitr-'));
    chownTree(dir);
    home = path.join(dir, 'barman');
    ws = workspace(pgc, 'market', { pitr: { barman_home: home, server: 'pg', host: pgc.host, port: pgc.port, user: 'postgres', slot: 'pgtaos', bin_dir: pgc.binDir, archive_timeout_seconds: ARCHIVE_TIMEOUT } }, { dir });
    chownTree(ws.configFile);
    env = userEnv(pgc, { PITR_PGPASSWORD: pgc.password, HOME: dir });
  }, 120_000);
  afterAll(async () => {
    if (home && existsSync(path.join(home, 'barman.conf'))) barman('receive-wal', '--stop', 'pg');
    await pgc?.destroy();
  });

  it('pitr setup writes the config and a 0600 .pgpass (no password in barman.conf or output), creates the slot, starts the receiver', async () => {
    const r = await run(['pitr', 'setup']);
    expect(r.code, why(r)).toBe(0);
    expect(r.stdout + r.stderr).not.toContain(pgc.password);
    expect(spawnSync('cat', [path.join(home, 'barman.conf')], { encoding: 'utf8' }).stdout).not.toContain(pgc.password);
    expect(spawnSync('stat', ['-c', '%a', path.join(home, '.pgpass')], { encoding: 'utf8' }).stdout.trim()).toBe('600');
    expect(r.stderr).toContain('pg_hba.conf');
    const slots = await pgc.query<{ slot_name: string }>("SELECT slot_name FROM pg_replication_slots WHERE slot_name = 'pgtaos'");
    expect(slots).toHaveLength(1);
  }, 180_000);

  it('pitr backup takes a base backup and reports its id and the recoverable window', async () => {
    const r = await run(['pitr', 'backup']);
    expect(r.code, why(r)).toBe(0);
    const rep = report(r);
    expect(rep.checks.find((c) => c.name === 'pitr base backup')?.detail).toMatch(/base backup \d{8}T\d{6}/);
    expect(rep.message).toMatch(/recoverable window: any time from /);
    // The next night: the receiver is kept running, and no base backup is taken before base_backup_every_days.
    const again = await run(['pitr', 'backup']);
    expect(again.code, why(again)).toBe(0);
    expect(report(again).checks.find((c) => c.name === 'pitr base backup')).toMatchObject({ result: 'skipped' });
    expect(report(again).message).toMatch(/^pitr backup: no base backup \(the newest, \d{8}T\d{6}, is 0 day\(s\) old; the next is due after 7 /);
    expect(readdirSync(path.join(home, 'pg', 'base')).filter((n) => /^\d{8}T\d{6}$/.test(n))).toHaveLength(1);
    // Two marked inserts with a time between them; then the segment holding them is closed.
    await pgc.psql("INSERT INTO marks VALUES (1, 'first')", 'market');
    await new Promise((res) => setTimeout(res, 1500));
    between = (await pgc.query<{ t: string }>("SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00' AS t"))[0]!.t;
    await new Promise((res) => setTimeout(res, 1500));
    await pgc.psql("INSERT INTO marks VALUES (2, 'second')", 'market');
    segment = (await closeSegment(side()))[0]!;
    expect(segment).toBeTruthy();
  }, 300_000);

  it('status shows the pitr rows: WAL streaming alive, slot lag (pg_replication_slots), base backup age, the recoverable window', async () => {
    const r = await run(['status']);
    const rows = Object.fromEntries(report(r).checks.map((c) => [c.name, c]));
    expect(rows['pitr WAL streaming']?.result, r.stderr + r.stdout).toBe('passed');
    expect(rows['pitr slot lag']?.result, rows['pitr slot lag']?.detail).toBe('passed');
    expect(rows['pitr slot lag']?.detail).toMatch(/^slot pgtaos holds .* of WAL on the database host < slot_lag_max_mb 4096$/);
    expect(rows['pitr base backup']?.result).toBe('passed');
    expect(rows['pitr recoverable window']?.detail).toMatch(/^any time from \S+ to \S+ \(informational\)$/);
    expect(r.stdout + r.stderr).not.toContain(pgc.password);
  }, 120_000);

  it('a nightly backup records its restore point, and verify --pitr without --to recovers to it and matches its counts', async () => {
    const b = await run(['backup']);
    expect(b.code, why(b)).toBe(0);
    const wal = JSON.parse(readFileSync(path.join(report(b).set!.path, 'manifest.json'), 'utf8')) as { postgres: { wal?: { lsn: string; restore_point: string | null } } };
    expect(wal.postgres.wal?.restore_point).toMatch(/^pgtaos_market_/);
    const r = await run(['verify', '--pitr']);
    expect(r.code, why(r)).toBe(0);
    expect(report(r).checks.find((c) => c.name === 'pitr recovery')?.result).toBe('passed');
  }, 300_000);

  it('verify --pitr --to a time between the inserts passes and counts the first insert, not the second', async () => {
    const r = await run(['verify', '--pitr', '--to', between]);
    expect(r.code, why(r)).toBe(0);
    const rep = report(r);
    expect(rep.checks.find((c) => c.name === 'pitr recovery')?.result).toBe('passed');
    // 100 seeded rows + 'first'; 'second' came after the target.
    expect(rep.checks.find((c) => c.name === 'pitr counts')?.detail).toContain('market: 1 tables, 101 rows');
  }, 300_000);

  it('restore --pitr --into --start-on gives a data directory that starts and holds the rows of that time', async () => {
    const into = path.join(ws.dir, 'recovered');
    const port = 20000 + Math.floor(Math.random() * 20000);
    const r = await run(['restore', '--pitr', '--to', between, '--into', into, '--start-on', String(port)]);
    expect(r.code, why(r)).toBe(0);
    expect(r.stderr).toContain('To put the whole directory in place');
    const c = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', password: pgc.password, database: 'market' });
    await c.connect();
    try {
      const rows = (await c.query<{ id: number; what: string }>('SELECT id, what FROM marks WHERE id < 100 ORDER BY id')).rows;
      expect(rows).toEqual([{ id: 1, what: 'first' }]);
    } finally {
      await c.end();
      spawnSync(path.join(pgc.binDir, 'pg_ctl'), ['-D', into, '-m', 'immediate', '-w', 'stop'], { ...(osUser ? { uid: osUser.uid, gid: osUser.gid } : {}) });
    }
    // A second recovery into the same (now full) folder is refused, and changes nothing.
    const again = await run(['restore', '--pitr', '--to', between, '--into', into]);
    expect(again.code).toBe(2);
    expect(report(again).error?.code).toBe('pitr.into_not_empty');
  }, 300_000);

  it('the weekly proof fails plainly when the WAL receiver is stopped', async () => {
    barman('receive-wal', '--stop', 'pg');
    await new Promise((res) => setTimeout(res, 2000));
    const r = await run(['verify', '--pitr', '--to', between]);
    expect(r.code).toBe(1);
    expect(report(r).message).toMatch(/receive-wal running FAILED.*WAL receiver is not running/);
    barman('cron');
  }, 300_000);

  it('the weekly proof fails plainly when a WAL segment is missing', async () => {
    const file = path.join(home, 'pg', 'wals', segment);
    renameSync(file, `${file}.aside`);
    try {
      const r = await run(['verify', '--pitr', '--to', between]);
      expect(r.code).toBe(1);
      expect(report(r).message).toMatch(/FAILED.*(missing or damaged|No such file|not found|could not)/);
    } finally {
      renameSync(`${file}.aside`, file);
    }
  }, 300_000);

  it('the weekly proof fails plainly when a WAL segment is damaged', async () => {
    const file = path.join(home, 'pg', 'wals', segment);
    cpSync(file, `${file}.good`);
    const fd = openSync(file, 'r+');
    writeSync(fd, Buffer.alloc(65536, 0xab), 0, 65536, 0);
    closeSync(fd);
    try {
      const r = await run(['verify', '--pitr', '--to', between]);
      expect(r.code).toBe(1);
      expect(report(r).message).toContain('a segment between the base backup and the target is missing or damaged');
    } finally {
      renameSync(`${file}.good`, file);
      chownTree(file);
    }
  }, 300_000);

  it('the weekly proof fails plainly when the base backup is damaged', async () => {
    const base = path.join(home, 'pg', 'base');
    const id = readdirSync(base).filter((n) => /^\d{8}T\d{6}$/.test(n)).sort().pop()!;
    writeFileSync(path.join(base, id, 'data', 'global', 'pg_control'), Buffer.alloc(8192, 0x5a));
    const r = await run(['verify', '--pitr', '--to', between]);
    expect(r.code).toBe(1);
    expect(report(r).message).toContain('the base backup is damaged');
    // The scratch folder is gone whatever happened.
    expect(readdirSync(path.join(home, 'pgtaos-scratch'))).toEqual([]);
  }, 300_000);

  it('pitr backup --force takes a base backup though none is due', async () => {
    const count = () => readdirSync(path.join(home, 'pg', 'base')).filter((n) => /^\d{8}T\d{6}$/.test(n)).length;
    const before = count();
    const r = await run(['pitr', 'backup', '--force']);
    expect(r.code, why(r)).toBe(0);
    expect(report(r).checks.find((c) => c.name === 'pitr base backup')?.detail).toMatch(/^base backup \d{8}T\d{6}$/);
    expect(count()).toBe(before + 1);
  }, 300_000);
});
