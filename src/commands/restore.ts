/**
 * restore: put a set back into a database, the safe way round. The target's name must be
 * repeated with --confirm; the target's current state is saved first as a `safety` set (no
 * safety set, no restore); then pg_restore --clean --if-exists, a row-count comparison with
 * the manifest, and the exact command that rolls back to the safety set.
 *
 * Once the target has been touched (pg_restore began, or the TDengine target was dropped), a
 * failure or a cancel ends with a plain statement that the target may be partly restored and
 * the roll-back command, never with the generic "nothing was kept, run it again".
 */
import path from 'node:path';
import { BackupError, CancelledError, JobError, UsageError, describe } from '../errors.js';
import { PostgresEngine } from '../engines/postgres.js';
import type { EngineContext } from '../engines/engine.js';
import { LOGS_DIR, findSet, type SetEntry } from '../catalog/sets.js';
import { TDENGINE_DUMP_DIR, TdengineEngine } from '../engines/tdengine.js';
import type { EngineName } from '../engines/engine.js';
import { compareCounts, comparePostgres, renderDifferences, tdengineCounts } from '../catalog/compare.js';
import { formatBytes } from '../catalog/time.js';
import { manifestFiles } from '../catalog/manifest.js';
import { assertSetSafe, setFilePath } from '../catalog/set-files.js';
import type { Check, CommandOutcome } from '../report/result.js';
import { backup } from './backup.js';
import { enginesInSet, requireSections } from './engines.js';
import type { RunContext } from './context.js';

const DB_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** Pure: the confirmation rule. The name must be repeated exactly, or nothing happens. */
export function checkConfirmation(target: string | undefined, confirm: string | undefined): string {
  if (!target) throw new UsageError('restore.no_target', 'restore needs --target <database>', { hint: 'Name the database to restore into, and repeat it with --confirm.' });
  if (!DB_NAME.test(target)) throw new UsageError('restore.bad_target', `${JSON.stringify(target)} is not a plain database name`, { hint: 'Letters, digits and _, not starting with a digit.' });
  if (confirm !== target) {
    throw new UsageError('restore.not_confirmed', `--confirm ${JSON.stringify(confirm ?? '')} does not repeat the target ${JSON.stringify(target)}; nothing was done`, {
      hint: `Restoring replaces what is in ${target}. If that is what you want, run again with --confirm ${target}.`,
    });
  }
  return target;
}

/** Pure: which engine's dump a restore puts back (one engine per run: each has its own target). */
export function pickEngine(held: EngineName[], choice: 'postgres' | 'tdengine' | 'all', setId: string): EngineName {
  if (held.length === 0) throw new UsageError('restore.nothing', `set ${setId} holds no database dump`, {});
  if (choice !== 'all') {
    if (!held.includes(choice)) throw new UsageError('restore.engine_not_in_set', `set ${setId} holds no ${choice} dump (it holds: ${held.join(', ')})`, {});
    return choice;
  }
  if (held.length > 1) {
    throw new UsageError('restore.which_engine', `set ${setId} holds a PostgreSQL and a TDengine dump; restore one at a time`, {
      hint: 'Add --engines postgres or --engines tdengine; --target names that engine\'s database.',
    });
  }
  return held[0]!;
}

/** Pure: the command that undoes a restore into `target` (the safety set, or dropping what it created). */
export function rollbackCommand(engine: EngineName, target: string, safetyId: string | null): string {
  if (engine === 'tdengine') return safetyId ? `pgtaos-backup restore ${safetyId} --engines tdengine --target ${target} --confirm ${target}` : `DROP DATABASE ${target}   -- it did not exist before`;
  return safetyId ? `pgtaos-backup restore ${safetyId} --target ${target} --confirm ${target}` : `dropdb ${target}   # it did not exist before`;
}

/** How far a restore got when it stopped. */
export type RestoreStage =
  | { touched: false; setId: string; target: string }
  | { touched: true; setId: string; target: string; engine: EngineName; safetyId: string | null };

/** A cancel inside a restore: still `cancelled`, but the hint is about the target, not "run it again". */
export class RestoreCancelledError extends CancelledError {
  constructor(message: string, hint: string) {
    super('a signal', { code: 'restore.cancelled', message, hint });
    this.name = 'RestoreCancelledError';
  }
}

/**
 * Pure: the error a restore ends with when `err` stops it at `stage`. Before the target is touched
 * the person learns it was not; after, that it may be partly restored, and the roll-back command
 * (last, so it is the last line of the run's error). The original message (and the tool's stderr
 * lines in it) stays.
 */
export function restoreStopped(err: unknown, stage: RestoreStage, cancelled: boolean): BackupError {
  if (err instanceof RestoreCancelledError) return err;
  const d = describe(err);
  const [first = '', ...rest] = d.message.split('\n');
  const { target, setId } = stage;
  const state = !stage.touched
    ? `the restore of ${setId} had not started: ${target} was not touched`
    : stage.safetyId
      ? `${target} may be partly restored (the restore of ${setId} into it had begun); what it held before is in the safety set ${stage.safetyId}`
      : `${target} may be partly restored (it did not exist before this restore of ${setId}, which created it)`;
  // "pg_restore ... failed (exit 1):" introduces the tool's lines: the statement goes before that colon.
  const lead = first.endsWith(':') ? `${first.slice(0, -1)}; ${state}:` : `${first}; ${state}`;
  const message = [lead, ...rest].join('\n');
  const undo = stage.touched ? ` To roll back: ${rollbackCommand(stage.engine, target, stage.safetyId)}` : '';
  if (cancelled) {
    const hint = stage.touched
      ? `The run was stopped in the middle of the restore: do not use ${target} as it is. Run the restore again, or roll back.${undo}`
      : `The run was stopped before the restore began; ${target} is as it was and no partial safety set was kept. Run it again.`;
    return new RestoreCancelledError(message, hint);
  }
  const code = err instanceof BackupError ? err.code : 'restore.failed';
  const hint = stage.touched ? `${d.hint ? `${d.hint} ` : ''}Do not use ${target} as it is: fix the cause and run the restore again, or roll back.${undo}` : `${d.hint ? `${d.hint} ` : ''}Nothing was restored.`;
  // After the target was touched it is never "nothing was changed": a usage error becomes a job failure.
  if (err instanceof UsageError && !stage.touched) return new UsageError(code, message, { hint, cause: err });
  return new JobError(code, message, { hint, cause: err });
}

/** Runs `fn`; whatever stops it is reported against the stage the restore has reached by then. */
async function step<T>(ctx: RunContext, stage: () => RestoreStage, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw restoreStopped(err, stage(), ctx.signal.aborted);
  }
}

/** TDengine: safety dump of the target, then drop it (taosdump would merge), then taosdump -W into it. */
async function restoreTdengine(ctx: RunContext, set: SetEntry, target: string): Promise<CommandOutcome> {
  const { config, log, env } = ctx;
  const td = set.manifest!.tdengine!;
  const engine = new TdengineEngine({ ...config.tdengine!, database: target });
  engine.findTools(env);
  const ectx: EngineContext = { log, signal: ctx.signal, env };
  const checks: Check[] = [];
  const t0 = Date.now();
  let stage: RestoreStage = { touched: false, setId: set.id, target };
  const now = () => stage;
  const exists = await step(ctx, now, async () => {
    await engine.preflight(ectx).catch((err: unknown) => {
      // A target that does not exist yet is fine for a restore; anything else is not.
      if (!(err instanceof JobError && err.code === 'tdengine.no_database')) throw err;
    });
    return engine.databaseExists(env, target, ctx.signal);
  });
  let safetyId: string | null = null;
  if (exists) {
    log.info(`taking a safety set of TDengine ${target} before replacing it`);
    const safety = await step(ctx, now, () => backup(ctx, { kind: 'safety', engines: ['tdengine'], tdengineDatabase: target }));
    safetyId = safety.set!.id;
    checks.push({ name: 'safety set', result: 'passed', detail: `${safetyId} (${formatBytes(safety.set!.bytes)}) at ${safety.set!.path}` });
  } else {
    checks.push({ name: 'safety set', result: 'skipped', detail: `${target} did not exist; nothing was replaced` });
  }
  // From the drop on, the target is touched: every stop says so and names the roll-back.
  stage = { touched: true, setId: set.id, target, engine: 'tdengine', safetyId };
  const restored = await step(ctx, now, async () => {
    // Only now, with its content saved, is the target dropped: taosdump -i merges into what exists.
    if (exists) await engine.dropRestoreTarget(env, target, ctx.signal);
    const resultFile = path.join(config.root, LOGS_DIR, `restore-${set.id}-tdengine-result.txt`);
    const out = await log.group(`TDengine: restore ${set.id} into ${target} (taosdump -W ${td.database}=${target})`, () =>
      assertSetSafe(set.path, manifestFiles(set.manifest!).map((f) => f.path), set.id).then(() => engine.restore(ectx, path.join(set.path, TDENGINE_DUMP_DIR), target, resultFile, { allowProduction: true })),
    );
    for (const w of out.warnings) log.warn(`taosdump: ${w}`);
    checks.push({ name: 'tdengine restore', result: 'passed', detail: `taosdump -i into ${target} finished without a failure summary` });
    return engine.countDatabase(env, target, td.end_time, ctx.signal);
  });
  const diffs = td.row_counts === 'unknown' ? [] : compareCounts(tdengineCounts(td), tdengineCounts(restored));
  checks.push(td.row_counts === 'unknown'
    ? { name: 'tdengine row counts', result: 'skipped', detail: 'imported set: no row counts on record' }
    : { name: 'tdengine row counts', result: diffs.length ? 'failed' : 'passed', detail: diffs.length ? `${diffs.length} differ: ${diffs.map((d) => d.table).join(', ')}` : 'rows and child tables match the manifest' });
  if (diffs.length) for (const l of renderDifferences(diffs)) log.error(`  ${l}`);
  const rollback = rollbackCommand('tdengine', target, safetyId);
  log.info(`to roll back: ${rollback}`);
  return {
    message: `${diffs.length ? 'restored with DIFFERENCES' : 'restored'} ${set.id} (TDengine) into ${target}. To roll back: ${rollback}`,
    failed: diffs.length > 0,
    set: { id: set.id, kind: set.kind, path: set.path, bytes: set.manifest!.bytes },
    checks,
    engines: { tdengine: { database: target, server_version: td.server_version, client_version: td.client_version, bytes: td.files.reduce((a, f) => a + f.bytes, 0), duration_ms: Date.now() - t0, tables: tdengineCounts(restored) } },
  };
}

export async function restore(ctx: RunContext): Promise<CommandOutcome> {
  const { config, log, env } = ctx;
  const target = checkConfirmation(ctx.request.target, ctx.request.confirm);
  if (!ctx.request.setId) throw new UsageError('restore.no_set', 'restore needs the id of the set to restore', { hint: '`pgtaos-backup list` shows the sets.' });
  const set = await findSet(config.root, ctx.request.setId);
  if (set.status !== 'complete') throw new JobError('restore.incomplete', `set ${set.id} is incomplete (${set.reason}); it cannot be restored by the tool`, { hint: 'Pick a complete set from `pgtaos-backup list`.' });
  const manifest = set.manifest!;
  const engine = pickEngine(enginesInSet(set), ctx.request.engines, set.id);
  requireSections(config, [engine], 'restore.no_engine_config', `set ${set.id}`);
  if (engine === 'tdengine') return restoreTdengine(ctx, set, target);
  const pg = manifest.postgres!;

  const pgEngine = new PostgresEngine({ ...config.postgres!, database: target });
  // Existence checks and CREATE DATABASE go through the configured database (the target may not exist).
  const admin = new PostgresEngine(config.postgres!);
  pgEngine.findTools(env);
  const ectx: EngineContext = { log, signal: ctx.signal, env };
  const checks: Check[] = [];
  let stage: RestoreStage = { touched: false, setId: set.id, target };
  const now = () => stage;

  // 1. Safety set of what is about to be replaced. If it fails, the restore does not start.
  const t0 = Date.now();
  // A TimescaleDB dump needs the same extension on the target server: checked before anything is touched.
  const timescaleVersion = pg.extensions.find((e) => e.name === 'timescaledb')?.version;
  const exists = await step(ctx, now, async () => {
    if (timescaleVersion !== undefined) await admin.requireExtension(env, 'timescaledb', timescaleVersion);
    return admin.databaseExists(env, target);
  });
  let safetyId: string | null = null;
  if (exists) {
    log.info(`taking a safety set of ${target} before replacing it`);
    const safety = await step(ctx, now, () => backup(ctx, { kind: 'safety', engines: ['postgres'], postgresDatabase: target }));
    safetyId = safety.set!.id;
    checks.push({ name: 'safety set', result: 'passed', detail: `${safetyId} (${formatBytes(safety.set!.bytes)}) at ${safety.set!.path}` });
  } else {
    log.info(`${target} does not exist: creating it (nothing to keep a safety copy of)`);
    await step(ctx, now, () => admin.createDatabase(env, target));
    checks.push({ name: 'safety set', result: 'skipped', detail: `${target} did not exist; nothing was replaced` });
  }

  // 2. Restore over it. From here on the target is touched: every stop names the roll-back.
  stage = { touched: true, setId: set.id, target, engine: 'postgres', safetyId };
  const timescale = timescaleVersion !== undefined;
  const restored = await step(ctx, now, async () => {
    await log.group(`PostgreSQL: restore ${set.id} into ${target}`, () =>
      setFilePath(set.path, pg.files[0]!.path, set.id).then((file) => pgEngine.restore(ectx, file, target, { jobs: config.postgres!.jobs, timescale, clean: exists, noOwner: false })),
    );
    checks.push({ name: 'postgres restore', result: 'passed', detail: `pg_restore ${exists ? '--clean --if-exists ' : ''}into ${target} succeeded` });
    // 3. Compare with the manifest (tables the dump does not know are left alone and reported).
    return pgEngine.countDatabase(env, target, log, ctx.signal, manifest.format);
  });
  const { diffs } = comparePostgres(pg, restored);
  const wrong = diffs.filter((d) => d.expected !== null);
  const extra = diffs.filter((d) => d.expected === null);
  for (const e of extra) log.warn(`${target} has a table the set does not: ${e.table} (${e.restored} rows); left as it was`);
  checks.push({
    name: 'postgres row counts',
    result: wrong.length === 0 ? 'passed' : 'failed',
    detail: wrong.length === 0 ? `${pg.tables.length} tables match the manifest` : `${wrong.length} tables differ: ${wrong.map((d) => d.table).join(', ')}`,
  });
  for (const t of restored.tables.filter((t) => pg.tables.some((p) => p.name === t.name))) log.info(`  ${t.name}: ${t.rows} rows`);
  if (wrong.length) for (const l of renderDifferences(wrong)) log.error(`  ${l}`);

  const rollback = rollbackCommand('postgres', target, safetyId);
  log.info(`to roll back: ${rollback}`);
  return {
    message: `${wrong.length ? 'restored with DIFFERENCES' : 'restored'} ${set.id} into ${target}. To roll back: ${rollback}`,
    failed: wrong.length > 0,
    set: { id: set.id, kind: set.kind, path: set.path, bytes: manifest.bytes },
    checks,
    engines: { postgres: { database: target, server_version: pg.server_version, client_version: pg.client_version, bytes: manifest.bytes, duration_ms: Date.now() - t0, tables: restored.tables } },
  };
}
