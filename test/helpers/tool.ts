/**
 * Runs the built CLI (dist/cli.js) or action (dist/index.js) as users and the runner do:
 * a separate node process, env only, output captured.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import type { Cluster } from './pg-common.js';
import { ACTION_INPUTS } from '../../src/inputs/options.js';

export const REPO = path.resolve(new URL('../..', import.meta.url).pathname);
// PGTAOS_TEST_DIST=/folder: a build made elsewhere (scripts/build.sh /folder), as in helpers/dist.ts.
const BUNDLES = process.env.PGTAOS_TEST_DIST ? path.resolve(process.env.PGTAOS_TEST_DIST) : path.join(REPO, 'dist');
export const CLI = path.join(BUNDLES, 'cli.js');
export const ACTION = path.join(BUNDLES, 'index.js');

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

export function start(script: string, args: string[], opts: { env: NodeJS.ProcessEnv; cwd: string }): Started {
  const child = spawn(process.execPath, [script, ...args], { env: opts.env, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<ToolRun>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { child, done };
}

export function cli(args: string[], opts: { env: NodeJS.ProcessEnv; cwd: string }): Promise<ToolRun> {
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

/** A temp folder with a config file for `cluster` and database `db`. */
export function workspace(cluster: Cluster | null, db: string, extra: Record<string, unknown> = {}): Workspace {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pgtaos-ws-'));
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

/** The built action, spawned as the runner does: every declared input as INPUT_*, the file commands as files. */
export function launchAction(ws: Workspace, inputs: Record<string, string>, extraEnv: NodeJS.ProcessEnv = {}): Started & { outputFile: string; summaryFile: string } {
  const outputFile = path.join(ws.dir, 'github_output');
  const summaryFile = path.join(ws.dir, 'step_summary');
  writeFileSync(outputFile, '');
  writeFileSync(summaryFile, '');
  // The runner sets every declared input: its value, its default, or "".
  const env: NodeJS.ProcessEnv = { ...userEnv(null), ...extraEnv, GITHUB_ACTIONS: 'true', GITHUB_WORKSPACE: ws.dir, GITHUB_OUTPUT: outputFile, GITHUB_STEP_SUMMARY: summaryFile, RUNNER_TEMP: ws.dir };
  for (const [name, spec] of Object.entries(ACTION_INPUTS)) env[`INPUT_${name.toUpperCase()}`] = inputs[name] ?? spec.default ?? '';
  return { ...start(ACTION, [], { env, cwd: ws.dir }), outputFile, summaryFile };
}

export function actionFiles(a: { outputFile: string; summaryFile: string }): { outputs: Record<string, string>; summary: string } {
  return { outputs: parseFileCommands(readFileSync(a.outputFile, 'utf8')), summary: readFileSync(a.summaryFile, 'utf8') };
}

export async function runAction(ws: Workspace, inputs: Record<string, string>, extraEnv: NodeJS.ProcessEnv = {}): Promise<ToolRun & { outputs: Record<string, string>; summary: string }> {
  const launched = launchAction(ws, inputs, extraEnv);
  const r = await launched.done;
  return { ...r, ...actionFiles(launched) };
}

