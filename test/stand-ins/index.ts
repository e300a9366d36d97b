// One import point for tests using the TDengine stand-ins (test code only; see README.md).
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Store } from './store.mjs';

export * from './store.mjs';
export { startTaosAdapter, executeSql } from './taosadapter.js';
export type { TaosAdapterHandle, StartTaosAdapterOptions } from './taosadapter.js';

/** This folder: put it first on PATH and `taosdump` is the stand-in. */
export const STAND_INS_DIR = path.dirname(fileURLToPath(import.meta.url));
export const TAOSDUMP_STAND_IN = path.join(STAND_INS_DIR, 'taosdump');
export const TAOSADAPTER_CLI = path.join(STAND_INS_DIR, 'taosadapter-cli.mjs');

/**
 * Environment for running code that calls `taosdump`: the stand-ins folder first on PATH,
 * TDSTANDIN_STORE set, TDENGINE_CLOUD_DSN removed (set it in `extra` to test that trap).
 */
export function standInEnv(store: string | Store, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.TDENGINE_CLOUD_DSN;
  return {
    ...env,
    TDSTANDIN_STORE: typeof store === 'string' ? store : store.dir,
    ...extra,
    PATH: `${STAND_INS_DIR}${path.delimiter}${extra.PATH ?? process.env.PATH ?? ''}`,
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
  cwd?: string;
  /** text written to stdin then closed; 'eof' (default) closes stdin at once; 'open' never writes nor closes it */
  stdin?: string | 'eof' | 'open';
  /** SIGKILL after this many ms (default 20000) */
  timeoutMs?: number;
}

/** Run `taosdump` (resolved through PATH, i.e. the stand-in) and collect its output. */
export function runTaosdump(args: string[], opts: RunOptions): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('taosdump', args, { env: standInEnv(opts.store, opts.env), cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
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
