/**
 * The one place a RunResult is assembled, from the facts of a run: runCommand's normal path and the
 * action's input-failure path (inputs refused before any run) both build theirs here, so the two
 * cannot drift apart.
 */
import os from 'node:os';
import { CancelledError, EXIT, describe, exitCodeOf } from './errors.js';
import type { LoadedConfig } from './inputs/config.js';
import { stderrTail } from './report/failure.js';
import { eventsOf } from './report/notify.js';
import { runResultSchema, type CommandOutcome, type RunResult, type Storage } from './report/result.js';
import { runUrl } from './shared/github.js';
import { TOOL_NAME, TOOL_VERSION } from './version.js';

export interface RunFacts {
  /** The command run, or what was asked for when the request itself was invalid. */
  command: string;
  started: Date;
  finished: Date;
  loaded: LoadedConfig | null;
  outcome: CommandOutcome | null;
  /** What the run failed with, or null. */
  failure: unknown;
  storage: Storage | null;
  warnings: string[];
  env: NodeJS.ProcessEnv;
  logPath: string | null;
  reportPath: string | null;
}

/** Status and exit code: a thrown failure decides, else the command's own `failed`. */
export function settle(failure: unknown, outcome: CommandOutcome | null): { status: RunResult['status']; exitCode: number } {
  if (failure) return { status: failure instanceof CancelledError ? 'cancelled' : 'failure', exitCode: exitCodeOf(failure) };
  return outcome?.failed ? { status: 'failure', exitCode: EXIT.failed } : { status: 'success', exitCode: EXIT.ok };
}

/** The result, checked against its schema. Notifications are added by the caller once they are sent. */
export function buildResult(f: RunFacts): RunResult {
  const { outcome, failure, storage } = f;
  const err = failure ? describe(failure) : null;
  const { status, exitCode } = settle(failure, outcome);
  const tail = failure ? stderrTail(failure) : [];
  const stale = outcome?.stale ?? [];
  return runResultSchema.parse({
    tool: { name: TOOL_NAME, version: TOOL_VERSION },
    command: f.command,
    status,
    exit_code: exitCode,
    started_at: f.started.toISOString(),
    finished_at: f.finished.toISOString(),
    duration_ms: f.finished.getTime() - f.started.getTime(),
    config_file: f.loaded?.file ?? null,
    root: f.loaded?.config.root ?? null,
    set: outcome?.set ?? null,
    engines: outcome?.engines ?? {},
    ...(outcome?.sets ? { sets: outcome.sets } : {}),
    ...(outcome?.prune ? { prune: outcome.prune } : {}),
    ...(outcome?.show ? { show: outcome.show } : {}),
    ...(outcome?.pitr ? { pitr: outcome.pitr } : {}),
    ...(outcome?.pitr_backup ? { pitr_backup: outcome.pitr_backup } : {}),
    checks: outcome?.checks ?? [],
    free_bytes: outcome?.free_bytes ?? storage?.free_bytes ?? null,
    storage,
    message: err ? err.message : (outcome?.message ?? ''),
    warnings: f.warnings,
    error: err ? { code: err.code, message: err.message, hint: err.hint ?? null, ...(tail.length ? { stderr_tail: tail } : {}) } : null,
    events: eventsOf({ status, stale }),
    stale,
    hostname: os.hostname(),
    run_url: runUrl(f.env),
    notifications: [],
    log_path: f.logPath,
    report_path: f.reportPath,
  });
}
