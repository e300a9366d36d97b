/**
 * "last run log": the newest run log under <root>/logs/, and the newest log of every other writing
 * command that ran within max_age_hours (so a failed backup followed by a clean prune is still
 * caught), have no ERROR lines. Skipped when there is no log yet. Ordered by file time: the log
 * written last is the last run's.
 */
import path from 'node:path';
import { LOGS_DIR } from '../../catalog/sets.js';
import { HOUR_MS, type RunLogInfo, type StatusCheck } from './types.js';

/** Commands that write no log (and must not be taken for "the last run"). */
export const QUIET_COMMANDS: ReadonlySet<string> = new Set(['list', 'status', 'check']);

/** The newest log overall, and the newest of each other command written within the last `windowHours`. */
export function selectRunLogs(logs: RunLogInfo[], now: Date, windowHours: number): RunLogInfo[] {
  const sorted = logs.filter((l) => !QUIET_COMMANDS.has(l.command)).sort((a, b) => b.mtimeMs - a.mtimeMs || (a.file < b.file ? 1 : -1));
  const newest = sorted[0];
  if (!newest) return [];
  const out = [newest];
  const seen = new Set([newest.command]);
  for (const l of sorted) {
    if (seen.has(l.command) || now.getTime() - l.mtimeMs > windowHours * HOUR_MS) continue;
    seen.add(l.command);
    out.push(l);
  }
  return out;
}

/** ERROR lines of a log written by RunLog (`<iso> ERROR <text>`). */
export function errorLines(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^\S+ ERROR (.*)$/.exec(line);
    if (m) out.push(m[1]!);
  }
  return out;
}

export const runLogCheck: StatusCheck = {
  id: 'run_log',
  label: 'last run log',
  stale: false,
  evaluate(input) {
    const dir = path.join(input.config.root, LOGS_DIR);
    if (input.logs.length === 0) return { result: 'skipped', detail: `no run log under ${dir} yet` };
    const bad = input.logs.filter((l) => l.errors.length > 0);
    if (bad.length === 0) {
      return { result: 'passed', detail: `no ERROR lines in ${input.logs.map((l) => `${path.basename(l.file)} (${l.command})`).join(', ')}` };
    }
    return {
      result: 'failed',
      detail: bad.map((l) => `${path.basename(l.file)} (${l.command}) has ${l.errors.length} ERROR line(s), first: ${l.errors[0]}`).join('; '),
    };
  },
};
