/**
 * PostgreSQL: the only module that runs pg_dump/pg_restore or talks to the server.
 * Dump: one REPEATABLE READ transaction exports its snapshot and only holds it; pg_dump dumps that
 * snapshot while a second session imports it and counts every table (pg-counts.ts), so the counts and
 * the dump are one point in time, and a count the server refuses cannot end the exporting transaction.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { JobError, UsageError } from '../errors.js';
import type { PostgresConfig } from '../inputs/config-schema.js';
import { MANIFEST_FORMAT, type ManifestFormat, type PgCountError, type PostgresSection } from '../catalog/manifest.js';
import { fileEntry } from '../catalog/checksum.js';
import { formatBytes } from '../shared/format.js';
import { findBinary } from './binaries.js';
import { childEnv, type Engine, type EngineContext, type PreflightInfo } from './engine.js';
import { readTool, runTool, type ToolResult } from './exec.js';
import { countTables, isPermissionError, listCountTargets, type PgCounts } from './pg-counts.js';
import { createSql, databaseShape, isReservedName, oldName, quoteWith, shapeSql, swapIn } from './postgres-admin.js';

const INSTALL_HINT = 'Install the PostgreSQL client tools of the server\'s major version (Debian/Ubuntu: apt install postgresql-client-17 from apt.postgresql.org).';
const PROGRESS_MS = 5000;

/**
 * How often a running pg_dump reports the size written: every 5 s, or PGTAOS_PROGRESS_MS
 * (meant for tests, which cannot wait for a 5 s tick; at least 50 ms).
 */
export function progressIntervalMs(env: NodeJS.ProcessEnv): number {
  const raw = env.PGTAOS_PROGRESS_MS;
  if (raw === undefined || !/^\d+$/.test(raw)) return PROGRESS_MS;
  return Math.max(50, Number(raw));
}

/**
 * Server limits that would end one of our long sessions, switched off for that session, as
 * pg_dump does for its own: the exporting transaction must outlive pg_dump, and a count of a big
 * table may wait on a lock or run for minutes. Session-level and set before BEGIN, so the
 * transaction's own timers start disabled.
 */
export function timeoutResets(serverMajor: number): string[] {
  return [
    'SET statement_timeout = 0',
    'SET lock_timeout = 0',
    'SET idle_in_transaction_session_timeout = 0',
    // New in 17 (production runs 17.6): it ends a transaction however busy; older servers reject the name.
    ...(serverMajor >= 17 ? ['SET transaction_timeout = 0'] : []),
  ];
}

export interface PgVersion {
  major: number;
  text: string;
}

/** "pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)" -> 15 / "15.18". */
export function parseClientVersion(out: string): PgVersion | null {
  const m = /\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?/.exec(out);
  if (!m) return null;
  return { major: Number(m[1]), text: m[2] ? `${m[1]}.${m[2]}` : m[1]! };
}

/** server_version_num 170006 -> 17 / "17.6". */
export function parseServerVersionNum(num: number): PgVersion {
  const major = Math.floor(num / 10000);
  return { major, text: `${major}.${num % 10000}` };
}

/** A client older than the server cannot dump it (pg_dump refuses) nor read its archives. */
export function clientTooOld(client: PgVersion, server: PgVersion): boolean {
  return client.major < server.major;
}

/** Reads "; Dump Version: 1.15-0" from the head of `pg_restore --list`. */
export function parseArchiveHeader(lines: string[]): { archiveVersion: string | null; database: string | null; serverVersion: string | null; createdAt: string | null } {
  const pick = (re: RegExp): string | null => {
    for (const l of lines) {
      const m = re.exec(l);
      if (m) return m[1]!.trim();
    }
    return null;
  };
  return {
    archiveVersion: pick(/^;\s+Dump Version:\s+(\d+\.\d+)/),
    database: pick(/^;\s+dbname:\s+(.+)$/),
    serverVersion: pick(/^;\s+Dumped from database version:\s+(.+)$/),
    createdAt: pick(/^;\s+Archive created at\s+(.+)$/),
  };
}

export interface PgArchiveInfo {
  database: string | null;
  serverVersion: string | null;
  clientVersion: string | null;
  archiveVersion: string | null;
  createdAt: string | null;
  tables: string[];
  extensions: string[];
}

/** Reads `pg_restore --list` output: the header, TABLE DATA entries and extensions. */
export function parseRestoreList(lines: string[]): PgArchiveInfo {
  const header = parseArchiveHeader(lines.filter((l) => l.startsWith(';')).slice(0, 60));
  const clientVersion = lines.map((l) => /^;\s+Dumped by pg_dump version:\s+(\S+)/.exec(l)?.[1]).find(Boolean) ?? null;
  const tables = new Set<string>();
  const extensions = new Set<string>();
  for (const l of lines) {
    const t = /^\d+;\s+\d+\s+\d+\s+TABLE DATA\s+(\S+)\s+(\S+)\s/.exec(l);
    if (t) tables.add(`${t[1]}.${t[2]}`);
    const e = /^\d+;\s+\d+\s+\d+\s+EXTENSION\s+-\s+(\S+)/.exec(l);
    if (e) extensions.add(e[1]!);
  }
  return {
    database: header.database,
    serverVersion: header.serverVersion?.split(/\s+/)[0] ?? null,
    clientVersion,
    archiveVersion: header.archiveVersion,
    createdAt: header.createdAt,
    tables: [...tables].sort(),
    extensions: [...extensions].sort(),
  };
}

/** pg_dump prints warnings it survives ("pg_dump: warning: ...") and errors it does not. */
export function isDumpErrorLine(line: string): boolean {
  return /^pg_(dump|restore): error:/.test(line) || /\b(FATAL|PANIC):/.test(line) || /^pg_(dump|restore): \[/.test(line);
}

/**
 * pg_restore never gets --clean: it always fills a new, empty database (see postgres-admin.ts).
 * `noOwner`: --no-owner --no-acl (a scratch restore, where the roles may not exist).
 */
export interface RestoreOptions {
  jobs: number;
  timescale: boolean;
  noOwner: boolean;
}

/** The last guard before a DROP or RENAME of a staging database: only names a restore reserves. */
function refuseUnreserved(name: string): void {
  if (!isReservedName(name)) throw new UsageError('postgres.not_staging', `refusing to drop or rename ${name}: it is not a name a restore reserves for its new copy`, { hint: 'This is a bug in pgtaos-backup; nothing was changed.' });
}

export class PostgresEngine implements Engine {
  readonly name = 'postgres' as const;
  private pgDump = '';
  private pgRestore = '';
  readonly archives: PgArchives;

  constructor(private readonly cfg: PostgresConfig) {
    this.archives = new PgArchives(cfg.bin_dir);
  }

  get database(): string {
    return this.cfg.database;
  }

  /** Binaries first (no connection needed): a missing tool is a setup error. */
  findTools(env: NodeJS.ProcessEnv): void {
    this.pgDump = findBinary('pg_dump', this.cfg.bin_dir, env, INSTALL_HINT);
    this.pgRestore = findBinary('pg_restore', this.cfg.bin_dir, env, INSTALL_HINT);
    this.archives.findTools(env);
  }

  toolEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
    // PGSSL*/PGCONNECT_TIMEOUT and friends pass through; the password only as PGPASSWORD.
    return childEnv(env, { PGAPPNAME: 'pgtaos-backup', PGCONNECT_TIMEOUT: env.PGCONNECT_TIMEOUT ?? '10' }, ['PG']);
  }

  async connect(env: NodeJS.ProcessEnv, database = this.cfg.database): Promise<pg.Client> {
    const client = new pg.Client({
      host: this.cfg.host,
      port: this.cfg.port,
      user: this.cfg.user,
      database,
      password: env.PGPASSWORD,
      application_name: 'pgtaos-backup',
      connectionTimeoutMillis: 10_000,
    });
    // A server that dies mid-run emits 'error' on the client; the failing query reports it.
    client.on('error', () => {});
    try {
      await client.connect();
    } catch (err) {
      throw this.connectError(err, database);
    }
    return client;
  }

  /**
   * A session for database-level statements (exists, CREATE, DROP, RENAME): on the maintenance
   * database `postgres` (`template1` where that was dropped), never the configured one, which may
   * be the very database that is missing or being replaced.
   */
  async connectMaintenance(env: NodeJS.ProcessEnv): Promise<pg.Client> {
    try {
      return await this.connect(env, 'postgres');
    } catch (err) {
      if (!(err instanceof JobError && err.code === 'postgres.no_database')) throw err;
      return this.connect(env, 'template1');
    }
  }

  private connectError(err: unknown, database: string): JobError {
    const e = err as { code?: string; message?: string };
    const where = `${this.cfg.user}@${this.cfg.host}:${this.cfg.port}/${database}`;
    if (e.code === '28P01' || e.code === '28000') {
      return new JobError('postgres.auth', `PostgreSQL refused the login ${where}: ${e.message}`, {
        hint: 'Check the user in the config and the password in the PGPASSWORD environment variable (the action input postgres-password).',
        cause: err,
      });
    }
    if (e.code === '3D000') {
      return new JobError('postgres.no_database', `database ${database} does not exist on ${this.cfg.host}:${this.cfg.port}`, { hint: 'Check postgres.database in the config.', cause: err });
    }
    return new JobError('postgres.unreachable', `cannot connect to PostgreSQL at ${where}: ${e.message ?? String(err)}`, {
      hint: `Is the server running and reachable from this machine? Try: pg_isready -h ${this.cfg.host} -p ${this.cfg.port}`,
      cause: err,
    });
  }

  async clientVersion(env: NodeJS.ProcessEnv): Promise<PgVersion> {
    const r = await readTool(this.pgDump, ['--version'], this.toolEnv(env));
    const v = parseClientVersion(r.out);
    if (!r.ok || !v) throw new JobError('postgres.client_version', `cannot read the version of ${this.pgDump}: ${r.err || r.out}`, { hint: INSTALL_HINT });
    return v;
  }

  async preflight(ctx: EngineContext): Promise<PreflightInfo> {
    const client = await this.connect(ctx.env);
    try {
      const r = await client.query<{ v: string; size: string }>(
        "SELECT current_setting('server_version_num') AS v, pg_database_size(current_database())::text AS size",
      );
      const server = parseServerVersionNum(Number(r.rows[0]!.v));
      const clientV = await this.clientVersion(ctx.env);
      if (clientTooOld(clientV, server)) {
        throw new JobError('postgres.client_too_old', `pg_dump ${clientV.text} (${this.pgDump}) is older than the PostgreSQL ${server.text} server; it cannot dump it, and pg_restore ${clientV.major} cannot read its archives`, {
          hint: `Install the PostgreSQL ${server.major} client (Debian/Ubuntu: apt install postgresql-client-${server.major} from apt.postgresql.org) and point postgres.bin_dir at it, e.g. /usr/lib/postgresql/${server.major}/bin.`,
        });
      }
      return { serverVersion: server.text, clientVersion: clientV.text, estimatedBytes: Number(r.rows[0]!.size) };
    } finally {
      await client.end().catch(() => {});
    }
  }

  /** Dumps the database into `dir` and returns the manifest section. */
  async dump(ctx: EngineContext, dir: string, pre: PreflightInfo): Promise<PostgresSection> {
    const { log, signal, env } = ctx;
    const fileName = `${this.cfg.database}.dump`;
    const file = path.join(dir, fileName);
    const exporter = await this.connect(env);
    let counter: pg.Client | undefined;
    let progress: NodeJS.Timeout | undefined;
    try {
      const snap = await this.exportSnapshot(exporter);
      counter = await this.connect(env);
      const c = counter;
      await this.disableTimeouts(c);
      await this.importSnapshot(c, snap);
      const targets = await listCountTargets(c, MANIFEST_FORMAT);
      const extensions = (await c.query<{ name: string; version: string }>('SELECT extname AS name, extversion AS version FROM pg_extension ORDER BY 1')).rows;

      const args = ['-Fc', '-b', '-w', '-f', file, '--snapshot', snap, '-h', this.cfg.host, '-p', String(this.cfg.port), '-U', this.cfg.user, '-d', this.cfg.database];
      log.info(`$ ${path.basename(this.pgDump)} ${args.join(' ')}`);
      const started = Date.now();
      progress = setInterval(() => {
        fs.stat(file)
          .then((st) => log.info(`pg_dump: ${formatBytes(st.size)} written after ${Math.round((Date.now() - started) / 1000)} s`))
          .catch(() => {});
      }, progressIntervalMs(env));
      const stderr: string[] = [];
      const dumping = runTool({
        file: this.pgDump,
        args,
        env: this.toolEnv(env),
        signal,
        onStderr: (l) => {
          stderr.push(l);
          log.info(`pg_dump: ${l.replace(/^pg_dump: /, '')}`);
        },
      });
      // Counting runs while pg_dump runs, on the same snapshot (one after the other costs ~6%: docs/adr/0005-postgres-counts.md).
      // A refused count re-opens the counting transaction on the snapshot; the exporter is not touched.
      const counting = countTables(c, targets, { log, signal }, () => this.importSnapshot(c, snap));
      const [dumped, counted] = await Promise.allSettled([dumping, counting]);
      clearInterval(progress);
      progress = undefined;
      if (signal.aborted) throw signal.reason;
      if (dumped.status === 'rejected') throw dumped.reason;
      const r = dumped.value;
      if (r.spawnError) throw new UsageError('postgres.spawn', `cannot run ${this.pgDump}: ${r.spawnError}`, { hint: INSTALL_HINT });
      const errors = stderr.filter(isDumpErrorLine);
      if (r.exitCode !== 0 || errors.length > 0) throw this.dumpFailure(r, errors, counted.status === 'fulfilled' ? counted.value.errors : []);
      if (counted.status === 'rejected') {
        throw new JobError('postgres.count_failed', `counting rows failed: ${(counted.reason as Error).message}`, { hint: 'The server may have stopped during the backup; run it again once it is up.', cause: counted.reason });
      }
      await c.query('COMMIT');
      await exporter.query('COMMIT');
      const st = await fs.stat(file);
      if (st.size === 0) throw new JobError('postgres.empty_dump', `pg_dump wrote an empty file ${file}`, { hint: 'Check the disk and the pg_dump output above.' });
      const header = await this.readArchiveHeader(file, env, signal);
      log.info(`pg_dump: ${formatBytes(st.size)} in ${Math.round((Date.now() - started) / 100) / 10} s; archive format ${header.archiveVersion ?? '?'}; ${counted.value.tables.length} tables counted`);
      return this.section(pre, snap, header.archiveVersion, extensions, counted.value, await fileEntry(dir, fileName));
    } finally {
      if (progress) clearInterval(progress);
      await counter?.end().catch(() => {});
      await exporter.end().catch(() => {});
    }
  }

  private section(pre: PreflightInfo, snap: string, archiveVersion: string | null, extensions: PostgresSection['extensions'], counted: PgCounts, file: PostgresSection['files'][number]): PostgresSection {
    return {
      server_version: pre.serverVersion,
      client_version: pre.clientVersion,
      database: this.cfg.database,
      host: this.cfg.host,
      port: this.cfg.port,
      archive_version: archiveVersion,
      database_bytes: pre.estimatedBytes,
      snapshot: snap,
      extensions,
      large_objects: counted.largeObjects,
      files: [file],
      tables: counted.tables,
      // pg_dump dumped these whole; only their counts are missing, and the manifest says so.
      ...(counted.errors.length ? { count_errors: counted.errors } : {}),
    };
  }

  /**
   * pg_dump failed. A count refused for want of SELECT is the cause (pg_dump needs the same
   * privilege and fails after it), so it is named first, as what it is.
   */
  private dumpFailure(r: ToolResult, errors: string[], countErrors: PgCountError[]): JobError {
    const how = r.signal ? `killed by ${r.signal}` : `exit ${r.exitCode}`;
    const lines = (errors.length ? errors : r.stderrTail).slice(-10).join('\n  ');
    const denied = countErrors.filter(isPermissionError);
    if (denied.length > 0) {
      const names = denied.map((d) => d.name).join(', ');
      return new JobError('postgres.permission_denied', `permission denied for table${denied.length > 1 ? 's' : ''} ${names}: the backup user ${this.cfg.user} needs SELECT on every table (the server said: ${denied[0]!.error.replace(/^42501: /, '')}). pg_dump failed after it (${how}):\n  ${lines}`, {
        hint: `Grant it and run the backup again: GRANT SELECT ON ${denied.map((d) => d.name).join(', ')} TO ${this.cfg.user}; (and USAGE on the schema; on PostgreSQL 14+ GRANT pg_read_all_data TO ${this.cfg.user} covers every table).`,
      });
    }
    const also = countErrors.length ? `\n  counting failed too: ${countErrors.map((e) => `${e.name}: ${e.error}`).join('; ')}` : '';
    return new JobError('postgres.dump_failed', `pg_dump failed (${how}):\n  ${lines}${also}`, {
      hint: 'Read the pg_dump lines above. A lost connection means the server stopped or restarted during the dump; run the backup again once it is up.',
    });
  }

  /** Session timeouts off, then the REPEATABLE READ transaction whose snapshot pg_dump dumps. */
  async exportSnapshot(client: pg.Client): Promise<string> {
    await this.disableTimeouts(client);
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY');
    return (await client.query<{ s: string }>('SELECT pg_export_snapshot() AS s')).rows[0]!.s;
  }

  /** A transaction on an exported snapshot (the counting session's; again after a refused count). */
  private async importSnapshot(client: pg.Client, snap: string): Promise<void> {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY');
    await client.query(`SET TRANSACTION SNAPSHOT ${client.escapeLiteral(snap)}`);
  }

  private async disableTimeouts(client: pg.Client): Promise<void> {
    const v = (await client.query<{ v: string }>("SELECT current_setting('server_version_num') AS v")).rows[0]!.v;
    await client.query(timeoutResets(parseServerVersionNum(Number(v)).major).join('; '));
  }

  /** pg_restore's version: it cannot read archives written by a newer pg_dump. */
  async restoreClientVersion(env: NodeJS.ProcessEnv): Promise<PgVersion> {
    const r = await readTool(this.pgRestore, ['--version'], this.toolEnv(env));
    const v = parseClientVersion(r.out);
    if (!r.ok || !v) throw new JobError('postgres.client_version', `cannot read the version of ${this.pgRestore}: ${r.err || r.out}`, { hint: INSTALL_HINT });
    return v;
  }

  /**
   * Counts every table of `database` (one transaction, so the counts are of one moment) by the rules
   * of manifest `format`: a restored set is counted the way its manifest was.
   */
  async countDatabase(env: NodeJS.ProcessEnv, database: string, log: EngineContext['log'], signal: AbortSignal, format: ManifestFormat = MANIFEST_FORMAT): Promise<PgCounts> {
    const client = await this.connect(env, database);
    try {
      await this.disableTimeouts(client);
      const begin = async () => {
        await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY');
      };
      await begin();
      const targets = await listCountTargets(client, format);
      const counted = await countTables(client, targets, { log, signal }, begin);
      await client.query('COMMIT');
      return counted;
    } finally {
      await client.end().catch(() => {});
    }
  }

  /**
   * Drops and recreates a scratch database. Refuses the production database whatever the
   * config says (the config check is the first guard; this is the last).
   */
  async recreateScratch(env: NodeJS.ProcessEnv, scratch: string): Promise<void> {
    this.refuseProduction(scratch);
    const client = await this.connectMaintenance(env);
    try {
      await client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(scratch)} WITH (FORCE)`);
      await client.query(`CREATE DATABASE ${client.escapeIdentifier(scratch)} TEMPLATE template0`);
    } finally {
      await client.end().catch(() => {});
    }
  }

  async dropScratch(env: NodeJS.ProcessEnv, scratch: string): Promise<void> {
    this.refuseProduction(scratch);
    const client = await this.connectMaintenance(env);
    try {
      await client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(scratch)} WITH (FORCE)`);
    } finally {
      await client.end().catch(() => {});
    }
  }

  async databaseExists(env: NodeJS.ProcessEnv, name: string): Promise<boolean> {
    const client = await this.connectMaintenance(env);
    try {
      return (await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount === 1;
    } finally {
      await client.end().catch(() => {});
    }
  }

  /**
   * A new, empty database for a restore to fill (a leftover of an earlier run under that name is
   * dropped first: the name is reserved). `like`: the database it will replace, whose owner,
   * encoding and locale it gets; null: the server's defaults.
   */
  async createStaging(env: NodeJS.ProcessEnv, staging: string, like: string | null): Promise<void> {
    refuseUnreserved(staging);
    const client = await this.connectMaintenance(env);
    try {
      const shape = like === null ? null : await databaseShape(client, like);
      await client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(staging)} WITH (FORCE)`);
      await client.query(createSql(staging, shape, quoteWith(client)));
    } finally {
      await client.end().catch(() => {});
    }
  }

  /** After pg_restore: the settings and grants of `like` (applied now, so none of them hindered pg_restore). */
  async shapeLike(env: NodeJS.ProcessEnv, staging: string, like: string): Promise<void> {
    refuseUnreserved(staging);
    const client = await this.connectMaintenance(env);
    try {
      for (const stmt of shapeSql(staging, await databaseShape(client, like), quoteWith(client))) await client.query(stmt);
    } finally {
      await client.end().catch(() => {});
    }
  }

  /**
   * Swaps the filled `staging` in as `target` (see swapIn), then drops the replaced database.
   * Returns what could not be done after the swap (the old copy left behind), for a warning.
   */
  async swapIn(env: NodeJS.ProcessEnv, staging: string, target: string, replacing: boolean, log: (line: string) => void): Promise<string | null> {
    refuseUnreserved(staging);
    const old = replacing ? oldName(target) : null;
    const client = await this.connectMaintenance(env);
    try {
      await swapIn(client, staging, target, old, log);
      if (!old) return null;
      return await client.query(`DROP DATABASE ${client.escapeIdentifier(old)} WITH (FORCE)`).then(
        () => null,
        (e: unknown) => `could not drop ${old} (what ${target} held before; the safety set has it too): ${(e as Error).message}; drop it by hand: dropdb ${old}`,
      );
    } finally {
      await client.end().catch(() => {});
    }
  }

  /** Drops a staging database a restore did not swap in (it holds nothing that is not in the set). */
  async dropStaging(env: NodeJS.ProcessEnv, staging: string): Promise<void> {
    refuseUnreserved(staging);
    const client = await this.connectMaintenance(env);
    try {
      await client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(staging)} WITH (FORCE)`);
    } finally {
      await client.end().catch(() => {});
    }
  }

  /**
   * Clears `timescaledb.restoring` on `database`: timescaledb_pre_restore() sets it per database,
   * and a database left with it on runs without TimescaleDB's background jobs. Plain PostgreSQL
   * accepts the name as a placeholder, so this runs for every restore.
   */
  async resetRestoring(env: NodeJS.ProcessEnv, database: string): Promise<void> {
    const client = await this.connectMaintenance(env);
    try {
      if ((await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database])).rowCount === 1) {
        await client.query(`ALTER DATABASE ${client.escapeIdentifier(database)} RESET timescaledb.restoring`);
      }
    } finally {
      await client.end().catch(() => {});
    }
  }

  private refuseProduction(name: string): void {
    if (name === this.cfg.database) {
      throw new UsageError('postgres.scratch_is_production', `refusing to drop or overwrite ${name}: it is the production database`, { hint: 'Set postgres.scratch_database to a different name.' });
    }
  }

  /**
   * pg_restore into `target`, a new empty database. TimescaleDB databases are restored the
   * documented way: timescaledb_pre_restore() before, timescaledb_post_restore() after, and no -j.
   * Whatever happens (failure, cancel), `timescaledb.restoring` is reset on `target` after.
   */
  async restore(ctx: EngineContext, file: string, target: string, opts: RestoreOptions): Promise<void> {
    const { log, env } = ctx;
    let failed = true;
    let prepared = false;
    try {
      if (opts.timescale) await this.sql(env, target, 'CREATE EXTENSION IF NOT EXISTS timescaledb; SELECT timescaledb_pre_restore();');
      prepared = opts.timescale;
      await this.runRestore(ctx, file, target, opts);
      failed = false;
    } finally {
      // post_restore resets it too, but only when it runs and succeeds: the reset is unconditional.
      const after = async () => {
        try {
          if (prepared) await this.sql(env, target, 'SELECT timescaledb_post_restore();');
        } finally {
          await this.resetRestoring(env, target);
        }
      };
      if (!failed) await after();
      else {
        await after().catch((e: unknown) => log.error(`${prepared ? 'timescaledb_post_restore()' : 'resetting timescaledb.restoring'} on ${target} failed: ${(e as Error).message}; before using ${target}, run on it: ${prepared ? 'SELECT timescaledb_post_restore(); ' : ''}ALTER DATABASE ${target} RESET timescaledb.restoring`));
      }
    }
  }

  private async runRestore(ctx: EngineContext, file: string, target: string, opts: RestoreOptions): Promise<void> {
    const { log, env, signal } = ctx;
    const args = [
      '-h', this.cfg.host, '-p', String(this.cfg.port), '-U', this.cfg.user, '-w', '-d', target,
      '--exit-on-error',
      ...(opts.timescale || opts.jobs <= 1 ? [] : ['-j', String(opts.jobs)]),
      ...(opts.noOwner ? ['--no-owner', '--no-acl'] : []),
      file,
    ];
    log.info(`$ ${path.basename(this.pgRestore)} ${args.join(' ')}`);
    const stderr: string[] = [];
    const r = await runTool({ file: this.pgRestore, args, env: this.toolEnv(env), signal, onStderr: (l) => { stderr.push(l); log.info(`pg_restore: ${l.replace(/^pg_restore: /, '')}`); } });
    if (signal.aborted) throw signal.reason;
    if (r.spawnError) throw new UsageError('postgres.spawn', `cannot run ${this.pgRestore}: ${r.spawnError}`, { hint: INSTALL_HINT });
    if (r.exitCode !== 0) {
      const errors = stderr.filter(isDumpErrorLine);
      throw new JobError('postgres.restore_failed', `pg_restore into ${target} failed (${r.signal ? `killed by ${r.signal}` : `exit ${r.exitCode}`}):\n  ${(errors.length ? errors : r.stderrTail).slice(-10).join('\n  ')}`, {
        hint: 'Read the pg_restore lines above: a damaged archive, a missing extension or role on the target server, or a full disk.',
      });
    }
  }

  /** The target server must offer the extension the dump needs, at the version it was made with. */
  async requireExtension(env: NodeJS.ProcessEnv, name: string, version: string | undefined): Promise<void> {
    const client = await this.connectMaintenance(env);
    let offered: string[];
    try {
      offered = (await client.query<{ version: string }>('SELECT version FROM pg_available_extension_versions WHERE name = $1', [name])).rows.map((r) => r.version);
    } finally {
      await client.end().catch(() => {});
    }
    if (offered.length === 0) {
      throw new JobError('postgres.extension_missing', `the server ${this.cfg.host}:${this.cfg.port} has no ${name} extension, which the dump needs${version ? ` (it was made with ${name} ${version})` : ''}`, {
        hint: `Install ${name}${version ? ` ${version}` : ''} for this PostgreSQL version on the target server (and add it to shared_preload_libraries), then run again. Nothing was restored.`,
      });
    }
    if (version && !offered.includes(version)) {
      throw new JobError('postgres.extension_version', `the server offers ${name} ${offered.join(', ')}, but the dump was made with ${name} ${version}`, {
        hint: `Install ${name} ${version} on the target server: TimescaleDB restores need the same extension version. Nothing was restored.`,
      });
    }
  }

  private async sql(env: NodeJS.ProcessEnv, database: string, text: string): Promise<void> {
    const client = await this.connect(env, database);
    try {
      await client.query(text);
    } catch (err) {
      throw new JobError('postgres.sql', `on ${database}: ${(err as Error).message}`, { hint: 'For TimescaleDB, the target server needs the same timescaledb extension version as the manifest records.', cause: err });
    } finally {
      await client.end().catch(() => {});
    }
  }

  /** `pg_restore --list` must read the archive; its header gives the archive version. */
  async readArchiveHeader(file: string, env: NodeJS.ProcessEnv, signal: AbortSignal) {
    return parseArchiveHeader(await this.archives.list(file, env, signal, 40));
  }
}

/**
 * The server-free part of the engine: reading archives with `pg_restore --list`. `import` uses it
 * alone (it needs no postgres: section); PostgresEngine uses it to check every dump it writes.
 */
export class PgArchives {
  private pgRestore = '';

  constructor(private readonly binDir: string | undefined) {}

  findTools(env: NodeJS.ProcessEnv): void {
    this.pgRestore = findBinary('pg_restore', this.binDir, env, INSTALL_HINT);
  }

  /**
   * The lines of `pg_restore --list` (header and table of contents; the first `keep` only).
   * Throws when pg_restore cannot read the file: damaged, not a custom-format archive, or too new.
   */
  async list(file: string, env: NodeJS.ProcessEnv, signal: AbortSignal, keep = Number.POSITIVE_INFINITY): Promise<string[]> {
    const lines: string[] = [];
    // No connection is made: the child gets no PG* variables, so no password either.
    const r = await runTool({
      file: this.pgRestore,
      args: ['--list', file],
      env: childEnv(env, {}),
      signal,
      onStdout: (l) => {
        if (lines.length < keep) lines.push(l);
      },
    });
    if (signal.aborted) throw signal.reason;
    if (r.spawnError) throw new UsageError('postgres.spawn', `cannot run ${this.pgRestore}: ${r.spawnError}`, { hint: INSTALL_HINT });
    if (r.exitCode !== 0) {
      const err = r.stderrTail.join(' ');
      const message = `pg_restore --list cannot read ${file}: ${err || `exit ${r.exitCode}`}`;
      if (/unsupported version/.test(err)) {
        throw new JobError('postgres.archive_too_new', message, { hint: `The archive was written by a newer pg_dump than ${this.pgRestore}. ${INSTALL_HINT}` });
      }
      throw new JobError('postgres.unreadable_archive', message, { hint: 'The file is damaged, or it is not a pg_dump custom-format archive (pg_dump -Fc).' });
    }
    return lines;
  }

  /** What an archive says about itself: see parseRestoreList. */
  async describe(file: string, env: NodeJS.ProcessEnv, signal: AbortSignal): Promise<PgArchiveInfo> {
    return parseRestoreList(await this.list(file, env, signal));
  }
}
