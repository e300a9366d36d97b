/**
 * Throw-away PostgreSQL clusters for tests, built from the machine's PostgreSQL binaries
 * (Debian: /usr/lib/postgresql/<highest>/bin; override with PGTAOS_TEST_PG_BIN).
 *
 *   const c = await startCluster();
 *   await c.createDb('market');
 *   await c.psql('SELECT 1', 'market');      // '1'
 *   execa('pg_dump', [...], { env: c.env });  // PGHOST/PGPORT/PGUSER/PGPASSWORD
 *   await c.destroy();
 *
 * - Listens on 127.0.0.1 only (random free port) and on a unix socket inside its own temp dir.
 * - scram-sha-256 everywhere (also on the socket) with a random password: nothing connects without it.
 * - When we are root the server runs as the `postgres` OS user (PostgreSQL refuses root).
 * - Clusters still running when the process exits are stopped (immediate) and removed; a detached
 *   watchdog does the same if the test process is SIGKILLed. PGTAOS_TEST_KEEP_CLUSTERS=1 keeps dirs.
 */
import fs from 'node:fs';
import path from 'node:path';
import {
  HOST,
  asServerUser,
  chownToServerUser,
  cleanEnv,
  findPgBinDir,
  freePort,
  keepDirs,
  killPostmasterHard,
  settleAfterKill,
  makeClusterTempDir,
  makePsql,
  makeQuery,
  parseServerVersionNum,
  postmasterPid,
  quoteIdent,
  randomPassword,
  register,
  rmrfSync,
  run,
  startWatchdog,
  stopPostmasterSync,
  type Cluster,
} from './pg-common.js';

export type { Cluster } from './pg-common.js';
export { findPgBinDir } from './pg-common.js';

export interface StartClusterOptions {
  /** Used in the temp dir name, for humans reading `ps`/`ls /tmp`. */
  name?: string;
  /** Extra postgresql.conf lines (e.g. { max_connections: '50' }). */
  settings?: Record<string, string>;
}

const START_ATTEMPTS = 5;

function confValue(v: string): string {
  return `'${v.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

export async function startCluster(opts: StartClusterOptions = {}): Promise<Cluster> {
  const binDir = findPgBinDir();
  const tmpDir = makeClusterTempDir(opts.name);
  const dataDir = path.join(tmpDir, 'data');
  const logFile = path.join(dataDir, 'postgres.log');
  const password = randomPassword();
  const asPg = asServerUser();
  const pgCtl = path.join(binDir, 'pg_ctl');

  let port = 0;
  let destroyed = false;
  let stopWatchdog: () => void = () => undefined;

  const unregister = register({
    cleanupSync() {
      stopWatchdog();
      stopPostmasterSync(dataDir);
      if (!keepDirs()) rmrfSync(tmpDir);
    },
  });

  const fail = async (err: unknown): Promise<never> => {
    stopWatchdog();
    stopPostmasterSync(dataDir);
    if (!keepDirs()) rmrfSync(tmpDir);
    unregister();
    throw err;
  };

  try {
    // initdb: password only via a 0600 file that is deleted right after.
    const pwFile = path.join(tmpDir, 'pwfile');
    fs.writeFileSync(pwFile, password + '\n', { mode: 0o600 });
    chownToServerUser(pwFile);
    const init = await run(
      path.join(binDir, 'initdb'),
      [
        '-D', dataDir,
        '-U', 'postgres',
        '--auth=scram-sha-256',
        `--pwfile=${pwFile}`,
        '-E', 'UTF8',
        '--locale=C',
        '--no-sync',
        '--no-instructions',
      ],
      { ...asPg, cwd: tmpDir, env: cleanEnv({ LC_ALL: 'C', TZ: 'UTC' }), timeoutMs: 120_000 },
    );
    fs.rmSync(pwFile, { force: true });
    if (init.code !== 0) throw new Error(`initdb failed (exit ${init.code ?? init.signal}):\n${init.stderr}${init.stdout}`);

    // Our settings live in their own file, included last from postgresql.conf.
    fs.appendFileSync(path.join(dataDir, 'postgresql.conf'), "\n# pgtaos-backup test harness\ninclude = 'pgtaos-test.conf'\n");

    const writeConf = () => {
      const settings: Record<string, string> = {
        listen_addresses: HOST,
        port: String(port),
        unix_socket_directories: tmpDir,
        fsync: 'off',
        full_page_writes: 'off',
        shared_buffers: '32MB',
        max_connections: '40',
        timezone: 'UTC',
        log_timezone: 'UTC',
        log_line_prefix: '%m [%p] %q%u@%d ',
        ...opts.settings,
      };
      const file = path.join(dataDir, 'pgtaos-test.conf');
      fs.writeFileSync(file, Object.entries(settings).map(([k, v]) => `${k} = ${confValue(v)}`).join('\n') + '\n');
      chownToServerUser(file);
    };

    const startOnce = async (): Promise<{ ok: boolean; portTaken: boolean; detail: string }> => {
      const logSizeBefore = fs.existsSync(logFile) ? fs.statSync(logFile).size : 0;
      const r = await run(pgCtl, ['-D', dataDir, '-l', logFile, '-w', '-t', '120', 'start'], {
        ...asPg,
        cwd: tmpDir,
        env: cleanEnv({ LC_ALL: 'C' }),
        timeoutMs: 150_000,
      });
      if (r.code === 0) return { ok: true, portTaken: false, detail: '' };
      let log = '';
      try {
        log = fs.readFileSync(logFile, 'utf8').slice(logSizeBefore);
      } catch {
        /* no log */
      }
      const portTaken = /could not bind|Address already in use|could not create any TCP\/IP sockets/i.test(log);
      return { ok: false, portTaken, detail: `pg_ctl start failed (exit ${r.code ?? r.signal}): ${r.stdout}${r.stderr}\n--- log ---\n${log}` };
    };

    const startWithPortRetry = async (keepPort: boolean) => {
      let last = '';
      for (let attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
        if (!keepPort || !port || attempt > 1) port = await freePort();
        writeConf();
        const res = await startOnce();
        if (res.ok) return;
        last = res.detail;
        if (!res.portTaken) break;
      }
      throw new Error(last);
    };

    await startWithPortRetry(false);
    stopWatchdog = startWatchdog(dataDir, tmpDir);

    const env = () =>
      cleanEnv({ PGHOST: HOST, PGPORT: String(port), PGUSER: 'postgres', PGPASSWORD: password });
    const query = makeQuery(() => ({ port, password }));
    const psql = makePsql(binDir, env);

    const [{ server_version_num: vnum, server_version: vfull }] = await query<{
      server_version_num: string;
      server_version: string;
    }>("SELECT current_setting('server_version_num') AS server_version_num, current_setting('server_version') AS server_version");

    const isRunning = () => postmasterPid(dataDir) !== undefined;

    const stop = async (mode: 'fast' | 'immediate' = 'fast') => {
      if (!isRunning()) return;
      const r = await run(pgCtl, ['-D', dataDir, '-m', mode, '-w', '-t', '60', 'stop'], {
        ...asPg,
        cwd: tmpDir,
        env: cleanEnv({ LC_ALL: 'C' }),
        timeoutMs: 90_000,
      });
      if (r.code !== 0 && isRunning()) throw new Error(`pg_ctl stop failed (exit ${r.code ?? r.signal}): ${r.stderr}`);
    };

    const kill = async () => {
      const pid = postmasterPid(dataDir);
      if (!pid) return;
      await settleAfterKill(killPostmasterHard(pid), dataDir);
    };

    const cluster: Cluster = {
      host: HOST,
      get port() {
        return port;
      },
      user: 'postgres',
      password,
      dataDir,
      binDir,
      clientBinDir: binDir,
      version: parseServerVersionNum(vnum),
      versionFull: vfull,
      logFile,
      socketDir: tmpDir,
      get env() {
        return env();
      },
      psql,
      query,
      async createDb(name: string) {
        await query(`CREATE DATABASE ${quoteIdent(name)}`);
      },
      stop,
      kill,
      async restart() {
        if (destroyed) throw new Error('cluster destroyed');
        await stop('fast');
        // Same port if we can; a different one only if someone grabbed it meanwhile.
        await startWithPortRetry(true);
      },
      async destroy() {
        if (destroyed) return;
        destroyed = true;
        stopWatchdog();
        try {
          await stop('immediate');
        } catch {
          /* fall through to the hard way */
        }
        stopPostmasterSync(dataDir);
        if (!keepDirs()) fs.rmSync(tmpDir, { recursive: true, force: true, maxRetries: 3 });
        unregister();
      },
      isRunning,
    };
    return cluster;
  } catch (err) {
    return fail(err);
  }
}
