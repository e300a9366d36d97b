/**
 * RunResult fixtures for the report and notification tests: a nightly backup's result as run.ts
 * builds it, and the pg_dump failure that several tests report.
 */
import { runResultSchema, type RunResult } from '../../src/report/result.js';

const GIB = 1024 ** 3;
const MIB = 1024 ** 2;

/** A successful nightly backup as run.ts reports it, with the parts a test sets. Validated by the schema. */
export function baseResult(over: Partial<RunResult> = {}): RunResult {
  return runResultSchema.parse({
    tool: { name: 'pgtaos-backup', version: '0.1.0' },
    command: 'backup',
    status: 'success',
    exit_code: 0,
    started_at: '2026-11-25T16:00:03.120Z',
    finished_at: '2026-11-25T16:00:13.420Z',
    duration_ms: 10_300,
    config_file: '/srv/ops/pgtaos-backup.yml',
    root: '/opt/claude/mystocks_backup',
    set: null,
    engines: {},
    checks: [],
    free_bytes: 45 * GIB,
    storage: { free_bytes: 45 * GIB, min_free_bytes: 5 * GIB, used_bytes: 4200 * MIB, sets: { daily: 7, milestone: 2, config: 1, safety: 0 }, incomplete_sets: 0, daily_bytes_per_day: 600 * MIB, sample_days: 7, sample_sets: 14, days_of_dailies: 68 },
    message: 'ok',
    warnings: [],
    error: null,
    events: ['success'],
    stale: [],
    hostname: 'runner-1',
    run_url: 'https://github.com/mystocks/ops/actions/runs/42',
    notifications: [],
    log_path: '/opt/claude/mystocks_backup/logs/20261126_000003-backup-4242.log',
    report_path: '/opt/claude/mystocks_backup/logs/20261126_000003-backup-4242.json',
    ...over,
  });
}

/** What a backup whose pg_dump lost its connection adds to baseResult (baseResult copies it). */
export const DUMP_FAILED: Partial<RunResult> = {
  status: 'failure',
  exit_code: 1,
  message: 'pg_dump failed (exit 1):\n  pg_dump: error: connection to server lost',
  error: {
    code: 'postgres.dump_failed',
    message: 'pg_dump failed (exit 1):\n  pg_dump: error: connection to server lost',
    hint: 'A lost connection means the server stopped or restarted during the dump; run the backup again once it is up.',
    stderr_tail: ['pg_dump: dumping contents of table "public.daily_bars"', 'pg_dump: error: connection to server lost'],
  },
  events: ['failure'],
};
