/**
 * The status checklist: the registered checks, in row order. To add a row, write a module that
 * exports a StatusCheck (types.ts) and add it to STATUS_CHECKS below; mark it `stale: true` when
 * its failure means the backups are stale.
 */
import type { Check } from '../../report/result.js';
import { backupCheck } from './backup.js';
import { freeSpaceCheck } from './free-space.js';
import { incompleteCheck } from './incomplete.js';
import { retentionAppliedCheck } from './retention-applied.js';
import { runLogCheck } from './run-log.js';
import { safetyCheck } from './safety.js';
import type { StatusCheck, StatusEngine, StatusInput } from './types.js';
import { verificationCheck } from './verification.js';

/** The checks after the per-engine backup rows, in row order. */
export const STATUS_CHECKS: readonly StatusCheck[] = [runLogCheck, freeSpaceCheck, verificationCheck, retentionAppliedCheck, incompleteCheck, safetyCheck];

/** Every row for these engines: one backup row per engine first, then STATUS_CHECKS. */
export function statusChecks(engines: readonly StatusEngine[]): StatusCheck[] {
  return [...engines.map(backupCheck), ...STATUS_CHECKS];
}

export interface EvaluatedCheck {
  check: Check;
  stale: boolean;
}

/** Each row's verdict, with its staleness flag beside it. Pure. */
export function evaluateChecks(input: StatusInput, now: Date): EvaluatedCheck[] {
  return statusChecks(input.engines).map((c) => ({ check: { name: c.label, ...c.evaluate(input, now) }, stale: c.stale }));
}
