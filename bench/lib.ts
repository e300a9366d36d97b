/**
 * Shared plumbing for the benchmarks (bench/backup-bench.ts, bench/verify-bench.ts):
 * arguments, the throwaway cluster and its database, a process runner that measures wall time
 * and peak memory, statistics and tables.
 *
 * Memory: the figure that counts is the peak RSS of the measured process ITSELF (VmHWM in
 * /proc/<pid>/status, a high-water mark kept by the kernel, read every POLL_MS while the process
 * lives). pg_dump/pg_restore are separate processes; their peaks are reported beside it, not added.
 * When GNU time is installed (/usr/bin/time, Debian package `time`) the command also runs under
 * `time -f '%M %e %U %S'`: its %M comes from wait4() and is the largest RSS of the process OR any
 * descendant it reaped (pg_dump included), so it is an upper bound and a cross-check, not the own figure.
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { stringify } from 'yaml';
import { startCluster, type Cluster } from '../test/helpers/pg-cluster.js';
import { seedLarge, seedMarketData } from '../test/helpers/market-data.js';
import { sha256File } from '../src/catalog/checksum.js';
import { formatBytes } from '../src/shared/format.js';

export const REPO = path.resolve(new URL('..', import.meta.url).pathname);
export const GNU_TIME = '/usr/bin/time';
const POLL_MS = 50;

// ---------------------------------------------------------------------------
// arguments

export interface BenchArgs {
  /** Approximate database size in MB (table + indexes of the big table). */
  mb: number;
  /** Measured rounds; each round runs the baseline once and the tool once. */
  rounds: number;
  /** Unmeasured rounds first (warm caches, hint bits, page cache of the dump). */
  warmup: number;
  /** postgres.jobs for the tool and -j for the bare pg_restore. */
  jobs: number;
  json: boolean;
  /** Keep the work folder (cluster is still removed). */
  keep: boolean;
}

export function parseArgs(argv: string[], name: string, extraHelp = ''): BenchArgs {
  const args: BenchArgs = { mb: 1000, rounds: 3, warmup: 1, jobs: 2, json: false, keep: false };
  const usage = `usage: npx tsx bench/${name} [--mb 1000] [--rounds 3] [--warmup 1] [--jobs 2] [--json] [--keep]\n${extraHelp}`;
  const num = (flag: string, v: string | undefined, min: number): number => {
    const n = Number(v);
    if (v === undefined || !Number.isFinite(n) || n < min) {
      process.stderr.write(`${flag} needs a number >= ${min}, got ${v ?? '(nothing)'}\n${usage}`);
      process.exit(2);
    }
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i]!;
    let v: string | undefined;
    const eq = a.indexOf('=');
    if (a.startsWith('--') && eq > 0) {
      v = a.slice(eq + 1);
      a = a.slice(0, eq);
    }
    const next = () => v ?? argv[++i];
    switch (a) {
      case '--mb': args.mb = num(a, next(), 1); break;
      case '--rounds': args.rounds = Math.round(num(a, next(), 1)); break;
      case '--warmup': args.warmup = Math.round(num(a, next(), 0)); break;
      case '--jobs': args.jobs = Math.round(num(a, next(), 1)); break;
      case '--json': args.json = true; break;
      case '--keep': args.keep = true; break;
      case '-h':
      case '--help':
        process.stdout.write(usage);
        process.exit(0);
        break;
      default:
        process.stderr.write(`unknown argument ${argv[i]}\n${usage}`);
        process.exit(2);
    }
  }
  return args;
}

// ---------------------------------------------------------------------------
// progress output (stderr: stdout carries the table or the JSON)

const t0 = performance.now();
export function note(line: string): void {
  const s = ((performance.now() - t0) / 1000).toFixed(1).padStart(7);
  process.stderr.write(`[bench ${s}s] ${line}\n`);
}

// ---------------------------------------------------------------------------
// the work folder, the cluster, cleanup (also on Ctrl-C)

export interface Env {
  work: string;
  cluster: Cluster;
  /** Copy of dist/ taken at the start: other people may rebuild dist/ while the bench runs. */
  cli: string;
  /** Environment for every child: PATH (cluster's client binaries first), HOME, LANG, PGPASSWORD. No other PG*. */
  childEnv: NodeJS.ProcessEnv;
  bin(name: string): string;
}

let current: { kill(): void } | null = null;
const cleanups: Array<() => void | Promise<void>> = [];
let cleaning = false;

export async function cleanupAll(): Promise<void> {
  if (cleaning) return;
  cleaning = true;
  for (const c of cleanups.reverse()) {
    try {
      await c();
    } catch (err) {
      process.stderr.write(`cleanup: ${(err as Error).message}\n`);
    }
  }
}

function onSignal(sig: NodeJS.Signals): void {
  process.stderr.write(`\n${sig}: stopping the running command, removing the cluster and the work folder\n`);
  current?.kill();
  // Give the tool a moment to clean up after itself (it drops its scratch database on SIGTERM).
  setTimeout(() => {
    void cleanupAll().finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
  }, 1500);
}

export async function setup(args: BenchArgs, name: string): Promise<Env> {
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const cliSrc = path.join(REPO, 'dist', 'cli.js');
  if (!existsSync(cliSrc) || !existsSync(path.join(REPO, 'dist', 'cli', 'index.js'))) {
    throw new Error(`${cliSrc} is missing: run \`npm run build\` first (bench/run.sh does it when dist/ is absent)`);
  }
  const work = mkdtempSync(path.join(os.tmpdir(), `pgtaos-bench-${name}-`));
  cleanups.push(() => {
    if (args.keep) note(`kept ${work}`);
    else rmSync(work, { recursive: true, force: true });
  });
  cpSync(path.join(REPO, 'dist'), path.join(work, 'dist'), { recursive: true });
  const cli = path.join(work, 'dist', 'cli.js');

  note('starting a throwaway PostgreSQL cluster');
  // Room for a whole run's WAL (a 1 GB restore writes about 1.2 GB), so no checkpoint lands inside a
  // measured run at random: settle() checkpoints between runs instead. The same for both sides.
  const walMB = Math.max(4096, Math.ceil(args.mb * 4));
  const cluster = await startCluster({ name: `bench-${name}`, settings: { max_wal_size: `${walMB}MB`, checkpoint_timeout: '1h' } });
  cleanups.push(() => cluster.destroy());
  const childEnv: NodeJS.ProcessEnv = { PGPASSWORD: cluster.password, PATH: `${cluster.clientBinDir}:${process.env.PATH ?? '/usr/bin:/bin'}` };
  for (const k of ['HOME', 'LANG', 'TMPDIR']) if (process.env[k]) childEnv[k] = process.env[k];
  return { work, cluster, cli, childEnv, bin: (b) => path.join(cluster.clientBinDir, b) };
}

export interface DbInfo {
  name: string;
  /** pg_database_size after VACUUM. */
  bytes: number;
  /** Exact rows over all user tables. */
  rows: number;
  tables: number;
  largeObjects: number;
  bigTableRows: number;
  buildSeconds: number;
  serverVersion: string;
}

/**
 * The benchmark database: the small market-data schema (6 tables, views, 5 large objects, two
 * schemas: exercises -b and the per-table counts) plus public.bench_bars of about `mb` MB.
 * VACUUM (FREEZE, ANALYZE) and CHECKPOINT afterwards, so no run pays for hint bits or a checkpoint
 * the previous one left behind.
 */
export async function buildDatabase(env: Env, db: string, mb: number): Promise<DbInfo> {
  const { cluster } = env;
  const start = performance.now();
  note(`building database ${db} of about ${mb} MB`);
  await cluster.createDb(db);
  const market = await seedMarketData(cluster, db);
  const big = await seedLarge(cluster, db, mb);
  note(`  ${big.rows} rows in ${big.table} (${fmtBytes(big.databaseBytes)}) after ${big.seconds.toFixed(1)} s; VACUUM (FREEZE, ANALYZE)`);
  await cluster.psql('VACUUM (FREEZE, ANALYZE);', db);
  await cluster.psql('CHECKPOINT;', db);
  const counts = await exactCounts(env, db);
  const [size] = await cluster.query<{ d: string }>('SELECT pg_database_size(current_database())::text AS d', db);
  const info: DbInfo = {
    name: db,
    bytes: Number(size!.d),
    rows: counts.rows,
    tables: counts.tables,
    largeObjects: market.largeObjects,
    bigTableRows: big.rows,
    buildSeconds: (performance.now() - start) / 1000,
    serverVersion: cluster.versionFull,
  };
  note(`database ${db}: ${fmtBytes(info.bytes)}, ${info.tables} tables, ${info.rows} rows, ${info.largeObjects} large objects (built in ${info.buildSeconds.toFixed(0)} s)`);
  return info;
}

/** The user tables the tool counts (same filter as the tool: ordinary tables, no system or extension tables). */
export const USER_TABLES_SQL = `SELECT format('SELECT %L AS t, count(*) AS n FROM %I.%I', n.nspname || '.' || c.relname, n.nspname, c.relname)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY 1`;

/** psql script: exact count(*) of every user table (one query each, \gexec) and of the large objects. */
export const COUNT_SCRIPT = `${USER_TABLES_SQL}\n\\gexec\nSELECT 'large objects' AS t, count(*) AS n FROM pg_largeobject_metadata;\n`;

export function psqlCountArgs(env: Env, db: string): string[] {
  const c = env.cluster;
  return ['-X', '-A', '-t', '-F', '\t', '-v', 'ON_ERROR_STOP=1', '-h', c.host, '-p', String(c.port), '-U', c.user, '-d', db, '-f', '-'];
}

export function parseCounts(out: string): { rows: number; tables: number; largeObjects: number } {
  let rows = 0;
  let tables = 0;
  let largeObjects = 0;
  for (const line of out.split('\n')) {
    const [t, n] = line.split('\t');
    if (!t || n === undefined) continue;
    if (t === 'large objects') largeObjects = Number(n);
    else {
      rows += Number(n);
      tables++;
    }
  }
  return { rows, tables, largeObjects };
}

export async function exactCounts(env: Env, db: string) {
  const r = await measure(env.bin('psql'), psqlCountArgs(env, db), { env: env.childEnv, cwd: env.work, input: COUNT_SCRIPT, label: 'count' });
  if (r.code !== 0) throw new Error(`counting ${db} failed: ${r.stderr}`);
  return { ...parseCounts(r.stdout), ms: r.wallMs };
}

// ---------------------------------------------------------------------------
// measuring one process

export interface Measured {
  label: string;
  wallMs: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** stderr lines with their arrival time in ms after the spawn. */
  lines: Array<{ ms: number; line: string }>;
  /** Peak RSS of the measured process itself, KiB (VmHWM, polled). null if /proc was unreadable. */
  ownPeakKiB: number | null;
  /** CPU seconds (user + system) of the measured process itself, from the last /proc sample. */
  ownCpuS: number | null;
  /** Largest VmHWM seen per descendant command name (pg_dump, pg_restore, ...), KiB. */
  childPeakKiB: Record<string, number>;
  /** When each descendant command name was first and last seen alive, ms after the spawn (POLL_MS resolution). */
  childSpan: Record<string, { first: number; last: number }>;
  /** GNU time: max RSS of the process or any descendant (KiB), and user/sys seconds of all of them. */
  time: { maxRssKiB: number; userS: number; sysS: number } | null;
}

const CLK_TCK = 100; // Linux USER_HZ

function readStatus(pid: number): { hwm: number; comm: string } | null {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const hwm = /^VmHWM:\s+(\d+) kB/m.exec(s);
    const name = /^Name:\s+(.*)$/m.exec(s);
    return hwm ? { hwm: Number(hwm[1]), comm: name?.[1] ?? '?' } : null;
  } catch {
    return null;
  }
}

function readCpu(pid: number): number | null {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / CLK_TCK; // utime, stime
  } catch {
    return null;
  }
}

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    // No CONFIG_PROC_CHILDREN: scan /proc for the parent pid.
    const out: number[] = [];
    try {
      for (const e of readdirSync('/proc')) {
        if (!/^\d+$/.test(e)) continue;
        try {
          const s = readFileSync(`/proc/${e}/stat`, 'utf8');
          if (Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[1]) === pid) out.push(Number(e));
        } catch {
          /* gone */
        }
      }
    } catch {
      /* no /proc */
    }
    return out;
  }
}

function descendants(pid: number): number[] {
  const out: number[] = [];
  const stack = childrenOf(pid);
  while (stack.length) {
    const p = stack.pop()!;
    out.push(p);
    stack.push(...childrenOf(p));
  }
  return out;
}

export function hasGnuTime(): boolean {
  if (process.env.PGTAOS_BENCH_NO_GNU_TIME) return false;
  return existsSync(GNU_TIME) && spawnSync(GNU_TIME, ['-f', '%M', 'true'], { stdio: 'ignore' }).status === 0;
}

/**
 * Runs `cmd args` and measures it. Wall time is spawn -> exit with stdio closed, taken here.
 * Runs under GNU time when present; the measured process is then time's child, found in /proc.
 */
export function measure(
  cmd: string,
  args: string[],
  opts: { env: NodeJS.ProcessEnv; cwd: string; label: string; input?: string },
): Promise<Measured> {
  const useTime = hasGnuTimeCached();
  const timeFile = path.join(os.tmpdir(), `pgtaos-bench-time-${process.pid}-${Math.random().toString(36).slice(2)}`);
  const [file, argv] = useTime ? [GNU_TIME, ['-f', '%M %e %U %S', '-o', timeFile, cmd, ...args]] : [cmd, args];
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(file, argv, { env: opts.env, cwd: opts.cwd, stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    current = { kill: () => child.kill('SIGTERM') };
    if (opts.input !== undefined) {
      child.stdin!.on('error', () => undefined);
      child.stdin!.end(opts.input);
    }
    let stdout = '';
    let stderr = '';
    let partial = '';
    const lines: Measured['lines'] = [];
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      const ms = performance.now() - started;
      stderr += d;
      const parts = (partial + d).split('\n');
      partial = parts.pop()!;
      for (const l of parts) lines.push({ ms, line: l });
    });

    let target: number | null = useTime ? null : (child.pid ?? null);
    let ownPeak: number | null = null;
    let ownCpu: number | null = null;
    const childPeak: Record<string, number> = {};
    const childSpan: Record<string, { first: number; last: number }> = {};
    const poll = () => {
      const now = performance.now() - started;
      if (target === null && child.pid) {
        const kids = childrenOf(child.pid);
        if (kids.length) target = kids[0]!;
      }
      if (target === null) return;
      const st = readStatus(target);
      if (st && (!useTime || st.comm !== 'time')) {
        ownPeak = Math.max(ownPeak ?? 0, st.hwm);
        ownCpu = readCpu(target) ?? ownCpu;
      }
      for (const d of descendants(target)) {
        const s = readStatus(d);
        if (!s) continue;
        childPeak[s.comm] = Math.max(childPeak[s.comm] ?? 0, s.hwm);
        const span = (childSpan[s.comm] ??= { first: now, last: now });
        span.last = now;
      }
    };
    const timer = setInterval(poll, POLL_MS);
    setImmediate(poll);
    child.on('error', (err) => {
      clearInterval(timer);
      current = null;
      reject(err);
    });
    child.on('close', (code, signal) => {
      const wallMs = performance.now() - started;
      clearInterval(timer);
      current = null;
      if (partial) lines.push({ ms: wallMs, line: partial });
      let time: Measured['time'] = null;
      if (useTime) {
        try {
          const last = readFileSync(timeFile, 'utf8').trim().split('\n').at(-1)!.split(' ').map(Number);
          time = { maxRssKiB: last[0]!, userS: last[2]!, sysS: last[3]! };
        } catch {
          /* time could not write it */
        }
        rmSync(timeFile, { force: true });
      }
      resolve({ label: opts.label, wallMs, code, signal, stdout, stderr, lines, ownPeakKiB: ownPeak, ownCpuS: ownCpu, childPeakKiB: childPeak, childSpan, time });
    });
  });
}

let gnuTime: boolean | undefined;
function hasGnuTimeCached(): boolean {
  return (gnuTime ??= hasGnuTime());
}

export function mustSucceed(r: Measured, what: string): Measured {
  if (r.code !== 0) {
    throw new Error(`${what} failed (exit ${r.code ?? r.signal}):\n${r.stderr.split('\n').slice(-25).join('\n')}\n${r.stdout.slice(0, 2000)}`);
  }
  return r;
}

/**
 * Before every measured run: CHECKPOINT, then sync, so no run pays for the dirty buffers, WAL or
 * deleted files the previous run left behind. (Not timed.)
 */
export async function settle(env: Env): Promise<void> {
  await env.cluster.psql('CHECKPOINT;');
  spawnSync('sync', [], { stdio: 'ignore' });
}

// ---------------------------------------------------------------------------
// CPU accounting: how much CPU did something other than this benchmark use during a run?

function statFields(pid: number): number[] | null {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2).split(' ').map(Number);
  } catch {
    return null;
  }
}

/** CPU seconds of the cluster: postmaster and every live descendant, each with its reaped children. */
function clusterCpuS(dataDir: string): number {
  let pm: number;
  try {
    pm = Number.parseInt(readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]!, 10);
  } catch {
    return 0;
  }
  let ticks = 0;
  for (const pid of [pm, ...descendants(pm)]) {
    const f = statFields(pid);
    if (f) ticks += f[11]! + f[12]! + f[13]! + f[14]!; // utime stime cutime cstime
  }
  return ticks / CLK_TCK;
}

/** Busy (user+nice+system+irq+softirq) and steal seconds of the whole machine, from /proc/stat. */
function machineCpuS(): { busy: number; steal: number } {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal
    return { busy: (f[0]! + f[1]! + f[2]! + f[5]! + f[6]!) / CLK_TCK, steal: (f[7] ?? 0) / CLK_TCK };
  } catch {
    return { busy: 0, steal: 0 };
  }
}

export interface CpuWindow {
  /**
   * `measuredCpuS`: CPU of the measured commands with all their children (GNU time %U+%S).
   * Returns other = machine busy - cluster - measured - this process (other processes on the
   * machine plus kernel threads such as writeback), and steal (CPU the hypervisor gave elsewhere).
   */
  end(measuredCpuS: number | null): { otherCpuS: number | null; stealS: number };
}

export function cpuWindow(env: Env): CpuWindow {
  const m0 = machineCpuS();
  const c0 = clusterCpuS(env.cluster.dataDir);
  const self0 = process.cpuUsage();
  return {
    end(measuredCpuS) {
      const m1 = machineCpuS();
      const cluster = clusterCpuS(env.cluster.dataDir) - c0;
      const self = process.cpuUsage(self0);
      const selfS = (self.user + self.system) / 1e6;
      const other = measuredCpuS == null ? null : Math.max(0, m1.busy - m0.busy - cluster - measuredCpuS - selfS);
      return { otherCpuS: other, stealS: m1.steal - m0.steal };
    },
  };
}

export const treeCpuS = (r: Measured): number | null => (r.time ? r.time.userS + r.time.sysS : null);

/** Time of the first stderr line matching `re`, ms after spawn. */
export function at(r: Measured, re: RegExp): number | null {
  return r.lines.find((l) => re.test(l.line))?.ms ?? null;
}

// ---------------------------------------------------------------------------
// statistics and formatting

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The tool's own byte formatting, so the bench and the tool print sizes alike. */
export const fmtBytes = formatBytes;

/** a - b when both are known (phase lengths from log-line arrival times). */
export const diff = (a: number | null, b: number | null): number | null => (a == null || b == null ? null : a - b);

export const fmtS = (ms: number | null | undefined): string => (ms == null ? '-' : (ms / 1000).toFixed(2));
export const fmtMiB = (kib: number | null | undefined): string => (kib == null ? '-' : (kib / 1024).toFixed(1));

/** "0.4" or "0.4 (steal 1.2)": CPU seconds used elsewhere during a run. */
export const fmtCpu = (x: { otherCpuS: number | null; stealS: number }): string =>
  `${x.otherCpuS == null ? '-' : x.otherCpuS.toFixed(1)}${x.stealS >= 0.05 ? ` (steal ${x.stealS.toFixed(1)})` : ''}`;

export function table(head: string[], rows: Array<Array<string | number>>): string {
  const cells = [head, ...rows.map((r) => r.map(String))];
  const w = head.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ');
  return [line(head), w.map((n) => '-'.repeat(n)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

export function verdict(ok: boolean): string {
  return ok ? 'PASS' : 'MISS';
}

export function machine(): { cpus: number; cpuModel: string; memGiB: number; node: string; kernel: string; gnuTime: boolean } {
  return {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? '?',
    memGiB: Math.round(os.totalmem() / 1024 ** 3),
    node: process.version,
    kernel: os.release(),
    gnuTime: hasGnuTimeCached(),
  };
}

/** Runs main(), always cleans up, exits with its code. */
export function runMain(main: () => Promise<number>): void {
  main()
    .then(
      async (code) => {
        await cleanupAll();
        process.exit(code);
      },
      async (err: unknown) => {
        process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
        await cleanupAll();
        process.exit(1);
      },
    );
}

// ---------------------------------------------------------------------------
// the tool

/** Writes <dir>/pgtaos-backup.yml (the shape test/helpers/tool.ts uses) and returns dir. */
export function writeToolConfig(env: Env, dir: string, db: string, root: string, jobs: number): string {
  mkdirSync(dir, { recursive: true });
  const c = env.cluster;
  writeFileSync(
    path.join(dir, 'pgtaos-backup.yml'),
    stringify({ root, timezone: 'Asia/Shanghai', min_free_gb: 0, postgres: { host: c.host, port: c.port, user: c.user, database: db, jobs } }),
  );
  return dir;
}

/** Runs the tool's CLI (`node <dist copy>/cli.js <args>`) in `cwd`. */
export function runTool(env: Env, args: string[], cwd: string, label: string): Promise<Measured> {
  return measure(process.execPath, [env.cli, ...args], { env: env.childEnv, cwd, label });
}

/** SHA-256 of a file with the tool's own function (src/catalog/checksum.ts), in this process. */
export async function sha256Ms(file: string): Promise<number> {
  const start = performance.now();
  await sha256File(file);
  return performance.now() - start;
}
