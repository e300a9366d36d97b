/**
 * Shared by the fault suite (e2e/faults.test.ts), the cancellation tests (e2e/cancel.test.ts) and
 * the restore tests: run the bundle under test (PGTAOS_TEST_DIST or dist/), an earlier complete
 * and VERIFIED set to start from, snapshots of the catalog, the tool's child processes from /proc
 * (and signalling a run mid-way), a throttling TCP proxy (loopback only), and the four invariants
 * every fault case is held to:
 *   E  earlier sets still complete, unchanged, and `verify` passes on them
 *   I  no incomplete set counted (list --json and status agree with what is really complete)
 *   L  the lock is free (no <root>/.lock*)
 *   M  the message says what happened
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { expect } from 'vitest';
import { CLI, cli, incompleteDirs, json, start, userEnv, type Started, type ToolRun, type Workspace } from './tool.js';
import { descendants, readProc, waitFor, type Proc } from './pg-common.js';
import { sha256File } from '../../src/catalog/checksum.js';
import type { RunResult } from '../../src/report/result.js';

/** The built CLI under test, as a user runs it, in the workspace's folder. */
export function launch(ws: Workspace, args: string[], env: NodeJS.ProcessEnv): Started {
  return start(CLI, args, { env, cwd: ws.dir });
}
export function run(ws: Workspace, args: string[], env: NodeJS.ProcessEnv): Promise<ToolRun> {
  return cli(args, { env, cwd: ws.dir });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Polls until `cond` holds. When `started` is given and that run ends first, fails with its stderr:
 * a fault that was meant to land mid-run must not silently land after it.
 */
export async function until(cond: () => boolean, what: string, opts: { started?: Started; timeoutMs?: number } = {}): Promise<void> {
  let ended: ToolRun | null = null;
  void opts.started?.done.then((r) => (ended = r));
  const stopIf = () => (ended ? `the run ended (exit ${(ended as ToolRun).code}) before ${what}:\n${(ended as ToolRun).stderr}` : null);
  await waitFor(cond, opts.timeoutMs ?? 60_000, what, { pollMs: 20, stopIf });
}

// ---------- processes, from /proc (pg-common.ts reads it) ----------

export { descendants, type Proc };

/** Those of `procs` still running (same pid and start time, not a zombie). */
export function stillRunning(procs: Proc[]): Proc[] {
  return procs.filter((p) => {
    const now = readProc(p.pid);
    return now !== null && now.start === p.start && now.state !== 'Z';
  });
}

/** Waits for a descendant of the run whose command line matches, and returns it. */
export async function waitForChild(started: Started, match: (cmd: string) => boolean, what: string, timeoutMs?: number): Promise<Proc> {
  let found: Proc | undefined;
  await until(() => (found = descendants(started.child.pid!).find((p) => match(p.cmd))) !== undefined, what, { started, timeoutMs });
  return found!;
}

/**
 * Signals a run mid-way and checks it left no child running: waits for a child whose command line
 * matches (when `matchChild` is given; it must be among the children signalled), snapshots the
 * run's descendants, sends `signal`, awaits the end, then expects none of them still running
 * (at once, or within `graceMs`: a pg_restore -j leader stops its workers as it exits).
 * `ms`: from the signal to the end of the run.
 */
export async function interrupt(
  started: Started,
  signal: NodeJS.Signals,
  matchChild?: (cmd: string) => boolean,
  opts: { what?: string; timeoutMs?: number; graceMs?: number } = {},
): Promise<{ r: ToolRun; children: Proc[]; ms: number }> {
  const what = opts.what ?? 'the child to be running';
  if (matchChild) await waitForChild(started, matchChild, what, opts.timeoutMs);
  const children = descendants(started.child.pid!);
  if (matchChild) expect(children.some((p) => matchChild(p.cmd)), `${what}: among the children signalled`).toBe(true);
  const t0 = Date.now();
  started.child.kill(signal);
  const r = await started.done;
  const ms = Date.now() - t0;
  if (opts.graceMs) await waitFor(() => stillRunning(children).length === 0, opts.graceMs, `the children (${children.map((c) => c.cmd.split(' ')[0]).join(', ')}) to be gone`);
  else expect(stillRunning(children)).toEqual([]);
  return { r, children, ms };
}

/** The file (default mystocks.dump) of a run's work under <root>/.incomplete/ has started to grow. */
export const dumpStarted = (ws: Workspace, file = 'mystocks.dump') => () =>
  incompleteDirs(ws).some((d) => {
    const f = path.join(ws.root, '.incomplete', d, file);
    return existsSync(f) && statSync(f).size > 0;
  });

// ---------- the catalog ----------

/**
 * Every set folder under the kind folders, with the SHA-256 of its manifest (or "no manifest"):
 * two equal snapshots mean no set appeared, vanished or changed its manifest.
 */
export async function catalogSnapshot(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const kind of ['daily', 'milestone', 'config', 'safety']) {
    const d = path.join(root, kind);
    if (!existsSync(d)) continue;
    for (const id of readdirSync(d).sort()) {
      const mf = path.join(d, id, 'manifest.json');
      out[`${kind}/${id}`] = existsSync(mf) ? await sha256File(mf) : 'no manifest';
    }
  }
  return out;
}

/** Lock files of any kind (the lock, its takeover guard, temp files): none once every run ended. */
export function lockFiles(root: string): string[] {
  return existsSync(root) ? readdirSync(root).filter((f) => f.startsWith('.lock')) : [];
}

export interface ListedSet {
  id: string;
  kind: string;
  status: string;
  reason: string | null;
  path: string;
  bytes: number;
}
export async function listed(ws: Workspace): Promise<ListedSet[]> {
  const r = await run(ws, ['list', '--json'], userEnv(null));
  return json<{ sets: ListedSet[] }>(r).sets;
}

/** `backup [extraArgs] --json`, which must succeed: the set it made. */
export async function backupSet(ws: Workspace, env: NodeJS.ProcessEnv, extraArgs: string[] = []): Promise<NonNullable<RunResult['set']>> {
  const r = await run(ws, ['backup', ...extraArgs, '--json'], env);
  expect(r.code, r.stderr).toBe(0);
  return json<RunResult>(r).set!;
}

export interface EarlierSet {
  id: string;
  path: string;
  /** SHA-256 of every file in the set folder except verification.json / remotes.json (written beside it later). */
  files: Record<string, string>;
}

async function setFiles(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const f of filesUnder(dir)) if (!['verification.json', 'remotes.json'].includes(f)) out[f] = await sha256File(path.join(dir, f));
  return out;
}

/** An earlier set every fault case starts from: backed up, then verified (verification.json says passed). */
export async function verifiedSet(ws: Workspace, env: NodeJS.ProcessEnv): Promise<EarlierSet> {
  const set = await backupSet(ws, env);
  const v = await run(ws, ['verify', set.id], env);
  expect(v.code, v.stderr).toBe(0);
  expect(JSON.parse(readFileSync(path.join(set.path, 'verification.json'), 'utf8'))).toMatchObject({ result: 'passed' });
  return { id: set.id, path: set.path, files: await setFiles(set.path) };
}

/** E: the earlier set is listed complete, not one byte of it changed, and it still verifies. */
export async function earlierIntact(ws: Workspace, env: NodeJS.ProcessEnv, earlier: EarlierSet, opts: { verify?: boolean } = {}): Promise<void> {
  const sets = await listed(ws);
  expect(sets.find((s) => s.id === earlier.id), `${earlier.id} listed`).toMatchObject({ status: 'complete' });
  expect(await setFiles(earlier.path)).toEqual(earlier.files);
  if (opts.verify ?? true) {
    const v = await run(ws, ['verify', earlier.id], env);
    expect(v.code, `verify ${earlier.id}: ${v.stderr}`).toBe(0);
  }
}

/**
 * I: the sets list --json calls complete are exactly `complete` (ids), each with a manifest in its
 * kind folder; status's "incomplete sets" row fails exactly when a damaged set folder exists
 * (`damaged`), naming it.
 */
export async function noIncompleteCounted(ws: Workspace, complete: string[], damaged: string[] = []): Promise<void> {
  const sets = await listed(ws);
  expect(sets.filter((s) => s.status === 'complete').map((s) => s.id).sort()).toEqual([...complete].sort());
  for (const s of sets.filter((x) => x.status === 'complete')) expect(existsSync(path.join(s.path, 'manifest.json')), s.path).toBe(true);
  const st = await run(ws, ['status', '--json'], userEnv(null));
  const row = json<RunResult>(st).checks.find((c) => c.name === 'incomplete sets');
  if (damaged.length === 0) expect(row).toMatchObject({ result: 'passed' });
  else {
    expect(row).toMatchObject({ result: 'failed' });
    for (const id of damaged) expect(row!.detail).toContain(id);
  }
}

/** L: no lock file of any kind is left. */
export function lockIsFree(ws: Workspace): void {
  expect(lockFiles(ws.root)).toEqual([]);
}

/** The first line of the error the run reported (its JSON report, else the first `error:` line). */
export function firstError(r: ToolRun): string | null {
  try {
    const j = JSON.parse(r.stdout) as RunResult;
    if (j.error) return j.error.message.split('\n')[0] ?? null;
  } catch {
    /* no JSON on stdout: fall back to the log */
  }
  const line = r.stderr.split('\n').find((l) => l.startsWith('error: '));
  return line ? line.slice('error: '.length) : null;
}

/** The last `error: hint:` line of the log (run.ts prints the message, then the hint, then the outcome line). */
export function lastHint(stderr: string): string {
  return stderr.split('\n').filter((l) => l.startsWith('error: hint: ')).at(-1) ?? '';
}

/** The run's report file (logs/<time>-<command>-<pid>.json). */
export function reportOf(ws: Workspace, command: string, pid: number): RunResult | null {
  const d = path.join(ws.root, 'logs');
  const f = existsSync(d) ? readdirSync(d).find((n) => n.endsWith(`-${command}-${pid}.json`)) : undefined;
  return f ? (JSON.parse(readFileSync(path.join(d, f), 'utf8')) as RunResult) : null;
}

// ---------- a throttling TCP proxy ----------

export interface Throttle {
  port: number;
  /** Bytes per second from the client to the server; null: no limit. */
  setRate(bytesPerSecond: number | null): void;
  /** Bytes that went from clients to the server. */
  readonly sent: number;
  close(): Promise<void>;
}

/** 127.0.0.1 -> 127.0.0.1:targetPort, slowing what the client sends (so a test can cut an upload mid-way). */
export async function throttle(targetPort: number, bytesPerSecond: number | null): Promise<Throttle> {
  let rate = bytesPerSecond;
  let sent = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    sockets.add(client).add(upstream);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    upstream.pipe(client);
    let queue = Promise.resolve();
    client.on('data', (chunk: Buffer) => {
      client.pause();
      queue = queue.then(async () => {
        if (rate) await sleep((chunk.length / rate) * 1000);
        if (!upstream.destroyed) upstream.write(chunk);
        sent += chunk.length;
        client.resume();
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    port: (server.address() as net.AddressInfo).port,
    setRate: (r) => (rate = r),
    get sent() {
      return sent;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

// ---------- a port that only counts who connects ----------

/** A listener on 127.0.0.1 that counts connections (and closes them): proves a run connected to nothing. */
export async function connectionCounter(): Promise<{ port: number; readonly connections: number; close(): Promise<void> }> {
  let connections = 0;
  const server = net.createServer((s) => {
    connections++;
    s.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    port: (server.address() as net.AddressInfo).port,
    get connections() {
      return connections;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Every file under `dir` (relative paths), to show a run created nothing. */
export function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(path.join(d, e.name), r);
      else out.push(r);
    }
  };
  walk(dir, '');
  return out.sort();
}
