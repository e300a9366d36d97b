/**
 * PostgreSQL as a registered engine: the adapter between the commands' lifecycle (plugin.ts) and
 * PostgresEngine (pg_dump on an exported snapshot, pg_restore, counts).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { JobError } from '../../errors.js';
import { renderDifferences } from '../../catalog/compare.js';
import { comparePostgres } from './compare.js';
import type { SetEntry } from '../../catalog/sets.js';
import type { RunContext } from '../../commands/context.js';
import { restorePostgresTables } from './restore-tables.js';
import { restoreTablesAsSchema } from './restore-as-schema.js';
import { restorePostgres } from './restore-target.js';
import { checkGlobalsFile } from './restore-globals.js';
import { scratchDatabase } from '../../inputs/scratch.js';
import { formatBytes } from '../../shared/format.js';
import type { Check } from '../../report/result.js';
import type { EngineContext, PreflightInfo } from '../engine.js';
import type { PgCounts } from './counts.js';
import { parseClientVersion, pgDumpPath, PostgresEngine } from './index.js';
import { isReservedName } from './admin.js';
import { postgresSchema, postgresSection, type PostgresConfig, type PostgresSection } from './schema.js';
import { postgresImporter } from './import.js';
import { parseToc, withoutForeignKeys } from './table-select.js';
import { checkPostgres } from './check.js';
import { POSTGRES_OPTIONS } from '../options.js';
import { defineEngine, type Dumped, type Engine, type Preflight, type ScratchContext, type ScratchOutcome, type RestoreKit } from '../plugin.js';

class PostgresLifecycle implements Engine<PostgresSection> {
  private readonly pg: PostgresEngine;

  /** `only`: dump just these tables (schema.table as the manifest names them). */
  constructor(private readonly cfg: PostgresConfig, private readonly only?: readonly string[]) {
    this.pg = new PostgresEngine(cfg);
  }

  get database(): string {
    return this.cfg.database;
  }

  get where(): string {
    return `PostgreSQL ${this.cfg.host}:${this.cfg.port}/${this.cfg.database}`;
  }

  findTools(env: NodeJS.ProcessEnv): void {
    this.pg.findTools(env);
  }

  async preflight(ctx: EngineContext): Promise<Preflight> {
    const pre = await this.pg.preflight(ctx);
    return { ...pre, summary: `server ${pre.serverVersion}, pg_dump ${pre.clientVersion}, database ${formatBytes(pre.estimatedBytes ?? 0)}` };
  }

  async dump(ctx: EngineContext, stagingDir: string, pre: PreflightInfo): Promise<Dumped<PostgresSection>> {
    const section = await this.pg.dump(ctx, stagingDir, pre, this.only);
    return { section, tables: section.tables, uncounted: (section.count_errors ?? []).map((e) => ({ name: e.name, error: e.error })) };
  }

  /** pg_restore into the scratch database, counted by the rules of the set's own manifest format; the scratch is dropped whatever happens. */
  async restoreScratch(ctx: ScratchContext, set: SetEntry, section: PostgresSection, checks: Check[]): Promise<ScratchOutcome> {
    const { log, env } = ctx;
    const pg = this.pg;
    const scratch = scratchDatabase(this.cfg);
    const restoreV = await pg.restoreClientVersion(env);
    const writer = parseClientVersion(`(PostgreSQL) ${section.client_version}`);
    if (writer && restoreV.major < writer.major) {
      throw new JobError('postgres.client_too_old', `pg_restore ${restoreV.text} cannot read an archive written by pg_dump ${section.client_version} (archive format ${section.archive_version ?? '?'})`, {
        hint: `Install the PostgreSQL ${writer.major} client (apt install postgresql-client-${writer.major} from apt.postgresql.org) and set postgres.bin_dir to /usr/lib/postgresql/${writer.major}/bin.`,
      });
    }
    const t0 = Date.now();
    try {
      await log.group(`PostgreSQL: restore ${set.id} into scratch database ${scratch}`, async () => {
        const timescaleVersion = section.extensions.find((e) => e.name === 'timescaledb')?.version;
        const timescale = timescaleVersion !== undefined;
        if (timescale) await pg.requireExtension(env, 'timescaledb', timescaleVersion);
        await pg.recreateScratch(env, scratch);
        const file = await pgDumpPath(set);
        if (!section.only_tables) await pg.restore(ctx, file, scratch, { jobs: this.cfg.jobs, timescale, noOwner: true });
        else await restoreSomeTables(pg, ctx, { file, scratch, jobs: this.cfg.jobs }, section, checks);
      });
      // Counted by the rules of the set's own manifest format: both sides alike.
      const restored = await pg.countDatabase(env, scratch, log, ctx.signal, set.manifest!.format);
      checks.push({ name: 'postgres restore', result: 'passed', detail: `pg_restore into ${scratch} succeeded` });
      let failed = false;
      if (section.row_counts === 'unknown') {
        const rows = restored.tables.reduce((a, t) => a + t.rows, 0);
        checks.push({ name: 'postgres row counts', result: 'skipped', detail: `not compared: an imported set's manifest has none (the restored database has ${restored.tables.length} tables, ${rows} rows)` });
      } else failed = compareScratchCounts(ctx, set, section, restored, checks);
      const globals = await checkGlobalsFile(set);
      if (globals) checks.push(globals);
      failed ||= globals?.result === 'failed';
      const report = { database: scratch, server_version: section.server_version, client_version: restoreV.text, bytes: section.files.reduce((a, f) => a + f.bytes, 0), duration_ms: Date.now() - t0, tables: restored.tables };
      return { failed, report };
    } catch (err) {
      if (!ctx.signal.aborted) checks.push({ name: 'postgres restore', result: 'failed', detail: err instanceof Error ? err.message : String(err) });
      throw err;
    } finally {
      // Whatever happened (including SIGTERM), the scratch database goes.
      await pg.dropScratch(env, scratch).then(
        () => log.info(`dropped scratch database ${scratch}`),
        (e: unknown) => log.error(`could not drop scratch database ${scratch}: ${(e as Error).message}; drop it by hand`),
      );
    }
  }

  restoreTarget(ctx: RunContext, set: SetEntry, target: string, kit: RestoreKit) {
    const { tables, asSchema } = ctx.request;
    if (tables.length === 0) return restorePostgres(ctx, set, target, kit);
    return asSchema === undefined ? restorePostgresTables(ctx, set, target, tables, kit) : restoreTablesAsSchema(ctx, set, target, tables, asSchema);
  }

  check(ctx: EngineContext): Promise<Check[]> {
    return checkPostgres(this.pg, this.cfg, ctx);
  }
}

/**
 * A set of some tables (a table restore's safety set) into the scratch: their schemas first (pg_dump -t
 * writes no CREATE SCHEMA), and without their foreign keys, which point at tables the set does not hold.
 */
async function restoreSomeTables(pg: PostgresEngine, ctx: ScratchContext, into: { file: string; scratch: string; jobs: number }, section: PostgresSection, checks: Check[]): Promise<void> {
  const { file, scratch, jobs } = into;
  await pg.createSchemas(ctx.env, scratch, [...new Set(section.tables.flatMap((t) => (t.schema === undefined ? [] : [t.schema])))]);
  const { lines, left } = withoutForeignKeys(parseToc(await pg.archives.list(file, ctx.env, ctx.signal, Number.POSITIVE_INFINITY, true)));
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pgtaos-verify-'));
  try {
    const listFile = path.join(dir, 'restore.list');
    await writeFile(listFile, `${lines.join('\n')}\n`, { mode: 0o600 });
    await pg.restore(ctx, file, scratch, { jobs, timescale: false, noOwner: true, listFile });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const what = `holds only ${section.only_tables!.join(', ')}`;
  ctx.log.info(`the set ${what}${left ? `; ${left} foreign key(s) to tables it does not hold were left out of the scratch restore` : ''}`);
  checks.push({ name: 'postgres tables', result: 'passed', detail: `a set of some tables: it ${what}${left ? ` (${left} foreign key(s) to other tables not restored here)` : ''}` });
}

/** The row-count and large-object checks of a set with counts; true when one failed. */
function compareScratchCounts(ctx: ScratchContext, set: SetEntry, section: PostgresSection, restored: PgCounts, checks: Check[]): boolean {
  const { diffs, notCompared } = comparePostgres(section, restored);
  const compared = section.tables;
  checks.push({
    name: 'postgres row counts',
    result: diffs.length === 0 ? 'passed' : 'failed',
    detail: diffs.length === 0 ? `${compared.length} tables, ${compared.reduce((a, t) => a + t.rows, 0)} rows: all match the manifest` : `${diffs.length} tables differ: ${diffs.map((d) => d.table).join(', ')}`,
  });
  for (const n of notCompared) {
    checks.push({ name: `postgres row count ${n.table}`, result: 'skipped', detail: `not compared: the backup could not count it (${n.reason}); restored ${n.restored === null ? 'without a count' : `with ${n.restored} rows`}` });
  }
  const loOk = restored.largeObjects === section.large_objects;
  checks.push({ name: 'postgres large objects', result: loOk ? 'passed' : 'failed', detail: `${restored.largeObjects} restored, manifest says ${section.large_objects}` });
  if (diffs.length) {
    ctx.log.error(`restored row counts differ from the manifest of ${set.id}:`);
    for (const l of renderDifferences(diffs)) ctx.log.error(`  ${l}`);
  }
  return diffs.length > 0 || !loOk;
}

export const postgresPlugin = defineEngine({
  name: 'postgres',
  label: 'PostgreSQL',
  configSchema: postgresSchema,
  manifestSchema: postgresSection,
  secretEnv: POSTGRES_OPTIONS.secretInputs.map((s) => s.env),
  pathKeys: ['bin_dir'],
  counts: (section) => section.tables,
  databases: (cfg) => ({ database: cfg.database, scratch: cfg.scratch_database ?? null }),
  reservedTarget: (target) =>
    isReservedName(target)
      ? { message: `${target} ends in a suffix a restore reserves for its own copies (_pgtaos_new, _pgtaos_old)`, hint: 'Restore into another name; a PostgreSQL restore fills <target>_pgtaos_new and swaps it in.' }
      : null,
  importer: (ctx) => postgresImporter(ctx),
  create: (cfg, opts) => new PostgresLifecycle(opts?.database ? { ...cfg, database: opts.database } : cfg, opts?.tables),
});
