import { describe, expect, it } from 'vitest';
import { CancelledError, JobError, UsageError } from '../../src/errors.js';
import { buildResult, settle, type RunFacts } from '../../src/run-result.js';

const T0 = new Date('2026-11-25T04:00:00.000Z');
const T1 = new Date('2026-11-25T04:00:02.500Z');

function facts(over: Partial<RunFacts> = {}): RunFacts {
  return { command: 'status', started: T0, finished: T1, loaded: null, outcome: null, failure: null, storage: null, warnings: [], env: {}, logPath: null, reportPath: null, ...over };
}

describe('buildResult: the one assembly of a run result', () => {
  it('status and exit code: a thrown failure decides, else the outcome', () => {
    expect(settle(new UsageError('usage.invalid', 'x'), null)).toEqual({ status: 'failure', exitCode: 2 });
    expect(settle(new JobError('internal', 'x'), { message: 'm' })).toEqual({ status: 'failure', exitCode: 1 });
    expect(settle(new CancelledError('SIGTERM'), null).status).toBe('cancelled');
    expect(settle(null, { message: 'm', failed: true })).toEqual({ status: 'failure', exitCode: 1 });
    expect(settle(null, { message: 'm' })).toEqual({ status: 'success', exitCode: 0 });
  });

  it('an input failure (no config, no outcome): the error, events [failure], nothing else invented', () => {
    const r = buildResult(facts({ command: 'backupp', failure: new UsageError('input.invalid', 'bad command', { hint: 'fix it' }), started: T0, finished: T0 }));
    expect(r).toMatchObject({
      command: 'backupp',
      status: 'failure',
      exit_code: 2,
      duration_ms: 0,
      config_file: null,
      root: null,
      set: null,
      engines: {},
      checks: [],
      free_bytes: null,
      storage: null,
      message: 'bad command',
      warnings: [],
      error: { code: 'input.invalid', message: 'bad command', hint: 'fix it' },
      events: ['failure'],
      stale: [],
      notifications: [],
      log_path: null,
      report_path: null,
    });
    expect(r.error).not.toHaveProperty('stderr_tail');
    expect(r).not.toHaveProperty('prune');
  });

  it('a status outcome with stale rows raises the stale event beside the failure', () => {
    const r = buildResult(facts({ outcome: { message: 'status: 0 passed, 1 failed', failed: true, stale: ['postgres backup'], checks: [{ name: 'postgres backup', result: 'failed', detail: 'old' }] } }));
    expect(r.events).toEqual(['failure', 'stale']);
    expect(r.stale).toEqual(['postgres backup']);
    expect(r.duration_ms).toBe(2500);
  });
});
