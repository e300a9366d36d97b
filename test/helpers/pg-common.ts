/**
 * Shared plumbing for the PostgreSQL test helpers (pg-cluster.ts, embedded-pg17.ts).
 * Not meant to be imported by tests directly: use startCluster() / startPg17().
 *
 * Everything here only ever talks to 127.0.0.1.
 */
import { spawn, spawnSync, execFileSync, type SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';

export interface Cluster {
  host: '127.0.0.1';
  port: number;
  user: 'postgres';
  /** Random per-cluster password (scram-sha-256). Only ever passed through env / the pg client config. */
  password: string;
  /** PGDATA of the cluster. */
  dataDir: string;
  /** Directory holding the server binaries that run this cluster (initdb, pg_ctl, postgres). */
  binDir: string;
  /** Directory holding the client binaries the helper uses (psql, pg_dump, ...). Same as binDir for startCluster(). */
  clientBinDir: string;
  /** Server version, "major.minor" (e.g. "15.18", "17.10"). */
  version: string;
  /** Full server_version string (e.g. "15.18 (Debian 15.18-0+deb12u1)"). */
  versionFull: string;
  /** Server log file. */
  logFile: string;
  /** Directory of the server's unix socket (inside the cluster's temp dir). */
  socketDir: string;
  /** process.env without any inherited PG* variables, plus PGHOST/PGPORT/PGUSER/PGPASSWORD for this cluster. */
  env: NodeJS.ProcessEnv;
  /** Runs SQL through `psql -X -A -t -q -v ON_ERROR_STOP=1 -f -` (SQL on stdin, several statements allowed). Returns stdout with the trailing newline removed. Rejects on any error. */
  psql(sql: string, db?: string): Promise<string>;
  /** Runs one query through the `pg` package and returns the rows. */
  query<R = Record<string, unknown>>(sql: string, db?: string, params?: unknown[]): Promise<R[]>;
  /** CREATE DATABASE name. */
  createDb(name: string): Promise<void>;
  /** Stops the server (default 'fast'); waits until it is down. No-op when already stopped. */
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  /** SIGKILLs the postmaster and all its backends at once (simulates a crash mid-dump). Resolves when they are gone. */
  kill(): Promise<void>;
  /** Stops (fast, if running) and starts the server again on the same port. Works after kill() too (crash recovery). */
  restart(): Promise<void>;
  /** Stops the server (immediate) and removes its temp dir. Idempotent. */
  destroy(): Promise<void>;
  /** True while the postmaster process is alive. */
  isRunning(): boolean;
}

export const HOST = '127.0.0.1' as const;
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

// ---------------------------------------------------------------------------
// binaries & OS user

let cachedBinDir: string | undefined;

function versionKey(dirName: string): number[] {
  return dirName.split('.').map((p) => Number.parseInt(p, 10) || 0);
}

/**
 * Finds the directory holding the PostgreSQL binaries (initdb, pg_ctl, psql, pg_dump).
 * Order: $PGTAOS_TEST_PG_BIN, the highest /usr/lib/postgresql/<v>/bin, `pg_config --bindir`, PATH.
 */
export function findPgBinDir(): string {
  if (cachedBinDir) return cachedBinDir;
  const needed = ['initdb', 'pg_ctl', 'postgres', 'psql'];
  const ok = (dir: string) => needed.every((b) => fs.existsSync(path.join(dir, b)));
  const tried: string[] = [];
  const override = process.env.PGTAOS_TEST_PG_BIN;
  if (override) {
    if (!ok(override)) throw new Error(`PGTAOS_TEST_PG_BIN=${override} does not contain ${needed.join(', ')}`);
    return (cachedBinDir = override);
  }
  const root = '/usr/lib/postgresql';
  if (fs.existsSync(root)) {
    const versions = fs
      .readdirSync(root)
      .filter((v) => /^\d+(\.\d+)?$/.test(v))
      .sort((a, b) => {
        const ka = versionKey(a);
        const kb = versionKey(b);
        return kb[0] - ka[0] || (kb[1] ?? 0) - (ka[1] ?? 0);
      });
    for (const v of versions) {
      const dir = path.join(root, v, 'bin');
      tried.push(dir);
      if (ok(dir)) return (cachedBinDir = dir);
    }
  }
  try {
    const dir = execFileSync('pg_config', ['--bindir'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    tried.push(dir);
    if (dir && ok(dir)) return (cachedBinDir = dir);
  } catch {
    /* no pg_config */
  }
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    tried.push(dir);
    if (ok(dir)) return (cachedBinDir = dir);
  }
  throw new Error(
    `PostgreSQL server binaries not found (need ${needed.join(', ')}). Tried: ${tried.join(', ') || '(nothing)'}. ` +
      `Install them (Debian: apt-get install postgresql) or set PGTAOS_TEST_PG_BIN.`,
  );
}

export interface OsUser {
  uid: number;
  gid: number;
  name: string;
}

let cachedPgUser: OsUser | null | undefined;

/** The OS user that runs the server: `postgres` when we are root (PostgreSQL refuses root), else ourselves (null = no switch). */
export function serverOsUser(): OsUser | null {
  if (cachedPgUser !== undefined) return cachedPgUser;
  if (!isRoot) return (cachedPgUser = null);
  const name = process.env.PGTAOS_TEST_PG_OS_USER || 'postgres';
  try {
    const uid = Number.parseInt(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim(), 10);
    const gid = Number.parseInt(execFileSync('id', ['-g', name], { encoding: 'utf8' }).trim(), 10);
    return (cachedPgUser = { uid, gid, name });
  } catch {
    throw new Error(
      `Running as root but OS user '${name}' does not exist; PostgreSQL cannot run as root. ` +
        `Install Debian's postgresql package (it creates the user) or create one: useradd --system postgres`,
    );
  }
}

export function asServerUser(): Pick<SpawnOptions, 'uid' | 'gid'> {
  const u = serverOsUser();
  return u ? { uid: u.uid, gid: u.gid } : {};
}

export function chownToServerUser(p: string): void {
  const u = serverOsUser();
  if (u) fs.chownSync(p, u.uid, u.gid);
}

// ---------------------------------------------------------------------------
// processes

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function run(
  cmd: string,
  args: string[],
  opts: SpawnOptions & { input?: string; timeoutMs?: number } = {},
): Promise<RunResult> {
  const { input, timeoutMs, ...spawnOpts } = opts;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { ...spawnOpts, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdin!.on('error', () => undefined); // EPIPE when the child dies early
    let timer: NodeJS.Timeout | undefined;
    if (timeoutMs) {
      timer = setTimeout(() => {
        stderr += `\n[test helper] ${cmd} timed out after ${timeoutMs} ms, killing it`;
        child.kill('SIGKILL');
      }, timeoutMs);
    }
    child.on('error', (err) => {
      if (timer) clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    child.stdin!.end(input ?? '');
  });
}

export function isPidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A zombie (already exited, not yet reaped) counts as dead.
  const p = readProc(pid);
  if (!p) return true; // no /proc: trust kill(0)
  return p.state !== 'Z' && p.state !== 'X';
}

/** PID of the postmaster from PGDATA/postmaster.pid, if that process is alive and is a postgres. */
export function postmasterPid(dataDir: string): number | undefined {
  let pid: number;
  try {
    pid = Number.parseInt(fs.readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0], 10);
  } catch {
    return undefined;
  }
  if (!Number.isFinite(pid) || pid <= 0 || !isPidAlive(pid)) return undefined;
  try {
    const comm = fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    if (!comm.startsWith('postgres')) return undefined; // stale file, pid reused
  } catch {
    /* no /proc */
  }
  return pid;
}

/** A process as /proc shows it (the one reader of /proc in the test helpers). */
export interface Proc {
  pid: number;
  ppid: number;
  /** starttime (field 22), so a recycled pid is not taken for the same process. */
  start: string;
  state: string;
  cmd: string;
}

/** The process `pid` from /proc/<pid>/stat and cmdline; null when it is gone (or there is no /proc). */
export function readProc(pid: number): Proc | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
    return { pid, ppid: Number(rest[1]), start: rest[19] ?? '', state: rest[0] ?? '?', cmd };
  } catch {
    return null;
  }
}

/** Every process /proc lists now. */
export function processes(): Proc[] {
  return fs
    .readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .map((p) => readProc(Number(p)))
    .filter((p): p is Proc => p !== null);
}

/** Every live descendant of `pid` (children, grandchildren, ...). */
export function descendants(pid: number): Proc[] {
  const all = processes();
  const out: Proc[] = [];
  const seen = new Set([pid]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of all) {
      if (!seen.has(p.pid) && seen.has(p.ppid)) {
        seen.add(p.pid);
        out.push(p);
        grew = true;
      }
    }
  }
  return out;
}

function childrenOf(pid: number): number[] {
  return processes()
    .filter((p) => p.ppid === pid)
    .map((p) => p.pid);
}

/**
 * SIGKILLs a postmaster and all its children (backends, checkpointer, ...). Each postgres child
 * calls setsid(), so a process-group kill would miss them: freeze the postmaster (it cannot fork
 * any more), list its children from /proc, SIGKILL them all. Returns the pids killed.
 */
export function killPostmasterHard(pid: number): number[] {
  try {
    process.kill(pid, 'SIGSTOP');
  } catch {
    return [];
  }
  const all = [pid, ...(fs.existsSync('/proc') ? childrenOf(pid) : [])];
  for (const p of all) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  return all;
}

/** True once the pid is fully gone (reaped), not merely a zombie. */
function pidGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * After a SIGKILL: wait until the processes are dead, then until they are reaped (init reaps
 * orphans, a bit later). A zombie postmaster still "exists" for kill(pid, 0), and postgres refuses
 * to start over a postmaster.pid whose pid exists; if reaping takes too long, remove that stale file.
 */
export async function settleAfterKill(pids: number[], dataDir: string): Promise<void> {
  await waitFor(() => pids.every((p) => !isPidAlive(p)), 10_000, `postgres processes ${pids.join(',')} to die`);
  try {
    await waitFor(() => pids.every(pidGone), 3_000, 'killed postgres processes to be reaped');
  } catch {
    const pidFile = path.join(dataDir, 'postmaster.pid');
    try {
      const filePid = Number.parseInt(fs.readFileSync(pidFile, 'utf8').split('\n')[0], 10);
      if (pids.includes(filePid)) fs.rmSync(pidFile, { force: true });
    } catch {
      /* no file */
    }
  }
}

/**
 * Polls until `cond` holds; throws when `timeoutMs` pass first, or as soon as `stopIf` returns a
 * message (why waiting on is pointless), with that message.
 */
export async function waitFor(cond: () => boolean, timeoutMs: number, what: string, opts: { pollMs?: number; stopIf?: () => string | null } = {}): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    const stop = opts.stopIf?.();
    if (stop) throw new Error(stop);
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 50));
  }
}

// ---------------------------------------------------------------------------
// ports, dirs, passwords

/** A port that was free on 127.0.0.1 a moment ago (bind port 0, read it, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, HOST, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => (port ? resolve(port) : reject(new Error('could not get a free port'))));
    });
  });
}

export function randomPassword(): string {
  // URL/shell/conninfo-safe characters only.
  return 'pw_' + randomBytes(18).toString('base64url');
}

/** mkdtemp under os.tmpdir(), owned by the server OS user, mode 0700. */
export function makeClusterTempDir(name?: string): string {
  const safe = (name ?? 'pg').replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 24);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `pgtaos-pgtest-${safe}-`));
  fs.chmodSync(dir, 0o700);
  chownToServerUser(dir);
  // A unix socket path must fit in sun_path (107 bytes): ".s.PGSQL.NNNNN" + the dir.
  if (Buffer.byteLength(dir) + 20 > 107) {
    throw new Error(`temp dir path too long for a unix socket: ${dir} (set TMPDIR to a shorter path)`);
  }
  return dir;
}

export function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('PG')) continue; // no inherited PGDATABASE/PGPASSFILE/PGSERVICE/... surprises
    env[k] = v;
  }
  return { ...env, ...extra };
}

// ---------------------------------------------------------------------------
// client helpers

export function makePsql(clientBinDir: string, env: () => NodeJS.ProcessEnv) {
  return async (sql: string, db = 'postgres'): Promise<string> => {
    const r = await run(
      path.join(clientBinDir, 'psql'),
      ['-X', '-A', '-t', '-q', '-v', 'ON_ERROR_STOP=1', '-d', db, '-f', '-'],
      { env: env(), input: sql },
    );
    if (r.code !== 0) {
      const e = new Error(`psql failed (exit ${r.code ?? r.signal}) on db ${db}: ${r.stderr.trim()}`) as Error & {
        stderr?: string;
        stdout?: string;
        exitCode?: number | null;
      };
      e.stderr = r.stderr;
      e.stdout = r.stdout;
      e.exitCode = r.code;
      throw e;
    }
    return r.stdout.replace(/\n$/, '');
  };
}

export function makeQuery(conn: () => { port: number; password: string }) {
  return async <R = Record<string, unknown>>(sql: string, db = 'postgres', params?: unknown[]): Promise<R[]> => {
    const { port, password } = conn();
    const client = new pg.Client({ host: HOST, port, user: 'postgres', password, database: db });
    client.on('error', () => undefined); // server killed under us: the query rejects, don't crash the worker
    await client.connect();
    try {
      const res = await client.query(sql, params);
      // Multi-statement text returns an array of results: hand back the last one's rows.
      const last = Array.isArray(res) ? res[res.length - 1] : res;
      return (last?.rows ?? []) as R[];
    } finally {
      await client.end().catch(() => undefined);
    }
  };
}

export function quoteIdent(name: string): string {
  return '"' + name.replace(/"/g, '""') + '"';
}

export function parseServerVersionNum(num: string | number): string {
  const n = Number(num);
  return `${Math.floor(n / 10000)}.${n % 10000}`;
}

// ---------------------------------------------------------------------------
// cleanup registry: stop everything on process exit, plus a watchdog for SIGKILLed test runs

export interface Registered {
  /** Synchronous, best-effort immediate stop + rm -rf. Must never throw. */
  cleanupSync(): void;
}

const live = new Set<Registered>();
let hooksInstalled = false;

function cleanupAllSync(): void {
  for (const r of [...live]) {
    try {
      r.cleanupSync();
    } catch {
      /* best effort */
    }
    live.delete(r);
  }
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', cleanupAllSync);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSig = () => {
      // Only take over when nobody else handles the signal (otherwise they decide, and 'exit' covers us).
      if (process.listenerCount(sig) > 1) return;
      cleanupAllSync();
      process.removeListener(sig, onSig);
      process.kill(process.pid, sig);
    };
    process.on(sig, onSig);
  }
}

export function register(r: Registered): () => void {
  installHooks();
  live.add(r);
  return () => {
    live.delete(r);
  };
}

/**
 * Detached sh that waits for this node process to disappear (even by SIGKILL), then
 * immediate-stops the postmaster found in dataDir/postmaster.pid and removes tmpDir.
 * Returns a function that kills the watchdog.
 */
export function startWatchdog(dataDir: string, tmpDir: string): () => void {
  if (process.env.PGTAOS_TEST_NO_WATCHDOG) return () => undefined;
  const script = [
    'while kill -0 "$1" 2>/dev/null; do sleep 2; done',
    'pid=$(head -n1 "$2/postmaster.pid" 2>/dev/null)',
    'if [ -n "$pid" ] && grep -q postgres "/proc/$pid/comm" 2>/dev/null; then',
    '  kill -QUIT "$pid" 2>/dev/null; i=0',
    '  while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.2; i=$((i+1)); done',
    '  kill -KILL "$pid" 2>/dev/null',
    'fi',
    'case "$3" in */pgtaos-pgtest-*) rm -rf "$3" ;; esac',
  ].join('\n');
  try {
    const child = spawn('sh', ['-c', script, 'pgtaos-pg-watchdog', String(process.pid), dataDir, tmpDir], {
      detached: true,
      stdio: 'ignore',
    });
    child.on('error', () => undefined);
    child.unref();
    return () => {
      if (child.pid && child.exitCode === null) {
        try {
          process.kill(-child.pid, 'SIGKILL'); // the sh and its sleep
        } catch {
          /* gone */
        }
      }
    };
  } catch {
    return () => undefined;
  }
}

/** Synchronous immediate stop used from 'exit' handlers: SIGQUIT (= pg_ctl stop -m immediate), then SIGKILL. */
export function stopPostmasterSync(dataDir: string): void {
  const pid = postmasterPid(dataDir);
  if (!pid) return;
  try {
    process.kill(pid, 'SIGQUIT');
  } catch {
    return;
  }
  const end = Date.now() + 5000;
  while (isPidAlive(pid) && Date.now() < end) {
    spawnSync('sleep', ['0.05']);
  }
  if (isPidAlive(pid)) killPostmasterHard(pid);
}

export function rmrfSync(dir: string): void {
  try {
    fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  } catch {
    /* best effort */
  }
}

export const keepDirs = () => !!process.env.PGTAOS_TEST_KEEP_CLUSTERS;
