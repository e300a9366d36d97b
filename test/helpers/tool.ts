/**
 * Runs the built CLI (dist/cli.js) or action (dist/index.js) as users and the runner do:
 * a separate node process, env only, output captured.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import type { Cluster } from './pg-common.js';
import { DIST_ACTION, DIST_CLI, REPO } from './dist.js';
import { ACTION_INPUTS } from '../../src/inputs/options.js';
import { procStart, type LockInfo } from '../../src/catalog/lock.js';

// The bundles under test (PGTAOS_TEST_DIST or dist/) are defined once, in dist.ts.
export { REPO };
export const CLI = DIST_CLI;
export const ACTION = DIST_ACTION;

export interface ToolRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface Started {
  child: ChildProcess;
  done: Promise<ToolRun>;
}

export interface StartOptions {
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** The node binary that runs the bundle; default the one running the tests. */
  node?: string;
}

export function start(script: string, args: string[], opts: StartOptions): Started {
  const child = spawn(opts.node ?? process.execPath, [script, ...args], { env: opts.env, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<ToolRun>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { child, done };
}

export function cli(args: string[], opts: StartOptions): Promise<ToolRun> {
  return start(CLI, args, opts).done;
}

/** The environment a user's shell would give: PATH and friends, the cluster's password only as PGPASSWORD. */
export function userEnv(cluster: Cluster | null, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const k of ['PATH', 'HOME', 'TMPDIR', 'LANG']) if (process.env[k]) env[k] = process.env[k];
  // Put the cluster's client binaries first, as a user with matching tools would have.
  if (cluster) {
    env.PATH = `${cluster.clientBinDir}:${env.PATH ?? '/usr/bin:/bin'}`;
    env.PGPASSWORD = cluster.password;
  }
  return { ...env, ...extra };
}

export interface Workspace {
  dir: string;
  root: string;
  configFile: string;
}

/**
 * A temp folder with a config file for `cluster` and database `db`; `extra` keys are added to the
 * config (or replace its own). `opts.dir`: that folder instead of a new temp one (made if missing).
 */
export function workspace(cluster: Cluster | null, db: string, extra: Record<string, unknown> = {}, opts: { dir?: string } = {}): Workspace {
  const dir = opts.dir ?? mkdtempSync(path.join(os.tmpdir(), 'pgtaos-ws-'));
  mkdirSync(dir, { recursive: true });
  const root = typeof extra.root === 'string' ? extra.root : path.join(dir, 'backups');
  const config: Record<string, unknown> = {
    root,
    timezone: 'Asia/Shanghai',
    min_free_gb: 0,
    ...(cluster ? { postgres: { host: cluster.host, port: cluster.port, user: cluster.user, database: db, jobs: 2 } } : {}),
    ...extra,
  };
  const configFile = path.join(dir, 'pgtaos-backup.yml');
  writeFileSync(configFile, stringify(config));
  return { dir, root, configFile };
}

/** Rewrites the workspace's config file: `patch` gets the parsed config and returns the new one. */
export function rewriteConfig(ws: Workspace, patch: (config: Record<string, unknown>) => Record<string, unknown>): void {
  writeFileSync(ws.configFile, stringify(patch(parse(readFileSync(ws.configFile, 'utf8')) as Record<string, unknown>)));
}

/** The workspace's postgres: section with `extra` keys added (e.g. bin_dir, jobs). */
export function withPostgres(ws: Workspace, extra: Record<string, unknown>): void {
  rewriteConfig(ws, (c) => ({ ...c, postgres: { ...(c.postgres as Record<string, unknown>), ...extra } }));
}

/** The set folders of one kind under the workspace's root. */
export function setDirs(ws: Workspace, kind = 'daily'): string[] {
  const d = path.join(ws.root, kind);
  return existsSync(d) ? readdirSync(d) : [];
}

/** Work in progress (or left by a killed run) under <root>/.incomplete/. */
export function incompleteDirs(ws: Workspace): string[] {
  const d = path.join(ws.root, '.incomplete');
  return existsSync(d) ? readdirSync(d) : [];
}

export function json<T = unknown>(run: ToolRun): T {
  try {
    return JSON.parse(run.stdout) as T;
  } catch {
    throw new Error(`stdout is not JSON (exit ${run.code}):\n${run.stdout}\n--- stderr ---\n${run.stderr}`);
  }
}

export function readJson<T = unknown>(file: string): T {
  return JSON.parse(readFileSync(file, 'utf8')) as T;
}

/** Parses the file-command format (`NAME<<DELIM` ... `DELIM`, or `NAME=value`). */
export function parseFileCommands(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    const heredoc = /^([^=<]+)<<(.+)$/.exec(l);
    if (heredoc) {
      const [, name, delim] = heredoc;
      const value: string[] = [];
      for (i++; i < lines.length && lines[i] !== delim; i++) value.push(lines[i]!);
      out[name!] = value.join('\n');
    } else if (l.includes('=')) {
      out[l.slice(0, l.indexOf('='))] = l.slice(l.indexOf('=') + 1);
    }
  }
  return out;
}

/**
 * The built action, spawned as the runner does: every declared input as INPUT_*, the file commands
 * as files, cwd the workspace. `opts.node`: the node binary (the runner's externals/node24), default the tests'.
 */
export function launchAction(ws: Workspace, inputs: Record<string, string>, extraEnv: NodeJS.ProcessEnv = {}, opts: { node?: string } = {}): Started & { outputFile: string; summaryFile: string } {
  const outputFile = path.join(ws.dir, 'github_output');
  const summaryFile = path.join(ws.dir, 'step_summary');
  writeFileSync(outputFile, '');
  writeFileSync(summaryFile, '');
  // The runner sets every declared input: its value, its default, or "".
  const env: NodeJS.ProcessEnv = { ...userEnv(null), ...extraEnv, GITHUB_ACTIONS: 'true', GITHUB_WORKSPACE: ws.dir, GITHUB_OUTPUT: outputFile, GITHUB_STEP_SUMMARY: summaryFile, RUNNER_TEMP: ws.dir };
  for (const [name, spec] of Object.entries(ACTION_INPUTS)) env[`INPUT_${name.toUpperCase()}`] = inputs[name] ?? spec.default ?? '';
  return { ...start(ACTION, [], { env, cwd: ws.dir, node: opts.node }), outputFile, summaryFile };
}

export function actionFiles(a: { outputFile: string; summaryFile: string }): { outputs: Record<string, string>; summary: string } {
  return { outputs: parseFileCommands(readFileSync(a.outputFile, 'utf8')), summary: readFileSync(a.summaryFile, 'utf8') };
}

export async function runAction(ws: Workspace, inputs: Record<string, string>, extraEnv: NodeJS.ProcessEnv = {}, opts: { node?: string } = {}): Promise<ToolRun & { outputs: Record<string, string>; summary: string }> {
  const launched = launchAction(ws, inputs, extraEnv, opts);
  const r = await launched.done;
  return { ...r, ...actionFiles(launched) };
}


// ---------- lock holders, for <root>/.lock fixtures ----------

/** A lock holder that is alive: this test process (its pid, host and start time). */
export function liveLockInfo(over: Partial<LockInfo> = {}): LockInfo {
  return { pid: process.pid, hostname: os.hostname(), proc_start: procStart(process.pid), command: 'backup', started_at: '2026-11-25T00:00:03.000+08:00', ...over };
}

/** A pid that existed and is gone: a finished child's. */
export function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '']).pid!;
}

/** A lock holder that is gone (a finished child's pid, a start time no process has): its lock is stale. */
export function deadLockInfo(over: Partial<LockInfo> = {}): LockInfo {
  return { pid: deadPid(), hostname: os.hostname(), proc_start: '1', command: 'backup', started_at: '2026-11-24T00:00:03.000+08:00', ...over };
}
