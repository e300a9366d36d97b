/**
 * What a restore that stops says: how far it got, whether the target was touched, and (only when
 * it was) the command that rolls back. Pure, apart from `step`, which applies it.
 */
import { BackupError, CancelledError, JobError, UsageError, describe } from '../errors.js';
import type { EngineName } from './engine.js';
import type { RunContext } from '../commands/context.js';

/** Pure: the command that undoes a restore into `target` (the safety set, or dropping what it created). */
export function rollbackCommand(engine: EngineName, target: string, safetyId: string | null): string {
  if (engine === 'tdengine') return safetyId ? `pgtaos-backup restore ${safetyId} --engines tdengine --target ${target} --confirm ${target}` : `DROP DATABASE ${target}   -- it did not exist before`;
  return safetyId ? `pgtaos-backup restore ${safetyId} --target ${target} --confirm ${target}` : `dropdb ${target}   # it did not exist before`;
}

/**
 * How far a restore got when it stopped. `staging`: a PostgreSQL restore was filling a new
 * database of that name; the target itself was still untouched.
 */
export type RestoreStage =
  | { touched: false; setId: string; target: string; staging?: string }
  | { touched: true; setId: string; target: string; engine: EngineName; safetyId: string | null };

/** A cancel inside a restore: still `cancelled`, but the hint is about the target, not "run it again". */
export class RestoreCancelledError extends CancelledError {
  constructor(message: string, hint: string) {
    super('a signal', { code: 'restore.cancelled', message, hint });
    this.name = 'RestoreCancelledError';
  }
}

function untouchedState(stage: Extract<RestoreStage, { touched: false }>): string {
  const { target, setId, staging } = stage;
  if (!staging) return `the restore of ${setId} had not started: ${target} was not touched`;
  return `${target} was not touched (the restore of ${setId} was filling a new database, ${staging}, which is dropped)`;
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
    ? untouchedState(stage)
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
      : stage.staging
        ? `The run was stopped before ${target} was replaced: ${target} is as it was. A safety set taken before stays in the catalog (remove it by hand once settled). Run it again.`
        : `The run was stopped before the restore began; ${target} is as it was and no partial safety set was kept. Run it again.`;
    return new RestoreCancelledError(message, hint);
  }
  const code = err instanceof BackupError ? err.code : 'restore.failed';
  const hint = stage.touched ? `${d.hint ? `${d.hint} ` : ''}Do not use ${target} as it is: fix the cause and run the restore again, or roll back.${undo}` : `${d.hint ? `${d.hint} ` : ''}Nothing was restored.`;
  // Once work was done (a copy being filled, the target touched) it is never "nothing was changed": a usage error becomes a job failure.
  if (err instanceof UsageError && !stage.touched && !stage.staging) return new UsageError(code, message, { hint, cause: err });
  return new JobError(code, message, { hint, cause: err });
}

/** Runs `fn`; whatever stops it is reported against the stage the restore has reached by then. */
export async function step<T>(ctx: RunContext, stage: () => RestoreStage, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw restoreStopped(err, stage(), ctx.signal.aborted);
  }
}
