/**
 * restore: put a set back into a database, the safe way round. The target's name must be
 * repeated with --confirm; the set is read first (a damaged set touches nothing); the target's
 * current state is saved as a `safety` set (no safety set, no restore); then the engine's restore
 * (PostgreSQL: restore-postgres.ts, into a new database swapped in at the end), a row-count
 * comparison with the manifest, and the exact command that rolls back to the safety set.
 *
 * Once the target has been touched (the TDengine target dropped), a failure or a cancel ends with
 * a plain statement that the target may be partly restored and the roll-back command, never with
 * the generic "nothing was kept, run it again"; before that, that the target was not touched.
 */
import path from 'node:path';
import { JobError, UsageError } from '../errors.js';
import { isReservedName } from '../engines/postgres/index.js';
import type { EngineContext, EngineName } from '../engines/engine.js';
import { LOGS_DIR, findSet, type SetEntry } from '../catalog/sets.js';
import { TdengineEngine, compareLater } from '../engines/tdengine.js';
import { compareCounts, renderDifferences, tdengineCounts } from '../catalog/compare.js';
import { formatBytes } from '../shared/format.js';
import { manifestFiles } from '../catalog/manifest.js';
import { assertSetSafe } from '../catalog/set-files.js';
import type { Check, CommandOutcome } from '../report/result.js';
import { backup } from './backup.js';
import { enginesInSet, requireSections } from './engines.js';
import type { RunContext } from './context.js';
import { requireWholeSet, tdengineDumpDir } from './restore-check.js';
import { restorePostgres } from './restore-postgres.js';
import { rollbackCommand, step, type RestoreStage } from './restore-stage.js';

export { RestoreCancelledError, restoreStopped, rollbackCommand, step, type RestoreStage } from './restore-stage.js';

const DB_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** Pure: the confirmation rule. The name must be repeated exactly, or nothing happens. */
export function checkConfirmation(target: string | undefined, confirm: string | undefined): string {
  if (!target) throw new UsageError('restore.no_target', 'restore needs --target <database>', { hint: 'Name the database to restore into, and repeat it with --confirm.' });
  if (!DB_NAME.test(target)) throw new UsageError('restore.bad_target', `${JSON.stringify(target)} is not a plain database name`, { hint: 'Letters, digits and _, not starting with a digit.' });
  if (isReservedName(target)) throw new UsageError('restore.reserved_target', `${target} ends in a suffix a restore reserves for its own copies (_pgtaos_new, _pgtaos_old)`, { hint: 'Restore into another name; a PostgreSQL restore fills <target>_pgtaos_new and swaps it in.' });
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
  checks.push(await step(ctx, now, () => requireWholeSet(set, 'tdengine', null, ectx)));
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
      // taosdump -i reads the whole folder: no link or stray path in it, checked again just before.
      assertSetSafe(set.path, manifestFiles(set.manifest!).map((f) => f.path), set.id).then(() => engine.restore(ectx, tdengineDumpDir(set), target, resultFile, { allowProduction: true })),
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
  // Rows dated after the backup's start (future-dated calendars) are restored too: compared apart, as verify does.
  const later = td.row_counts === 'unknown' ? null : compareLater(td.rows_after_end_time, restored, td.end_time);
  if (later) {
    checks.push({ name: 'tdengine rows after end_time', result: later.ok ? 'passed' : 'failed', detail: later.detail });
    if (!later.ok) log.error(`restored TDengine ${target}: ${later.detail}`);
  }
  const bad = diffs.length > 0 || (later !== null && !later.ok);
  const rollback = rollbackCommand('tdengine', target, safetyId);
  log.info(`to roll back: ${rollback}`);
  return {
    message: `${bad ? 'restored with DIFFERENCES' : 'restored'} ${set.id} (TDengine) into ${target}. To roll back: ${rollback}`,
    failed: bad,
    set: { id: set.id, kind: set.kind, path: set.path, bytes: set.manifest!.bytes },
    checks,
    engines: { tdengine: { database: target, server_version: td.server_version, client_version: td.client_version, bytes: td.files.reduce((a, f) => a + f.bytes, 0), duration_ms: Date.now() - t0, tables: tdengineCounts(restored) } },
  };
}

export async function restore(ctx: RunContext): Promise<CommandOutcome> {
  const { config } = ctx;
  const target = checkConfirmation(ctx.request.target, ctx.request.confirm);
  if (!ctx.request.setId) throw new UsageError('restore.no_set', 'restore needs the id of the set to restore', { hint: '`pgtaos-backup list` shows the sets.' });
  const set = await findSet(config.root, ctx.request.setId);
  if (set.status !== 'complete') throw new JobError('restore.incomplete', `set ${set.id} is incomplete (${set.reason}); it cannot be restored by the tool`, { hint: 'Pick a complete set from `pgtaos-backup list`.' });
  const engine = pickEngine(enginesInSet(set), ctx.request.engines, set.id);
  requireSections(config, [engine], 'restore.no_engine_config', `set ${set.id}`);
  return engine === 'tdengine' ? restoreTdengine(ctx, set, target) : restorePostgres(ctx, set, target);
}
