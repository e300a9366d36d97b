/**
 * restore: put a set back into a database, the safe way round. The target's name must be
 * repeated with --confirm; the set is read first (a damaged set touches nothing); the target's
 * current state is saved as a `safety` set (no safety set, no restore); then the engine's restore
 * (its plugin's restoreTarget), a row-count comparison with the manifest, and the exact command
 * that rolls back to the safety set.
 *
 * Once the target has been touched, a failure or a cancel ends with
 * a plain statement that the target may be partly restored and the roll-back command, never with
 * the generic "nothing was kept, run it again"; before that, that the target was not touched.
 */
import { JobError, UsageError } from '../errors.js';
import { enginePlugin, enginePlugins } from '../engines/registry.js';
import { findSet } from '../catalog/sets.js';
import type { EngineChoice } from '../inputs/options.js';
import type { Config } from '../inputs/config-schema.js';
import type { Engine } from '../engines/plugin.js';
import type { CommandOutcome } from '../report/result.js';
import { createEngine, enginesInSet, requireSections } from './engines.js';
import type { RunContext } from './context.js';
import { backup } from './backup.js';

export { RestoreCancelledError, restoreStopped, rollbackCommand, step, type RestoreStage } from '../engines/restore-stage.js';

const DB_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** Pure: the confirmation rule. The name must be repeated exactly, or nothing happens. */
export function checkConfirmation(target: string | undefined, confirm: string | undefined): string {
  if (!target) throw new UsageError('restore.no_target', 'restore needs --target <database>', { hint: 'Name the database to restore into, and repeat it with --confirm.' });
  if (!DB_NAME.test(target)) throw new UsageError('restore.bad_target', `${JSON.stringify(target)} is not a plain database name`, { hint: 'Letters, digits and _, not starting with a digit.' });
  for (const p of enginePlugins()) {
    const reserved = p.reservedTarget?.(target);
    if (reserved) throw new UsageError('restore.reserved_target', reserved.message, { hint: reserved.hint });
  }
  if (confirm !== target) {
    throw new UsageError('restore.not_confirmed', `--confirm ${JSON.stringify(confirm ?? '')} does not repeat the target ${JSON.stringify(target)}; nothing was done`, {
      hint: `Restoring replaces what is in ${target}. If that is what you want, run again with --confirm ${target}.`,
    });
  }
  return target;
}

/** Pure: which engine's dump a restore puts back (one engine per run: each has its own target). */
export function pickEngine(held: string[], choice: EngineChoice, setId: string): string {
  if (held.length === 0) throw new UsageError('restore.nothing', `set ${setId} holds no database dump`, {});
  if (choice !== 'all') {
    if (!held.includes(choice)) throw new UsageError('restore.engine_not_in_set', `set ${setId} holds no ${choice} dump (it holds: ${held.join(', ')})`, {});
    return choice;
  }
  if (held.length > 1) {
    const labels = held.map((e) => enginePlugin(e)?.label ?? e);
    throw new UsageError('restore.which_engine', `set ${setId} holds ${labels.map((l) => `a ${l}`).join(' and ')} dump; restore one at a time`, {
      hint: `Add ${held.map((e) => `--engines ${e}`).join(' or ')}; --target names that engine's database.`,
    });
  }
  return held[0]!;
}

/** The engine that restores `name`'s dump; one whose plugin has no restoreTarget is refused (exit 2, in the prepare step: nothing is created). */
export function restorableEngine(config: Config, name: string, setId: string): NonNullable<Engine['restoreTarget']> {
  const engine = createEngine(config, name);
  if (!engine.restoreTarget) throw new UsageError('restore.not_supported', `the ${name} engine cannot restore a set into a database`, { hint: `Restore ${setId} by hand from its files.` });
  return engine.restoreTarget.bind(engine);
}

/** Pure: --table restores PostgreSQL tables, and only tables (no --with-globals beside it); --as-schema goes with --table. */
export function checkTableOptions(request: Pick<RunContext['request'], 'tables' | 'withGlobals' | 'asSchema'>, engine: string): void {
  if (request.asSchema !== undefined && request.tables.length === 0) throw new UsageError('restore.bad_schema', '--as-schema goes with --table: it names where the chosen tables go', { hint: 'Add --table schema.name for each table to restore beside the others. Nothing was done.' });
  if (request.tables.length === 0) return;
  if (engine !== 'postgres') throw new UsageError('restore.tables_engine', `--table restores PostgreSQL tables; the ${engine} dump is restored whole`, { hint: 'See the README, One table back, for what taosdump can do. Nothing was done.' });
  if (request.withGlobals) throw new UsageError('restore.tables_globals', '--with-globals goes with a whole restore onto a new server, not with --table', { hint: 'Run the restore with --with-globals first, or --table without it. Nothing was done.' });
}

export async function restore(ctx: RunContext): Promise<CommandOutcome> {
  const { config } = ctx;
  const target = checkConfirmation(ctx.request.target, ctx.request.confirm);
  if (!ctx.request.setId) throw new UsageError('restore.no_set', 'restore needs the id of the set to restore', { hint: '`pgtaos-backup list` shows the sets.' });
  const set = await findSet(config.root, ctx.request.setId);
  if (set.status !== 'complete') throw new JobError('restore.incomplete', `set ${set.id} is incomplete (${set.reason}); it cannot be restored by the tool`, { hint: 'Pick a complete set from `pgtaos-backup list`.' });
  const name = pickEngine(enginesInSet(set), ctx.request.engines, set.id);
  requireSections(config, [name], 'restore.no_engine_config', `set ${set.id}`);
  checkTableOptions(ctx.request, name);
  const restoreTarget = restorableEngine(config, name, set.id);
  return restoreTarget(ctx, set, target, {
    safetySet: (database, tables) => backup(ctx, { kind: 'safety', engines: [name], databases: { [name]: database }, ...(tables ? { tables: { [name]: tables } } : {}) }),
  });
}
