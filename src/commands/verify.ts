/**
 * verify: prove a set restores. Checksums first (cheap, names the damaged file); then a real
 * restore into the scratch database and a table-by-table comparison with the manifest.
 * The scratch database is dropped whatever happens; the outcome is recorded beside the set.
 */
import path from 'node:path';
import { JobError, UsageError } from '../errors.js';
import { PostgresEngine, parseClientVersion } from '../engines/postgres/index.js';
import type { PgCounts } from '../engines/postgres/index.js';
import { compareLater, TDENGINE_DUMP_DIR, TdengineEngine } from '../engines/tdengine.js';
import type { EngineContext } from '../engines/engine.js';
import { LOGS_DIR, findSet, listSets, newestVerifiable, type SetEntry } from '../catalog/sets.js';
import { manifestFiles, type Manifest } from '../catalog/manifest.js';
import { sha256File } from '../catalog/checksum.js';
import { assertSetSafe, setFilePath } from '../catalog/set-files.js';
import { compareCounts, comparePostgres, renderDifferences, tdengineCounts } from '../catalog/compare.js';
import { writeVerification } from '../catalog/verification.js';
import { localTime } from '../catalog/time.js';
import { formatBytes } from '../shared/format.js';
import { scratchDatabase } from '../inputs/config.js';
import type { Config } from '../inputs/config-schema.js';
import type { Check, CommandOutcome, EngineReport } from '../report/result.js';
import { TOOL_VERSION } from '../version.js';
import type { RunContext } from './context.js';
import { promises as fs } from 'node:fs';

/**
 * Before the root, its log or the lock exist (the prepare step): a TDengine scratch equal to the
 * database the set was dumped from is bad configuration, exit 2, and says nothing about the set.
 */
export async function refuseScratchOfSet(config: Config, set: SetEntry): Promise<void> {
  const td = set.manifest?.tdengine;
  if (!td || !config.tdengine) return;
  await new TdengineEngine(config.tdengine).checkScratch(scratchDatabase(config.tdengine), { database: td.database });
}

async function pickSet(ctx: RunContext): Promise<SetEntry> {
  if (ctx.request.setId) {
    const s = await findSet(ctx.config.root, ctx.request.setId);
    if (s.status !== 'complete') throw new JobError('verify.incomplete', `set ${s.id} is incomplete (${s.reason}); it is not a backup`, { hint: 'Verify a complete set; `pgtaos-backup list` shows which are.' });
    return s;
  }
  const newest = newestVerifiable(await listSets(ctx.config.root), ctx.now());
  if (!newest) throw new JobError('verify.no_set', `no complete daily or milestone set under ${ctx.config.root}`, { hint: 'Run `pgtaos-backup backup` first (a safety or config set is verified only when named: `verify <set id>`).' });
  return newest;
}

/** Size and SHA-256 of every file against the manifest. */
export async function checkFiles(dir: string, manifest: Manifest): Promise<Check[]> {
  const checks: Check[] = [];
  for (const f of manifestFiles(manifest)) {
    let detail: string;
    let ok = false;
    try {
      // Checked again here (not only when the catalog was read): no link, nothing outside the set.
      const abs = await setFilePath(dir, f.path, path.basename(dir));
      const st = await fs.lstat(abs);
      if (st.size !== f.bytes) detail = `${f.path}: ${st.size} bytes, manifest says ${f.bytes}`;
      else {
        const sum = await sha256File(abs);
        ok = sum === f.sha256;
        detail = ok ? `${f.path}: ${formatBytes(f.bytes)}, sha256 ok` : `${f.path}: sha256 ${sum.slice(0, 16)}… differs from the manifest's ${f.sha256.slice(0, 16)}… (the file is damaged)`;
      }
    } catch (err) {
      detail = `${f.path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : (err as Error).message}`;
    }
    checks.push({ name: `checksum ${f.path}`, result: ok ? 'passed' : 'failed', detail });
  }
  return checks;
}

export async function verify(ctx: RunContext): Promise<CommandOutcome> {
  const { config, log } = ctx;
  const set = await pickSet(ctx);
  const manifest = set.manifest!;
  log.info(`verifying ${set.kind} set ${set.id} (${formatBytes(manifest.bytes)}, ${manifest.started_at})`);
  const checks: Check[] = [];
  const engines: { postgres?: EngineReport; tdengine?: EngineReport } = {};
  const ectx: EngineContext = { log, signal: ctx.signal, env: ctx.env };

  const pgSection = manifest.postgres;
  const pgEngine = pgSection ? new PostgresEngine(config.postgres ?? noConfig('postgres')) : null;
  const tdSection = manifest.tdengine;
  const tdEngine = tdSection ? new TdengineEngine(config.tdengine ?? noConfig('tdengine')) : null;
  pgEngine?.findTools(ctx.env);
  tdEngine?.findTools(ctx.env);

  let failed = false;
  try {
    checks.push(...(await log.group('checksums', () => checkFiles(set.path, manifest))));
    for (const c of checks) (c.result === 'passed' ? log.info : log.error).call(log, c.detail);
    if (checks.some((c) => c.result === 'failed')) {
      failed = true;
      return finish();
    }
    if (pgEngine && pgSection) {
      const scratch = scratchDatabase(config.postgres!);
      const restoreV = await pgEngine.restoreClientVersion(ctx.env);
      const writer = parseClientVersion(`(PostgreSQL) ${pgSection.client_version}`);
      if (writer && restoreV.major < writer.major) {
        throw new JobError('postgres.client_too_old', `pg_restore ${restoreV.text} cannot read an archive written by pg_dump ${pgSection.client_version} (archive format ${pgSection.archive_version ?? '?'})`, {
          hint: `Install the PostgreSQL ${writer.major} client (apt install postgresql-client-${writer.major} from apt.postgresql.org) and set postgres.bin_dir to /usr/lib/postgresql/${writer.major}/bin.`,
        });
      }
      const t0 = Date.now();
      try {
        await log.group(`PostgreSQL: restore ${set.id} into scratch database ${scratch}`, async () => {
          const timescaleVersion = pgSection.extensions.find((e) => e.name === 'timescaledb')?.version;
          const timescale = timescaleVersion !== undefined;
          if (timescale) await pgEngine.requireExtension(ctx.env, 'timescaledb', timescaleVersion);
          await pgEngine.recreateScratch(ctx.env, scratch);
          await pgEngine.restore(ectx, await setFilePath(set.path, pgSection.files[0]!.path, set.id), scratch, { jobs: config.postgres!.jobs, timescale, noOwner: true });
        });
        // Counted by the rules of the set's own manifest format: both sides alike.
        const restored = await pgEngine.countDatabase(ctx.env, scratch, log, ctx.signal, manifest.format);
        checks.push({ name: 'postgres restore', result: 'passed', detail: `pg_restore into ${scratch} succeeded` });
        if (pgSection.row_counts === 'unknown') {
          const rows = restored.tables.reduce((a, t) => a + t.rows, 0);
          checks.push({ name: 'postgres row counts', result: 'skipped', detail: `not compared: an imported set's manifest has none (the restored database has ${restored.tables.length} tables, ${rows} rows)` });
        } else if (comparePgCounts(pgSection, restored)) failed = true;
        engines.postgres = { database: scratch, server_version: pgSection.server_version, client_version: restoreV.text, bytes: pgSection.files.reduce((a, f) => a + f.bytes, 0), duration_ms: Date.now() - t0, tables: restored.tables };
      } catch (err) {
        if (!ctx.signal.aborted) checks.push({ name: 'postgres restore', result: 'failed', detail: err instanceof Error ? err.message : String(err) });
        throw err;
      } finally {
        // Whatever happened (including SIGTERM), the scratch database goes.
        await pgEngine.dropScratch(ctx.env, scratch).then(
          () => log.info(`dropped scratch database ${scratch}`),
          (e: unknown) => log.error(`could not drop scratch database ${scratch}: ${(e as Error).message}; drop it by hand`),
        );
      }
    }
    if (tdEngine && tdSection) {
      const scratch = scratchDatabase(config.tdengine!);
      const t0 = Date.now();
      // taosdump's result file goes beside the run's logs, never into the set (its checksums stay true).
      const resultFile = path.join(config.root, LOGS_DIR, `verify-${set.id}-tdengine-result.txt`);
      // Set once the scratch guard passed: a refused scratch (the dump's own database) is never dropped.
      let scratchMade = false;
      try {
        const out = await log.group(`TDengine: restore ${set.id} into scratch database ${scratch} (taosdump -W ${tdSection.database}=${scratch})`, async () => {
          // The set is passed so the database its dump records is refused as scratch BEFORE any DROP.
          await assertSetSafe(set.path, manifestFiles(manifest).map((f) => f.path), set.id);
          await tdEngine.recreateScratch(ctx.env, scratch, ctx.signal, { dumpDir: path.join(set.path, TDENGINE_DUMP_DIR), database: tdSection.database });
          scratchMade = true;
          return tdEngine.restore(ectx, path.join(set.path, TDENGINE_DUMP_DIR), scratch, resultFile);
        });
        for (const w of out.warnings) log.warn(`taosdump: ${w}`);
        checks.push({ name: 'tdengine restore', result: 'passed', detail: `taosdump -i into ${scratch} finished without a failure summary${out.warnings.length ? ` (${out.warnings.length} benign ERROR/WARN lines)` : ''}` });
        const restored = await tdEngine.countDatabase(ctx.env, scratch, tdSection.end_time, ctx.signal);
        if (tdSection.row_counts === 'unknown') {
          checks.push({ name: 'tdengine row counts', result: 'skipped', detail: 'imported set: the manifest has no row counts to compare with' });
        } else {
          const diffs = compareCounts(tdengineCounts(tdSection), tdengineCounts(restored));
          checks.push({
            name: 'tdengine row counts',
            result: diffs.length === 0 ? 'passed' : 'failed',
            detail: diffs.length === 0 ? `${tdSection.stables.length} super tables, ${tdSection.tables.length} normal tables: rows and child tables match the manifest` : `${diffs.length} differ: ${diffs.map((d) => d.table).join(', ')}`,
          });
          if (diffs.length) {
            failed = true;
            log.error(`restored TDengine counts differ from the manifest of ${set.id}:`);
            for (const l of renderDifferences(diffs)) log.error(`  ${l}`);
          }
        }
        if (tdSection.row_counts !== 'unknown') {
          // rows dated after end_time (future-dated calendars) are dumped too and compared apart
          const later = compareLater(tdSection.rows_after_end_time, restored, tdSection.end_time);
          checks.push({ name: 'tdengine rows after end_time', result: later.ok ? 'passed' : 'failed', detail: later.detail });
          if (!later.ok) {
            failed = true;
            log.error(`restored TDengine copy of ${set.id}: ${later.detail}`);
          }
        }
        engines.tdengine = { database: scratch, server_version: tdSection.server_version, client_version: tdSection.client_version, bytes: tdSection.files.reduce((a, f) => a + f.bytes, 0), duration_ms: Date.now() - t0, tables: tdengineCounts(restored) };
      } catch (err) {
        if (!ctx.signal.aborted) checks.push({ name: 'tdengine restore', result: 'failed', detail: err instanceof Error ? err.message : String(err) });
        throw err;
      } finally {
        if (scratchMade) {
          await tdEngine.dropScratch(ctx.env, scratch).then(
            () => log.info(`dropped scratch database ${scratch}`),
            (e: unknown) => log.error(`could not drop TDengine scratch database ${scratch}: ${(e as Error).message}; drop it by hand`),
          );
        }
      }
    }
    return finish();
  } catch (err) {
    failed = true;
    // A usage error (a scratch name the config should not have) says nothing about the set.
    if (!ctx.signal.aborted && !(err instanceof UsageError)) await record();
    throw err;
  }

  /** The row-count and large-object checks of a set with counts; true when one failed. */
  function comparePgCounts(pgSection: NonNullable<Manifest['postgres']>, restored: PgCounts): boolean {
    const { diffs, notCompared } = comparePostgres(pgSection, restored);
    const compared = pgSection.tables;
    checks.push({
      name: 'postgres row counts',
      result: diffs.length === 0 ? 'passed' : 'failed',
      detail: diffs.length === 0 ? `${compared.length} tables, ${compared.reduce((a, t) => a + t.rows, 0)} rows: all match the manifest` : `${diffs.length} tables differ: ${diffs.map((d) => d.table).join(', ')}`,
    });
    for (const n of notCompared) {
      checks.push({ name: `postgres row count ${n.table}`, result: 'skipped', detail: `not compared: the backup could not count it (${n.reason}); restored ${n.restored === null ? 'without a count' : `with ${n.restored} rows`}` });
    }
    const loOk = restored.largeObjects === pgSection.large_objects;
    checks.push({ name: 'postgres large objects', result: loOk ? 'passed' : 'failed', detail: `${restored.largeObjects} restored, manifest says ${pgSection.large_objects}` });
    if (diffs.length) {
      log.error(`restored row counts differ from the manifest of ${set.id}:`);
      for (const l of renderDifferences(diffs)) log.error(`  ${l}`);
    }
    return diffs.length > 0 || !loOk;
  }

  async function record(): Promise<void> {
    // Details quote tools and servers (pg_restore lines, error messages): no secret may reach the file.
    // Only the free text is masked: maskDeep would also reach the result enum and the timestamp.
    await writeVerification(set.path, {
      verified_at: localTime(ctx.now(), config.timezone).iso,
      result: failed ? 'failed' : 'passed',
      checks: checks.map((c) => ({ ...c, name: log.mask(c.name), detail: log.mask(c.detail) })),
      tool_version: TOOL_VERSION,
    }).catch((e: unknown) => log.warn(`could not record the verification beside ${set.id}: ${(e as Error).message}`));
  }

  async function finish(): Promise<CommandOutcome> {
    await record();
    const failedChecks = checks.filter((c) => c.result === 'failed');
    return {
      message: failed ? `set ${set.id} FAILED verification: ${failedChecks.map((c) => c.detail).join('; ')}` : `set ${set.id} verified: ${verifiedSummary(checks)}`,
      failed,
      set: { id: set.id, kind: set.kind, path: set.path, bytes: manifest.bytes },
      checks,
      engines,
    };
  }
}

/** What a passed verification checked, and what it could not (skipped checks say why). */
export function verifiedSummary(checks: Check[]): string {
  const skipped = checks.filter((c) => c.result === 'skipped');
  if (skipped.length === 0) return 'checksums, restore and row counts match';
  const passed = [...new Set(checks.filter((c) => c.result === 'passed').map((c) => c.name.replace(/^checksum .*/, 'checksums')))];
  return `passed: ${passed.join(', ')}; not checked: ${skipped.map((c) => `${c.name} (${c.detail})`).join('; ')}`;
}

function noConfig(engine: string): never {
  throw new UsageError('verify.no_engine_config', `the set holds a ${engine} dump but the config has no ${engine}: section`, { hint: `Add the ${engine}: section (it names the server to restore into).` });
}
