/**
 * A throwaway postmaster on a recovered data directory: loopback only, its own socket folder and
 * pg_hba (trust on the socket, which only our user can reach; scram on 127.0.0.1), no archiving,
 * no SSL files of the production host. The data directory's own files are not edited, except that a
 * missing postgresql.conf (Debian keeps it in /etc) is created empty, since PostgreSQL needs one.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { JobError, UsageError } from '../../errors.js';
import { childEnv, type EngineContext } from '../engine.js';
import { runTool } from '../exec.js';

export interface Postmaster {
  dataDir: string;
  port: number;
  /** Folder of the socket, the hba and ident files (0700, ours). */
  runDir: string;
  logFile: string;
}

const SAFE_PATH = /^[^'"\\$`\n]+$/;

/** A path handed to the server through pg_ctl -o (a shell line): no quotes or expansions. */
export function checkServerPath(p: string, what: string): void {
  if (!SAFE_PATH.test(p)) throw new UsageError('pitr.bad_path', `${what} ${JSON.stringify(p)} holds a quote, backslash, $ or backtick`, { hint: 'Choose a folder whose path has none of these characters.' });
}

/** Pure: the options the throwaway server starts with (pg_ctl -o). */
export function serverOptions(pm: Postmaster): string {
  const c = (k: string, v: string) => `-c ${k}='${v}'`;
  return [
    `-p ${pm.port}`,
    c('listen_addresses', '127.0.0.1'),
    c('unix_socket_directories', pm.runDir),
    c('hba_file', path.join(pm.runDir, 'pg_hba.conf')),
    c('ident_file', path.join(pm.runDir, 'pg_ident.conf')),
    c('archive_mode', 'off'),
    c('hot_standby', 'off'),
    c('ssl', 'off'),
    c('logging_collector', 'off'),
    c('log_destination', 'stderr'),
    c('synchronous_standby_names', ''),
    c('cluster_name', 'pgtaos_pitr'),
  ].join(' ');
}

export async function preparePostmaster(dataDir: string, port: number): Promise<Postmaster> {
  checkServerPath(dataDir, 'the data directory');
  const runDir = await fs.mkdtemp(path.join(os.tmpdir(), 'pgtaos-pitr-run-'));
  await fs.writeFile(path.join(runDir, 'pg_hba.conf'), 'local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n', { mode: 0o600 });
  await fs.writeFile(path.join(runDir, 'pg_ident.conf'), '', { mode: 0o600 });
  const conf = path.join(dataDir, 'postgresql.conf');
  await fs.writeFile(conf, '# written by pgtaos-backup: the recovered directory had none\n', { flag: 'wx', mode: 0o600 }).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'EEXIST') throw e;
  });
  return { dataDir, port, runDir, logFile: path.join(path.dirname(dataDir), `${path.basename(dataDir)}.log`) };
}

async function logTail(file: string): Promise<string[]> {
  const text = await fs.readFile(file, 'utf8').catch(() => '');
  return text.split('\n').filter(Boolean).slice(-60);
}

/** Pure: what the server's log says about how the recovery ended, in plain words, or null. */
export function explainRecoveryFailure(lines: string[]): string | null {
  const text = lines.join('\n');
  if (/recovery ended before configured recovery target was reached/.test(text)) {
    return 'the WAL ends before the recovery target: a segment between the base backup and the target is missing or damaged';
  }
  if (/control file|pg_control|database files are incompatible with server/.test(text)) return 'the base backup is damaged: its control file (global/pg_control) cannot be read';
  if (/invalid checkpoint record|could not locate a valid checkpoint record|invalid contrecord|could not find redo location/.test(text)) {
    return 'the base backup is damaged: its checkpoint record cannot be read';
  }
  if (/invalid page|could not read block|checksum verification failed|could not open file|PANIC/.test(text)) {
    return 'the recovered data is damaged: PostgreSQL could not read it during recovery';
  }
  return null;
}

function recoveryFailed(pm: Postmaster, tail: string[]): JobError {
  const why = explainRecoveryFailure(tail) ?? 'PostgreSQL did not start on the recovered directory';
  const fatal = tail.filter((l) => /FATAL|PANIC/.test(l)).slice(-3).map((l) => l.replace(/^.*?(FATAL|PANIC)/, '$1'));
  return new JobError('pitr.recovery_failed', `recovery failed: ${why}${fatal.length ? ` (server said: ${fatal.join(' | ')})` : ''}`, {
    hint: `The server's log is ${pm.logFile} while the scratch folder exists; \`barman -c <barman_home>/barman.conf check\` and \`list-backups\` show the chain.`,
  });
}

async function running(pm: Postmaster, binDir: string, env: NodeJS.ProcessEnv): Promise<boolean> {
  const r = await runTool({ file: path.join(binDir, 'pg_ctl'), args: ['-D', pm.dataDir, 'status'], env: childEnv(env, {}) });
  return r.exitCode === 0;
}

/**
 * Starts it and waits until recovery has reached the target and promoted: with hot_standby off the
 * server takes connections only then (pg_ctl -w returns earlier, at "standby"), and PostgreSQL 14+
 * stops with a FATAL when the WAL ends before the target. Returns the log's "recovery stopping" line.
 */
export async function startPostmaster(pm: Postmaster, binDir: string, timeoutSeconds: number, ctx: EngineContext, user: string): Promise<string | null> {
  const r = await runTool({
    file: path.join(binDir, 'pg_ctl'),
    args: ['-D', pm.dataDir, '-l', pm.logFile, '-w', '-t', String(timeoutSeconds), '-o', serverOptions(pm), 'start'],
    env: childEnv(ctx.env, {}),
    signal: ctx.signal,
  });
  if (r.cancelled) throw ctx.signal.reason;
  if (r.spawnError) throw new UsageError('pitr.no_server_binaries', `pg_ctl cannot be started from ${binDir}: ${r.spawnError}`, { hint: 'Set pitr.bin_dir to the PostgreSQL server binaries of the production major version (Debian/PGDG: apt install postgresql-17).' });
  if (r.exitCode !== 0) throw recoveryFailed(pm, await logTail(pm.logFile));
  const deadline = Date.now() + timeoutSeconds * 1000;
  for (;;) {
    if (ctx.signal.aborted) throw ctx.signal.reason;
    try {
      const c = await connectLocal(pm, user, 'postgres');
      await c.end().catch(() => undefined);
      break;
    } catch (err) {
      if (!(await running(pm, binDir, ctx.env))) throw recoveryFailed(pm, await logTail(pm.logFile));
      if (Date.now() > deadline) throw new JobError('pitr.recovery_failed', `recovery did not reach the target within ${timeoutSeconds} s (last: ${(err as Error).message})`, { hint: 'Raise pitr.recovery_timeout_seconds, or recover to an earlier point.' });
      await new Promise((res) => setTimeout(res, 500));
    }
  }
  const tail = await logTail(pm.logFile);
  return tail.find((l) => /recovery stopping/.test(l))?.replace(/^.*?LOG:\s*/, '') ?? null;
}

/** Stops it (fast, then immediate) when it runs; never throws. */
export async function stopPostmaster(pm: Postmaster, binDir: string, env: NodeJS.ProcessEnv, mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
  const pgCtl = path.join(binDir, 'pg_ctl');
  if (!(await running(pm, binDir, env))) return;
  const r = await runTool({ file: pgCtl, args: ['-D', pm.dataDir, '-m', mode, '-w', '-t', '60', 'stop'], env: childEnv(env, {}) });
  if (r.exitCode !== 0 && mode === 'fast') await runTool({ file: pgCtl, args: ['-D', pm.dataDir, '-m', 'immediate', '-w', '-t', '60', 'stop'], env: childEnv(env, {}) });
}

/** A session on the throwaway server through its socket (trust: only our user can reach the folder). */
export async function connectLocal(pm: Postmaster, user: string, database: string): Promise<pg.Client> {
  const client = new pg.Client({ host: pm.runDir, port: pm.port, user, database, application_name: 'pgtaos_pitr_verify' });
  await client.connect();
  return client;
}

/** Databases a person can connect to (templates left out). */
export async function listDatabases(pm: Postmaster, user: string): Promise<string[]> {
  const c = await connectLocal(pm, user, 'postgres');
  try {
    const r = await c.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY datname');
    return r.rows.map((x) => x.datname);
  } finally {
    await c.end().catch(() => undefined);
  }
}
