/** The report's parts that are pure: the storage estimate, the stderr tail, the Markdown summary's size. */
import { describe, expect, it } from 'vitest';
import { daysLeftText, storageEstimate, tooFewSamples, type StorageSet } from '../../src/report/storage.js';
import { stderrTail } from '../../src/report/failure.js';
import { chatMessage } from '../../src/report/notify/message.js';
import { MAX_SUMMARY_BYTES, fitSummary, renderSummary } from '../../src/report/summary.js';
import type { RunResult } from '../../src/report/result.js';
import { JobError } from '../../src/errors.js';
import { DUMP_FAILED, baseResult } from '../helpers/run-result.js';

const GIB = 1024 ** 3;
const MIB = 1024 ** 2;
const now = new Date('2026-11-25T08:00:00.000Z'); // 16:00 in Shanghai

function daily(day: string, time: string, bytes: number): StorageSet {
  return { kind: 'daily', status: 'complete', bytes, started_at: `${day}T${time}.000+08:00` };
}

describe('storage estimate', () => {
  it('PostgreSQL at 00:00 and TDengine at 01:00 are one day; days that fit above the floor', () => {
    const sets: StorageSet[] = [];
    for (const d of ['2026-11-25', '2026-11-24', '2026-11-23']) sets.push(daily(d, '00:00:03', 100 * MIB), daily(d, '01:00:03', 500 * MIB));
    sets.push({ kind: 'milestone', status: 'complete', bytes: 600 * MIB, started_at: '2026-10-01T00:00:00.000+08:00' });
    sets.push({ kind: 'daily', status: 'incomplete', bytes: 0, started_at: null });
    const st = storageEstimate({ sets, freeBytes: 20 * GIB, minFreeGb: 5, now });
    expect(st).toEqual({
      free_bytes: 20 * GIB,
      min_free_bytes: 5 * GIB,
      used_bytes: 3 * 600 * MIB + 600 * MIB, // 3 days of 100 + 500 MiB, one milestone
      sets: { daily: 6, milestone: 1, config: 0, safety: 0 },
      incomplete_sets: 1,
      daily_bytes_per_day: 600 * MIB,
      sample_days: 3,
      sample_sets: 6,
      days_of_dailies: Math.floor((15 * GIB) / (600 * MIB)), // 25
    });
    expect(st.days_of_dailies).toBe(25);
  });

  it('only the last 7 days make the average (older, smaller dailies do not)', () => {
    const sets = [daily('2026-11-25', '00:00:00', 1000), daily('2026-11-24', '00:00:00', 3000), daily('2026-11-24', '01:00:00', 2000), daily('2026-11-01', '00:00:00', 10)];
    expect(storageEstimate({ sets, freeBytes: 100_000, minFreeGb: 0, now })).toMatchObject({ daily_bytes_per_day: 3000, sample_days: 2, sample_sets: 3, days_of_dailies: 33 });
  });

  it('backups stopped weeks ago: the newest days there are still give an estimate', () => {
    const sets = [daily('2026-10-03', '00:00:00', 3000), daily('2026-10-02', '00:00:00', 4000), daily('2026-10-01', '00:00:00', 2000)];
    expect(storageEstimate({ sets, freeBytes: 30_000, minFreeGb: 0, now })).toMatchObject({ daily_bytes_per_day: 3000, sample_days: 3, days_of_dailies: 10 });
  });

  it('less free than the floor: 0 days; no dailies or no free space: null', () => {
    const three = [daily('2026-11-25', '00:00:00', 1000), daily('2026-11-24', '00:00:00', 1000), daily('2026-11-23', '00:00:00', 1000)];
    expect(storageEstimate({ sets: three, freeBytes: 4 * GIB, minFreeGb: 5, now }).days_of_dailies).toBe(0);
    expect(storageEstimate({ sets: [], freeBytes: 4 * GIB, minFreeGb: 5, now })).toMatchObject({ daily_bytes_per_day: null, days_of_dailies: null, sample_days: 0, sample_sets: 0 });
    expect(storageEstimate({ sets: three, freeBytes: null, minFreeGb: 5, now }).days_of_dailies).toBeNull();
  });

  it('a set dated days in the future (bad clock) is not part of the average', () => {
    const sets = [daily('2026-11-25', '00:00:00', 1000), daily('2026-11-24', '00:00:00', 1000), daily('2026-11-23', '00:00:00', 1000), daily('2026-12-30', '00:00:00', 1_000_000)];
    expect(storageEstimate({ sets, freeBytes: 10_000, minFreeGb: 0, now })).toMatchObject({ daily_bytes_per_day: 1000, sample_sets: 3, days_of_dailies: 10 });
  });

  // The reported case: the first nightly of a new catalog, a few KiB of test data, 45 GiB free.
  it('one small first daily: no "1140823 more days", the summary says it cannot estimate yet', () => {
    const st = storageEstimate({ sets: [daily('2026-11-25', '00:00:03', 40_000)], freeBytes: 47_500_000_000, minFreeGb: 5, now });
    expect(st).toMatchObject({ daily_bytes_per_day: 40_000, sample_days: 1, sample_sets: 1, days_of_dailies: null });
    const md = renderSummary(baseResult({ storage: st }));
    expect(md).toContain('| storage estimate | dailies ≈ 39.1 KiB/day (last 1 day); cannot estimate yet: 1 daily set over 1 day (needs at least 3 over 2 days) |');
    expect(md).not.toMatch(/more days/);
  });

  it('enough sets but all on one day, or two days with only two sets: still no figure', () => {
    const oneDay = [daily('2026-11-25', '00:00:00', 1000), daily('2026-11-25', '01:00:00', 1000), daily('2026-11-25', '02:00:00', 1000)];
    expect(storageEstimate({ sets: oneDay, freeBytes: 1e9, minFreeGb: 0, now })).toMatchObject({ sample_sets: 3, sample_days: 1, days_of_dailies: null });
    const twoSets = [daily('2026-11-25', '00:00:00', 1000), daily('2026-11-24', '00:00:00', 1000)];
    expect(storageEstimate({ sets: twoSets, freeBytes: 1e9, minFreeGb: 0, now })).toMatchObject({ sample_sets: 2, sample_days: 2, days_of_dailies: null });
    expect(tooFewSamples({ sample_sets: 2, sample_days: 2 })).toBe('cannot estimate yet: 2 daily sets over 2 days (needs at least 3 over 2 days)');
    expect(tooFewSamples({ sample_sets: 3, sample_days: 2 })).toBeNull();
  });

  it('enough samples of tiny dailies: the figure is told as "more than 10 years", not millions of days', () => {
    const tiny = [daily('2026-11-25', '00:00:00', 40_000), daily('2026-11-24', '00:00:00', 40_000), daily('2026-11-23', '00:00:00', 40_000)];
    const st = storageEstimate({ sets: tiny, freeBytes: 47_500_000_000, minFreeGb: 5, now });
    expect(st.days_of_dailies).toBeGreaterThan(1_000_000);
    expect(renderSummary(baseResult({ storage: st }))).toContain('about **more than 10 years** of dailies fit above the 5.0 GiB floor');
    expect(chatMessage(baseResult({ storage: st })).fields).toContainEqual({ label: 'free space', value: '44.2 GiB, about more than 10 years of dailies fit' });
    expect(daysLeftText(3650)).toBe('3650 more days');
    expect(daysLeftText(1)).toBe('1 more day');
  });
});

describe('stderr tail', () => {
  it('from a stderrTail the error (or its cause) carries', () => {
    const inner = Object.assign(new Error('taosdump failed'), { stderrTail: ['line 1', '', 'ERROR: WAL size exceeds limit'] });
    expect(stderrTail(new JobError('tdengine.dump_failed', 'dump failed', { cause: inner }))).toEqual(['line 1', 'ERROR: WAL size exceeds limit']);
  });

  it('from the indented tool lines the engines put after the first line of the message', () => {
    const err = new JobError('postgres.dump_failed', 'pg_dump failed (exit 1):\n  pg_dump: error: connection to server lost\n  pg_dump: error: could not write');
    expect(stderrTail(err)).toEqual(['pg_dump: error: connection to server lost', 'pg_dump: error: could not write']);
  });

  it('none for errors without tool output', () => {
    expect(stderrTail(new JobError('space.low', 'only 1 GiB free'))).toEqual([]);
    expect(stderrTail(new Error('invalid configuration in x:\nroot: required'))).toEqual([]);
    expect(stderrTail('a string')).toEqual([]);
  });

  it('at most 20 lines of at most 500 characters', () => {
    const t = stderrTail(Object.assign(new Error('x'), { stderrTail: Array.from({ length: 50 }, (_, i) => `${i} ${'y'.repeat(800)}`) }));
    expect(t).toHaveLength(20);
    expect(t[0]!.startsWith('30 ')).toBe(true);
    expect(t[0]!.length).toBe(501);
  });
});

/** A failed prune with thousands of tables, sets, checks and warnings. */
function bigResult(detail: number): RunResult {
  return baseResult({
    command: 'prune',
    status: 'failure',
    exit_code: 1,
    config_file: null,
    engines: { postgres: { database: 'mystocks', server_version: '17.6', client_version: '17.6', bytes: 1, duration_ms: 1, tables: Array.from({ length: 5000 }, (_, i) => ({ name: `public.table_${i}_${'x'.repeat(100)}`, rows: i })) } },
    sets: Array.from({ length: 3000 }, (_, i) => ({ id: `mystocks_2026${String(i).padStart(4, '0')}_000003`, kind: 'daily', milestone: null, status: 'complete', created_at: '2026-11-25T00:00:03.000+08:00', path: `/opt/claude/mystocks_backup/daily/x${i}`, bytes: 1, verified_at: null, verification: null, engines: ['postgres'], reason: null, suspicious: null, remotes: [] })),
    checks: [
      ...Array.from({ length: 2000 }, (_, i) => ({ name: `removed set_${i}`, result: 'passed' as const, detail: 'd'.repeat(detail) })),
      { name: 'removed the_one_that_failed', result: 'failed' as const, detail: 'permission denied' },
    ],
    free_bytes: 1,
    storage: null,
    message: 'm',
    warnings: Array.from({ length: 500 }, (_, i) => `warning ${i}`),
    events: ['failure'],
    run_url: null,
    log_path: null,
    report_path: null,
  });
}

describe('job summary size', () => {
  it('long tables are collapsed and cut; failed checks come first; under 1 MiB', () => {
    const md = renderSummary(bigResult(200));
    expect(Buffer.byteLength(md)).toBeLessThan(MAX_SUMMARY_BYTES);
    expect(md).toContain('<details><summary>2001 checks, 1 failed</summary>');
    expect(md).toContain('<details><summary>5000 tables');
    expect(md).toContain('<details><summary>3000 sets</summary>');
    expect(md).toContain('…and 1601 more rows (see the JSON report).');
    expect(md.indexOf('the_one_that_failed')).toBeLessThan(md.indexOf('removed set_0 '));
    expect(md.split('\n').filter((l) => l.startsWith('- warning')).length).toBe(50);
  });

  it('details long enough to pass 1 MiB anyway: cut at a line, with a note', () => {
    const md = renderSummary(bigResult(3000));
    expect(Buffer.byteLength(md)).toBeLessThanOrEqual(MAX_SUMMARY_BYTES);
    expect(md.endsWith('…the summary was cut to stay under the 1 MiB limit; the JSON report has everything.\n')).toBe(true);
    expect(fitSummary('short')).toBe('short');
  });
});

const tables = (n: number) => Array.from({ length: n }, (_, i) => ({ name: `public.t${String(i).padStart(2, '0')}`, rows: 1000 + i }));

describe('job summary content', () => {
  it('a backup: the set, size, duration, free space, the storage estimate, and per engine what was dumped with its size, time and row counts', () => {
    const md = renderSummary(
      baseResult({
        set: { id: 'mystocks_20261126_000003', kind: 'daily', path: '/opt/claude/mystocks_backup/daily/mystocks_20261126_000003', bytes: 612 * MIB },
        engines: {
          postgres: { database: 'mystocks', server_version: '17.6', client_version: '17.6', bytes: 612 * MIB, duration_ms: 8300, tables: tables(3) },
          tdengine: { database: 'market_data', server_version: '3.3.6.13', client_version: '3.3.6.13', bytes: 90 * MIB, duration_ms: 2100, tables: tables(20) },
        },
      }),
    );
    expect(md).toMatch(/^## ✅ pgtaos-backup backup: success$/m);
    expect(md).toContain('| set | `mystocks_20261126_000003` (daily) |');
    expect(md).toContain('| size | 612.0 MiB |');
    expect(md).toContain('| duration | 10.3 s |');
    expect(md).toContain('| free space | 45.0 GiB |');
    expect(md).toContain('| storage estimate | dailies ≈ 600.0 MiB/day (last 7 days); about **68 more days** of dailies fit above the 5.0 GiB floor |');
    expect(md).toContain('| catalog | 7 daily, 2 milestone, 1 config, 0 safety: 4.1 GiB |');
    expect(md).toContain('| run | https://github.com/mystocks/ops/actions/runs/42 |');
    expect(md).toContain('### PostgreSQL: mystocks\n\ndumped, every table counted: server 17.6, client 17.6; 612.0 MiB in 8.3 s; 3 tables, 3,003 rows');
    expect(md).toContain('### TDengine: market_data\n\ndumped, every table counted: server 3.3.6.13, client 3.3.6.13; 90.0 MiB in 2.1 s; 20 tables, 20,190 rows');
    // 3 tables: shown as they are; 20: collapsed under a line that says how many.
    const pg = md.slice(md.indexOf('### PostgreSQL'), md.indexOf('### TDengine'));
    expect(pg).not.toContain('<details>');
    expect(pg).toContain('| public.t02 | 1,002 |');
    const td = md.slice(md.indexOf('### TDengine'));
    expect(td).toContain('<details><summary>20 tables, 20,190 rows</summary>');
    expect(td).toContain('| public.t19 | 1,019 |');
    expect(md).not.toContain('**Error:**');
  });

  it('a verify: the engine block says the set was restored into the scratch database and counted; the checks come first when failed', () => {
    const md = renderSummary(
      baseResult({
        command: 'verify',
        status: 'failure',
        exit_code: 1,
        engines: { postgres: { database: 'mystocks_verify', server_version: '17.6', client_version: '17.6', bytes: 612 * MIB, duration_ms: 9100, tables: tables(2) } },
        checks: [
          { name: 'checksums', result: 'passed', detail: '1 file(s) match the manifest' },
          { name: 'postgres row counts', result: 'failed', detail: '1 tables differ: public.t01' },
        ],
        events: ['failure'],
      }),
    );
    expect(md).toContain('### PostgreSQL: mystocks_verify\n\nrestored into this scratch database, every table counted: server 17.6');
    expect(md).toContain('| postgres row counts | ❌ failed | 1 tables differ: public.t01 |');
    expect(md.indexOf('| postgres row counts |')).toBeLessThan(md.indexOf('| checksums |'));
  });

  it('a failed run: the error, the last stderr lines of the tool, and what to do', () => {
    const md = renderSummary(baseResult(DUMP_FAILED));
    expect(md).toMatch(/^## ❌ pgtaos-backup backup: failure$/m);
    expect(md).toContain('**Error:** pg_dump failed (exit 1):');
    expect(md).toContain('<details open><summary>Last lines the tool printed on stderr</summary>\n\n```\npg_dump: dumping contents of table "public.daily_bars"\npg_dump: error: connection to server lost\n```');
    expect(md).toContain('**What to do:** A lost connection means the server stopped or restarted during the dump; run the backup again once it is up.');
  });

  it('a stale status: the stale rows named, every checklist row with its figures', () => {
    const md = renderSummary(
      baseResult({
        command: 'status',
        status: 'failure',
        exit_code: 1,
        checks: [
          { name: 'postgres backup', result: 'failed', detail: 'newest: mystocks_20261122_000003 (daily), started 2026-11-22T00:00:03.120+08:00, 78.0 h old > 26 h' },
          { name: 'free space', result: 'passed', detail: '45.0 GiB free on /opt/claude/mystocks_backup >= min_free_gb 5 (5.0 GiB)' },
          { name: 'tdengine backup', result: 'skipped', detail: 'no tdengine: section in the config' },
        ],
        stale: ['postgres backup'],
        events: ['failure', 'stale'],
      }),
    );
    expect(md).toMatch(/^## ⚠️ pgtaos-backup status: failure \(backups are stale\)$/m);
    expect(md).toContain('**Stale:** `postgres backup`: the nightly backups or the weekly verification stopped or failed.');
    expect(md).toContain('| postgres backup | ❌ failed | newest: mystocks_20261122_000003 (daily), started 2026-11-22T00:00:03.120+08:00, 78.0 h old > 26 h |');
    expect(md).toContain('| free space | ✅ passed | 45.0 GiB free on /opt/claude/mystocks_backup >= min_free_gb 5 (5.0 GiB) |');
    expect(md).toContain('| tdengine backup | skipped | no tdengine: section in the config |');
  });

  it('no complete daily yet: the estimate says so instead of vanishing', () => {
    const md = renderSummary(baseResult({ storage: { free_bytes: 45 * GIB, min_free_bytes: 5 * GIB, used_bytes: 0, sets: { daily: 0, milestone: 0, config: 0, safety: 0 }, incomplete_sets: 0, daily_bytes_per_day: null, sample_days: 0, sample_sets: 0, days_of_dailies: null } }));
    expect(md).toContain('| storage estimate | no complete daily set yet to estimate from |');
  });
});
