/**
 * TDengine: the only module that runs taosdump or talks to TDengine (through taosAdapter's REST
 * API). Built against docs/tdengine.md; its traps and how they are met:
 *  - exit 0 is not success: output is streamed, stripped of colour codes and judged
 *    (taosdump-output.ts); the counts must add up (tdengine/dump.ts);
 *  - bare `-p` reads one token from stdin (EOF silently means `taosdata`): the password goes
 *    on stdin with a newline, never in argv, and a missing TDENGINE_PASSWORD is refused;
 *  - `-o` must exist, be empty, and is poisoned by a failed attempt: a fresh folder per attempt;
 *    `-o`/`-i` go through wordexp() (cut at a space): they are passed relative to the cwd;
 *  - `-D` silently skips a missing name: the dump's dbs.sql must name the database;
 *  - `-i` restores into the name recorded in the dump: a different target always gets `-W`, and a
 *    scratch database equal to that recorded name (ignoring case) is refused before anything is dropped;
 *  - a refused connection costs taosdump ~21 s x 3: the native port and REST are probed first,
 *    and again right before each taosdump run; a "Failed to connect" line stops taosdump at once,
 *    and so does a stall (tdengine/taosdump.ts);
 *  - a fetch failing mid-stream still answers code 0 with short rows: counts come from COUNT(*),
 *    and every listing is checked against its COUNT(*) (tdengine/counts.ts).
 * The parts live in tdengine/: versions, server (REST + probe), counts, taosdump (running it),
 * folder-hasher, dump, restore, names (the scratch guard).
 */
import type { TdengineConfig } from '../inputs/config-schema.js';
import type { TdengineSection } from '../catalog/manifest.js';
import type { Engine, EngineContext, PreflightInfo } from './engine.js';
import { sqlIdent, type RestResult } from './taos-rest.js';
import { TdCounter, type TdCounts } from './tdengine/counts.js';
import { dumpDatabase } from './tdengine/dump.js';
import { checkName, ScratchGuard } from './tdengine/names.js';
import { recordedDatabase, restoreDump, type RestoreOptions, type TdRestoreOutcome } from './tdengine/restore.js';
import { TdServer, type Precision } from './tdengine/server.js';
import { Taosdump } from './tdengine/taosdump.js';
import { versionProblem, type TdVersion } from './tdengine/versions.js';
import { JobError } from '../errors.js';
import type { TdParts } from './tdengine/parts.js';

export * from './tdengine/versions.js';
export { maskPassword, scrubResultText } from './tdengine/taosdump.js';
export { compareLater, sumLater, sumRows, toEpoch, type StableCount, type TdCounts } from './tdengine/counts.js';
export { tcpProbe, type PortProbe, type Precision } from './tdengine/server.js';
export { TDENGINE_DUMP_DIR, TDENGINE_RESULT_FILE } from './tdengine/dump.js';
export type { TdRestoreOutcome } from './tdengine/restore.js';

export class TdengineEngine implements Engine, TdParts {
  readonly name = 'tdengine' as const;
  readonly server: TdServer;
  readonly counter: TdCounter;
  readonly tool: Taosdump;
  readonly guard: ScratchGuard;

  constructor(readonly cfg: TdengineConfig) {
    this.server = new TdServer(cfg);
    this.counter = new TdCounter(this.server);
    this.tool = new Taosdump(cfg);
    this.guard = new ScratchGuard(cfg.database);
  }

  get database(): string {
    return this.cfg.database;
  }

  /** The taosdump found by findTools (for messages). */
  get binary(): string {
    return this.tool.binary;
  }

  /**
   * Everything that can be checked without a connection: taosdump found (bin_dir or PATH),
   * the database names usable, TDENGINE_PASSWORD present and usable. UsageError (exit 2) otherwise.
   */
  findTools(env: NodeJS.ProcessEnv): void {
    this.tool.find(env);
    checkName(this.cfg.database, 'tdengine.database');
    if (this.cfg.scratch_database) checkName(this.cfg.scratch_database, 'tdengine.scratch_database');
    this.password(env);
  }

  password(env: NodeJS.ProcessEnv): string {
    return this.server.password(env);
  }

  toolEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
    return this.tool.toolEnv(env);
  }

  query(env: NodeJS.ProcessEnv, sql: string, signal?: AbortSignal): Promise<RestResult> {
    return this.server.query(env, sql, signal);
  }

  clientVersion(env: NodeJS.ProcessEnv): Promise<TdVersion> {
    return this.tool.clientVersion(env);
  }

  probe(env: NodeJS.ProcessEnv, signal?: AbortSignal): Promise<{ server: TdVersion }> {
    return this.server.probe(env, signal);
  }

  /** taosdump -V, the probe and the database, side by side (they were ~0.7 s in a row on a real server). */
  async preflight(ctx: EngineContext): Promise<PreflightInfo> {
    const { env, signal } = ctx;
    if (!this.tool.binary) this.findTools(env);
    const password = this.password(env);
    const [client, probed, db] = await Promise.allSettled([this.tool.clientVersion(env), this.server.probe(env, signal), this.server.databaseInfo(env, this.cfg.database, signal)]);
    // errors in the order a person would check them: the tool, a password it cannot read, the server
    if (client.status === 'rejected') throw client.reason;
    this.tool.checkPasswordFits(password, client.value);
    if (probed.status === 'rejected') throw probed.reason;
    if (db.status === 'rejected') throw db.reason;
    const c = client.value;
    const { server } = probed.value;
    const d = db.value;
    const vp = versionProblem(server, c, this.tool.binary);
    if (vp) throw new JobError(vp.code, vp.message, { hint: vp.hint });
    ctx.log.info(`TDengine ${server.text} at ${this.cfg.host}:${this.cfg.port} (REST ${this.cfg.rest_port}), taosdump ${c.text}; database ${d.name}, precision ${d.precision}`);
    return { serverVersion: server.text, clientVersion: c.text, estimatedBytes: null };
  }

  databaseInfo(env: NodeJS.ProcessEnv, name: string, signal?: AbortSignal): Promise<{ name: string; precision: Precision }> {
    return this.server.databaseInfo(env, name, signal);
  }

  databaseExists(env: NodeJS.ProcessEnv, name: string, signal?: AbortSignal): Promise<boolean> {
    return this.server.databaseExists(env, name, signal);
  }

  /**
   * Super tables (child-table count, rows) and normal tables (rows) of `db`; with `endTime` the
   * rows up to it, and `later`: the rows after it (see tdengine/counts.ts).
   */
  countDatabase(env: NodeJS.ProcessEnv, db: string, endTime?: string, signal?: AbortSignal): Promise<TdCounts> {
    return this.counter.countDatabase(env, db, endTime, signal);
  }

  /** Dumps the database into `<setDir>/tdengine/` and returns the manifest section (tdengine/dump.ts). */
  dump(ctx: EngineContext, setDir: string, pre: PreflightInfo, endTime: Date): Promise<TdengineSection> {
    return dumpDatabase(this, ctx, setDir, pre, endTime);
  }

  /** The database a dump records (its dbs.sql); remembered, so that no scratch operation drops it. */
  recordedDatabase(dumpDir: string): Promise<string> {
    return recordedDatabase(this, dumpDir);
  }

  /**
   * The scratch guard alone, with no connection (verify runs it before anything is created):
   * refuses production, system databases, and the database the set records (`database`, from
   * the manifest) or its dump records (`dumpDir`'s dbs.sql), whatever the case of either name.
   */
  async checkScratch(scratch: string, source: { dumpDir?: string; database?: string } = {}): Promise<void> {
    if (source.database !== undefined) this.guard.remember(source.database);
    if (source.dumpDir !== undefined) await this.recordedDatabase(source.dumpDir);
    this.guard.refuse(scratch, 'drop or overwrite');
  }

  /**
   * Makes room for a scratch restore: `DROP DATABASE IF EXISTS` (taosdump then creates it with the
   * dump's own CREATE DATABASE, precision included; restoring into an existing one would merge).
   * Refuses the production database whatever the config says, and, given the set (`source`), the
   * database its dump records: that name is read BEFORE the drop, as taosdump -i writes into it.
   */
  async recreateScratch(env: NodeJS.ProcessEnv, scratch: string, signal?: AbortSignal, source: { dumpDir?: string; database?: string } = {}): Promise<void> {
    await this.checkScratch(scratch, source);
    await this.query(env, `DROP DATABASE IF EXISTS ${sqlIdent(scratch)}`, signal);
  }

  /**
   * Drops a restore target, production included. Only the restore command calls this, after the
   * exact --confirm and after a safety set of the target was written.
   */
  async dropRestoreTarget(env: NodeJS.ProcessEnv, target: string, signal?: AbortSignal): Promise<void> {
    checkName(target, 'the restore target');
    await this.query(env, `DROP DATABASE IF EXISTS ${sqlIdent(target)}`, signal);
  }

  async dropScratch(env: NodeJS.ProcessEnv, scratch: string, signal?: AbortSignal): Promise<void> {
    this.guard.refuse(scratch, 'drop');
    await this.query(env, `DROP DATABASE IF EXISTS ${sqlIdent(scratch)}`, signal);
  }

  /**
   * `taosdump -i <dumpDir>` into `target` (tdengine/restore.ts). Judged by the failure lines only
   * (a good restore prints benign ERROR lines); the caller must still compare counts. `target`
   * equal to the production database is refused unless `allowProduction`; one that already exists
   * unless `allowExisting` (taosdump would merge into it), so a scratch restore follows recreateScratch().
   */
  restore(ctx: EngineContext, dumpDir: string, target: string, resultFile: string, opts: RestoreOptions = {}): Promise<TdRestoreOutcome> {
    return restoreDump(this, ctx, dumpDir, target, resultFile, opts);
  }
}
