/**
 * The PostgreSQL client tools: finding pg_dump/pg_restore, the environment they get, reading their
 * version, and running them with their stderr logged and judged.
 */
import path from 'node:path';
import { JobError, UsageError } from '../../errors.js';
import { findBinary } from '../binaries.js';
import { childEnv, type EngineContext } from '../engine.js';
import { readTool, runTool, type ToolResult } from '../exec.js';
import { parseClientVersion, type PgVersion } from './versions.js';

export const INSTALL_HINT = 'Install the PostgreSQL client tools of the server\'s major version (Debian/Ubuntu: apt install postgresql-client-17 from apt.postgresql.org).';

export type PgTool = 'pg_dump' | 'pg_restore' | 'pg_dumpall';

/** In bin_dir, else on PATH; a missing tool is a setup error (exit 2). */
export function findPgTool(name: PgTool, binDir: string | undefined, env: NodeJS.ProcessEnv): string {
  return findBinary(name, binDir, env, INSTALL_HINT);
}

/** The child's environment for a tool that connects: PGSSL*, PGCONNECT_TIMEOUT and friends pass; the password only as PGPASSWORD. */
export function pgToolEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return childEnv(env, { PGAPPNAME: 'pgtaos-backup', PGCONNECT_TIMEOUT: env.PGCONNECT_TIMEOUT ?? '10' }, ['PG']);
}

/** `<tool> --version`, parsed; unreadable is an error naming the binary. */
export async function readClientVersion(bin: string, env: NodeJS.ProcessEnv): Promise<PgVersion> {
  const r = await readTool(bin, ['--version'], pgToolEnv(env));
  const v = parseClientVersion(r.out);
  if (!r.ok || !v) throw new JobError('postgres.client_version', `cannot read the version of ${bin}: ${r.err || r.out}`, { hint: INSTALL_HINT });
  return v;
}

/** pg_dump prints warnings it survives ("pg_dump: warning: ...") and errors it does not. */
export function isDumpErrorLine(line: string): boolean {
  return /^pg_(dump|restore): error:/.test(line) || /\b(FATAL|PANIC):/.test(line) || /^pg_(dump|restore): \[/.test(line);
}

/** The binary could not be started at all. */
export function spawnFailed(bin: string, why: string): UsageError {
  return new UsageError('postgres.spawn', `cannot run ${bin}: ${why}`, { hint: INSTALL_HINT });
}

export interface PgToolRun {
  result: ToolResult;
  stderr: string[];
}

/**
 * Runs pg_dump or pg_restore (which connect: they get pgToolEnv) with the command line and each
 * stderr line logged (but those `quiet` takes). A spawn failure is thrown; the exit code is the caller's to judge.
 */
export async function runPgTool(tool: PgTool, bin: string, args: string[], ctx: EngineContext, quiet?: (line: string) => boolean): Promise<PgToolRun> {
  const { log, env, signal } = ctx;
  log.info(`$ ${path.basename(bin)} ${args.join(' ')}`);
  const stderr: string[] = [];
  const result = await runTool({
    file: bin,
    args,
    env: pgToolEnv(env),
    signal,
    onStderr: (l) => {
      // Lines `quiet` takes (pg_restore -v's one per entry) are counted by it, not logged or kept.
      if (quiet?.(l)) return;
      stderr.push(l);
      log.info(`${tool}: ${l.replace(new RegExp(`^${tool}: `), '')}`);
    },
  });
  return { result, stderr };
}

/** "killed by SIGKILL" / "exit 1", for failure messages. */
export function howEnded(r: ToolResult): string {
  return r.signal ? `killed by ${r.signal}` : `exit ${r.exitCode}`;
}
