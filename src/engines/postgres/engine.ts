/**
 * PostgresEngine: the only object that runs pg_dump/pg_restore or talks to the server. It holds the
 * config and the tools found, and hands itself (as PgSessions) to the parts that do the work:
 * probe (login, preflight), dump, counts, admin (a restore's new database and the swap), restore,
 * scratch (verify's database) and archives (`pg_restore --list`). Every session is opened through
 * `connect`, so one place decides how.
 */
import pg from 'pg';
import { JobError } from '../../errors.js';
import type { PostgresConfig } from '../../inputs/config-schema.js';
import { MANIFEST_FORMAT, type ManifestFormat, type PostgresSection } from '../../catalog/manifest.js';
import type { Engine, EngineContext, PreflightInfo } from '../engine.js';
import { createStaging, databaseExists, dropStaging, shapeLike, swapStagingIn, type OpenMaintenance } from './admin.js';
import { PgArchives, type parseArchiveHeader } from './archives.js';
import { findPgTool, howEnded, pgToolEnv, readClientVersion, runPgTool, spawnFailed } from './client.js';
import { countDatabase, listCountTargets, type PgCounts } from './counts.js';
import { dumpDatabase, patternPart, progressIntervalMs } from './dump.js';
import { requireCompressSupport } from './dump-options.js';
import { applyGlobals, dumpGlobals, type GlobalsApplied } from './globals.js';
import { openMaintenance, openSession, probeServer } from './probe.js';
import { requireExtension, resetRestoring, restoreArchive, restoreListed, runSql, type RestoreOptions } from './restore.js';
import { dropScratch, recreateScratch } from './scratch.js';
import { exportSnapshot, withSession, type PgSessions } from './session.js';
import type { PgVersion } from './versions.js';

export class PostgresEngine implements Engine, PgSessions {
  readonly name = 'postgres' as const;
  private pgDump = '';
  private pgRestore = '';
  private pgDumpall = '';
  readonly archives: PgArchives;

  constructor(private readonly cfg: PostgresConfig) {
    this.archives = new PgArchives(cfg.bin_dir);
  }

  get database(): string {
    return this.cfg.database;
  }

  /** The pg_dump findTools found (for messages); empty before. */
  get pgDumpPath(): string {
    return this.pgDump;
  }

  /** Binaries first (no connection needed): a missing tool is a setup error. */
  findTools(env: NodeJS.ProcessEnv): void {
    this.pgDump = findPgTool('pg_dump', this.cfg.bin_dir, env);
    this.pgRestore = findPgTool('pg_restore', this.cfg.bin_dir, env);
    this.pgDumpall = findPgTool('pg_dumpall', this.cfg.bin_dir, env);
    this.archives.findTools(env);
  }

  toolEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
    return pgToolEnv(env);
  }

  connect(env: NodeJS.ProcessEnv, database = this.cfg.database): Promise<pg.Client> {
    return openSession(this.cfg, env, database);
  }

  connectMaintenance(env: NodeJS.ProcessEnv): Promise<pg.Client> {
    return openMaintenance((database) => this.connect(env, database));
  }

  /** Opens a maintenance session only when called: the guards run first. */
  private maintenance(env: NodeJS.ProcessEnv): OpenMaintenance {
    return () => this.connectMaintenance(env);
  }

  clientVersion(env: NodeJS.ProcessEnv): Promise<PgVersion> {
    return readClientVersion(this.pgDump, env);
  }

  /** pg_restore's version: it cannot read archives written by a newer pg_dump. */
  restoreClientVersion(env: NodeJS.ProcessEnv): Promise<PgVersion> {
    return readClientVersion(this.pgRestore, env);
  }

  /** The client must write the configured compression (exit 2, before the server is asked anything). */
  async preflight(ctx: EngineContext): Promise<PreflightInfo> {
    requireCompressSupport(this.cfg, await this.clientVersion(ctx.env), this.pgDump);
    return withSession(this.connect(ctx.env), (client) => probeServer(client, () => this.clientVersion(ctx.env), this.pgDump));
  }

  /**
   * Dumps the cluster's roles and tablespaces (globals.ts: first, so a refused pg_authid stops the
   * backup early), then the database, into `dir`; returns the manifest section, globals.sql last in its files.
   */
  async dump(ctx: EngineContext, dir: string, pre: PreflightInfo, only?: readonly string[]): Promise<PostgresSection> {
    const globals = await dumpGlobals({ cfg: this.cfg, pgDumpall: this.pgDumpall }, ctx, dir);
    const section = await dumpDatabase({ cfg: this.cfg, pgDump: this.pgDump, sessions: this, archives: this.archives }, ctx, dir, pre, only);
    return { ...section, files: [...section.files, globals.file], globals: globals.globals };
  }

  /** Runs a set's globals.sql on this server (roles and tablespaces that exist are left as they are). */
  applyGlobals(env: NodeJS.ProcessEnv, text: string): Promise<GlobalsApplied> {
    return applyGlobals(this.connectMaintenance(env), text, `${this.cfg.host}:${this.cfg.port}`);
  }

  /** Session timeouts off, then the REPEATABLE READ transaction whose snapshot pg_dump dumps. */
  exportSnapshot(client: pg.Client): Promise<string> {
    return exportSnapshot(client);
  }

  /**
   * Counts every table of `database` (one transaction, so the counts are of one moment) by the rules
   * of manifest `format`: a restored set is counted the way its manifest was.
   */
  countDatabase(env: NodeJS.ProcessEnv, database: string, log: EngineContext['log'], signal: AbortSignal, format: ManifestFormat = MANIFEST_FORMAT): Promise<PgCounts> {
    return countDatabase(this.connect(env, database), { log, signal, progressMs: progressIntervalMs(this.cfg) }, format);
  }

  /** Creates the schemas that are not in `database` yet (a set of some tables has no CREATE SCHEMA). */
  createSchemas(env: NodeJS.ProcessEnv, database: string, schemas: string[]): Promise<void> {
    return this.sql(env, database, schemas.map((s) => `CREATE SCHEMA IF NOT EXISTS ${pg.escapeIdentifier(s)};`).join('\n'));
  }

  /** Whether `database` has a schema of this name. */
  schemaExists(env: NodeJS.ProcessEnv, database: string, schema: string): Promise<boolean> {
    return withSession(this.connect(env, database), async (client) => (await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema])).rowCount === 1);
  }

  /** Creates schema `to` in `database` and moves the tables into it (with their indexes, constraints and owned sequences), in one transaction. */
  moveTables(env: NodeJS.ProcessEnv, database: string, tables: { schema: string; table: string }[], to: string): Promise<void> {
    const q = (s: string) => pg.escapeIdentifier(s);
    return this.sql(env, database, ['BEGIN;', `CREATE SCHEMA ${q(to)};`, ...tables.map((t) => `ALTER TABLE ${q(t.schema)}.${q(t.table)} SET SCHEMA ${q(to)};`), 'COMMIT;'].join('\n'));
  }

  /** pg_dump -Fc of one schema of `database` into `file` (restore --as-schema's copy). */
  async dumpSchema(ctx: EngineContext, database: string, schema: string, file: string): Promise<void> {
    const args = ['-Fc', '-n', patternPart(schema), '-w', '-f', file, '-h', this.cfg.host, '-p', String(this.cfg.port), '-U', this.cfg.user, '-d', database];
    const { result: r, stderr } = await runPgTool('pg_dump', this.pgDump, args, ctx);
    if (ctx.signal.aborted) throw ctx.signal.reason;
    if (r.spawnError) throw spawnFailed(this.pgDump, r.spawnError);
    if (r.exitCode !== 0) throw new JobError('postgres.dump_failed', `pg_dump -n ${schema} of ${database} failed (${howEnded(r)}):\n  ${(stderr.length ? stderr : r.stderrTail).slice(-10).join('\n  ')}`, { hint: 'Read the pg_dump lines above. Nothing was restored.' });
  }

  /** The tables `database` has, named by the rules of manifest `format` (as its counts would name them). */
  tableNames(env: NodeJS.ProcessEnv, database: string, format: ManifestFormat = MANIFEST_FORMAT): Promise<string[]> {
    return withSession(this.connect(env, database), async (client) => (await listCountTargets(client, format)).map((t) => t.name));
  }

  /**
   * Drops and recreates a scratch database. Refuses the production database whatever the
   * config says (the config check is the first guard; this is the last).
   */
  recreateScratch(env: NodeJS.ProcessEnv, scratch: string): Promise<void> {
    return recreateScratch(this.maintenance(env), this.cfg.database, scratch);
  }

  dropScratch(env: NodeJS.ProcessEnv, scratch: string): Promise<void> {
    return dropScratch(this.maintenance(env), this.cfg.database, scratch);
  }

  databaseExists(env: NodeJS.ProcessEnv, name: string): Promise<boolean> {
    return databaseExists(this.maintenance(env), name);
  }

  /** A new, empty database for a restore to fill, shaped like `like` (null: the server's defaults). */
  createStaging(env: NodeJS.ProcessEnv, staging: string, like: string | null): Promise<void> {
    return createStaging(this.maintenance(env), staging, like);
  }

  /** After pg_restore: the settings and grants of `like`. */
  shapeLike(env: NodeJS.ProcessEnv, staging: string, like: string): Promise<void> {
    return shapeLike(this.maintenance(env), staging, like);
  }

  /** Swaps the filled `staging` in as `target`; returns what could not be done after the swap, for a warning. */
  swapIn(env: NodeJS.ProcessEnv, staging: string, target: string, replacing: boolean, log: (line: string) => void): Promise<string | null> {
    return swapStagingIn(this.maintenance(env), staging, target, replacing, log);
  }

  /** Drops a staging database a restore did not swap in. */
  dropStaging(env: NodeJS.ProcessEnv, staging: string): Promise<void> {
    return dropStaging(this.maintenance(env), staging);
  }

  /** Clears `timescaledb.restoring` on `database` (see restore.ts). */
  resetRestoring(env: NodeJS.ProcessEnv, database: string): Promise<void> {
    return resetRestoring(this.maintenance(env), database);
  }

  /** pg_restore into `target`, a new empty database (see restore.ts: TimescaleDB's steps, the reset after). */
  restore(ctx: EngineContext, file: string, target: string, opts: RestoreOptions): Promise<void> {
    const deps = {
      cfg: this.cfg,
      pgRestore: this.pgRestore,
      listArchive: (f: string, env: NodeJS.ProcessEnv, signal: AbortSignal) => this.archives.list(f, env, signal),
      // The engine's own methods, looked up on the instance at each call.
      sql: (env: NodeJS.ProcessEnv, database: string, text: string) => this.sql(env, database, text),
      resetRestoring: (env: NodeJS.ProcessEnv, database: string) => this.resetRestoring(env, database),
    };
    return restoreArchive(deps, ctx, file, target, opts);
  }

  /** pg_restore of the entries `listFile` lists (null: all) into the existing `target`, in one transaction (restore --table). */
  restoreTables(ctx: EngineContext, file: string, listFile: string | null, target: string): Promise<void> {
    return restoreListed({ cfg: this.cfg, pgRestore: this.pgRestore }, ctx, file, listFile, target);
  }

  /** The target server must offer the extension the dump needs, at the version it was made with. */
  requireExtension(env: NodeJS.ProcessEnv, name: string, version: string | undefined): Promise<void> {
    return requireExtension(this.maintenance(env), this.cfg, name, version);
  }

  private sql(env: NodeJS.ProcessEnv, database: string, text: string): Promise<void> {
    return runSql(this.connect(env, database), database, text);
  }

  /** `pg_restore --list` must read the archive; its header gives the archive version. */
  readArchiveHeader(file: string, env: NodeJS.ProcessEnv, signal: AbortSignal): Promise<ReturnType<typeof parseArchiveHeader>> {
    return this.archives.readHeader(file, env, signal);
  }
}
