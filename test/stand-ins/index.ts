// One import point for tests using the TDengine stand-ins (test code only; see README.md).
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Store } from './store.mjs';

export * from './store.mjs';
export { startTaosAdapter, executeSql } from './taosadapter.js';
export type { TaosAdapterHandle, StartTaosAdapterOptions } from './taosadapter.js';

/** This folder (the stand-ins' code; the `taosdump` tests run is a copy made by standInBin). */
export const STAND_INS_DIR = path.dirname(fileURLToPath(import.meta.url));
export const TAOSDUMP_STAND_IN = path.join(STAND_INS_DIR, 'taosdump');
export const TAOSADAPTER_CLI = path.join(STAND_INS_DIR, 'taosadapter-cli.mjs');

/**
 * The taosdump stand-in's own switches; a real taosdump has none. They travel in a file beside the
 * `taosdump` that standInBin writes, so the product passes nothing test-only to the tools it runs.
 */
export interface TaosdumpSwitches {
  /** `-V` output and the options that version has (default 3.3.6.13) */
  version?: string;
  /** real sleep between connection attempts (default 50; the message still says 1000ms) */
  retryMs?: number;
  /** sleep before each table (dump) and each file (restore), so a test can signal mid-run (default 0) */
  slowMs?: number;
  /** exit code of a restore that cannot connect (default 0, as reported on 3.3.6.13) */
  restoreConnectExit?: number;
}

/** What the stand-in reads beside its `taosdump`: the store and the switches. */
export const SETTINGS_FILE = 'taosdump.stand-in.json';

/**
 * A folder holding a `taosdump` (a two-line copy that runs taosdump.mjs) and, beside it, the
 * settings file naming `store` and `switches`. One folder per distinct switches, inside the store
 * folder (removed with it); written through a rename, so parallel callers never see half a file.
 */
export function standInBin(store: string | Store, switches: TaosdumpSwitches = {}): string {
  const storeDir = path.resolve(typeof store === 'string' ? store : store.dir);
  const settings = JSON.stringify({ store: storeDir, ...switches });
  const dir = path.join(storeDir, 'bin', createHash('sha256').update(settings).digest('hex').slice(0, 12));
  if (fs.existsSync(path.join(dir, 'taosdump'))) return dir;
  fs.mkdirSync(dir, { recursive: true });
  const put = (name: string, text: string, mode: number) => {
    const tmp = path.join(dir, `.${name}.${process.pid}.${Math.random().toString(36).slice(2)}`);
    fs.writeFileSync(tmp, text, { mode });
    fs.renameSync(tmp, path.join(dir, name));
  };
  put(SETTINGS_FILE, `${settings}\n`, 0o644);
  const entry = pathToFileURL(path.join(STAND_INS_DIR, 'taosdump.mjs')).href;
  put('taosdump', `#!/usr/bin/env node\n// taosdump STAND-IN for tests (test/stand-ins/README.md); settings: ${SETTINGS_FILE} beside this file.\nimport(${JSON.stringify(entry)});\n`, 0o755);
  return dir;
}

/**
 * Environment for running code that calls `taosdump`: standInBin(store, switches) first on PATH,
 * TDENGINE_CLOUD_DSN removed (set it in `extra` to test that trap).
 */
export function standInEnv(store: string | Store, extra: NodeJS.ProcessEnv = {}, switches: TaosdumpSwitches = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.TDENGINE_CLOUD_DSN;
  return {
    ...env,
    ...extra,
    PATH: `${standInBin(store, switches)}${path.delimiter}${extra.PATH ?? process.env.PATH ?? ''}`,
  };
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  store: string | Store;
  env?: NodeJS.ProcessEnv;
  switches?: TaosdumpSwitches;
  cwd?: string;
  /** text written to stdin then closed; 'eof' (default) closes stdin at once; 'open' never writes nor closes it */
  stdin?: string | 'eof' | 'open';
  /** SIGKILL after this many ms (default 20000) */
  timeoutMs?: number;
}

/** Run `taosdump` (resolved through PATH, i.e. the stand-in) and collect its output. */
export function runTaosdump(args: string[], opts: RunOptions): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('taosdump', args, { env: standInEnv(opts.store, opts.env, opts.switches), cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdin.on('error', () => {});
    const input = opts.stdin ?? 'eof';
    if (input === 'eof') child.stdin.end();
    else if (input !== 'open') child.stdin.end(input);
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 20_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Remove ANSI colour codes (taosdump's reset ESC[0m starts the NEXT line). */
// eslint-disable-next-line no-control-regex -- ESC is what is stripped
export const stripAnsi = (s: string): string => s.replace(/\x1b\[[0-9;]*m/g, '');

/** Lines of an output with ANSI codes removed. */
export const plainLines = (s: string): string[] => stripAnsi(s).split('\n').filter((l) => l !== '');
