/**
 * show's text form (renderShow) for a set holding both engines: TDengine super tables with their
 * child-table counts, fields show has no special form for (a `globals` entry a later manifest adds)
 * printed as they are, an incomplete set; list's filters and totals line (filterSets, totalsLine).
 */
import { describe, expect, it } from 'vitest';
import { fakeManifest } from '../helpers/fake-catalog.js';
import { renderShow } from '../../src/commands/show.js';
import { HISTORY_MAX, verificationSchema, withHistory } from '../../src/catalog/verification.js';
import { filterSets, renderTable, totalsLine } from '../../src/commands/list.js';
import type { Manifest } from '../../src/catalog/manifest.js';
import type { ListEntry, ShowReport } from '../../src/report/result.js';

const FILE = { bytes: 2048, sha256: 'a'.repeat(64) };
const manifest: Manifest = fakeManifest(
  { kind: 'daily', id: 'mystocks_20261125_000003', startedAt: new Date('2026-11-24T16:00:03Z') },
  { postgres: [{ path: 'mystocks.dump', ...FILE }], tdengine: [{ path: 'tdengine/dbs.sql', ...FILE }] },
  'Asia/Shanghai',
);

function report(m: Manifest | null, over: Partial<ShowReport['state']> = {}): ShowReport {
  return {
    manifest: m,
    state: { id: 'mystocks_20261125_000003', kind: 'daily', status: 'complete', path: '/b/daily/mystocks_20261125_000003', reason: null, suspicious: null, verification: null, remotes: [], ...over },
  };
}

describe('renderShow', () => {
  it('names both engines, their files with sizes, tables with counts and TDengine super tables with child tables', () => {
    const text = renderShow(report({ ...manifest, git: { sha: 'abc1234', ref: 'refs/tags/milestone/x', tag: 'milestone/x', actor: 'ops', run_id: '7', run_url: 'https://github.com/o/r/actions/runs/7' } })).join('\n');
    expect(text).toContain('set       mystocks_20261125_000003 (daily, complete)');
    expect(text).toContain('started   2026-11-25T00:00:03.000+08:00 (Asia/Shanghai), took 1 min 0 s');
    expect(text).toContain('postgres: database mystocks on 127.0.0.1:5432, server 17.6, client 17.6');
    expect(text).toMatch(/^ {4}mystocks\.dump +2\.0 KiB +sha256 a{16}…$/m);
    expect(text).toMatch(/^ {4}public\.daily_kline +42 rows$/m);
    expect(text).toContain('  extensions: none');
    expect(text).toContain('tdengine: database market_data on 127.0.0.1:6030, server 3.3.6.13, client 3.3.6.13');
    expect(text).toMatch(/^ {2}super tables \(1\)\n {4}tick_data +2 child tables +10 rows$/m);
    expect(text).toContain('git       abc1234 (refs/tags/milestone/x, tag milestone/x, by ops), run https://github.com/o/r/actions/runs/7');
    expect(text).toContain('verified  never');
    expect(text).toContain('remotes   none: this set lives only here');
  });

  it('prints a field it has no special form for (globals, in a section or beside them) instead of dropping it', () => {
    const withGlobals = {
      ...manifest,
      postgres: { ...manifest.postgres!, globals: { roles: 3, tablespaces: 0, files: [{ path: 'globals.sql', ...FILE }] } },
      globals: { passwords: false },
    } as unknown as Manifest;
    const text = renderShow(report(withGlobals)).join('\n');
    expect(text).toMatch(/^ {2}globals: roles 3, tablespaces 0\n {4}files \(1, 2\.0 KiB\)\n {6}globals\.sql/m);
    expect(text).toMatch(/^globals:\n {2}passwords: false$/m);
  });

  it('shows the last verification with its checks and every remote copy', () => {
    const text = renderShow(
      report(manifest, {
        verification: { verified_at: '2026-11-25T01:00:00.000+08:00', result: 'failed', tool_version: '0.1.0', checks: [{ name: 'postgres row counts', result: 'failed', detail: 'public.daily_kline: 41 != 42' }], history: [{ verified_at: '2026-11-18T01:00:00.000+08:00', result: 'passed', tool_version: '0.1.0' }] },
        remotes: [
          { remote: 'nas', type: 'path', location: '/mnt/nas', result: 'verified', copied_at: '2026-11-25T00:10:00.000+08:00', encrypted: true, check: 'read-back', files: [{ path: 'mystocks.dump', bytes: 1, sha256: 'x', key: 'k', stored_bytes: 300, stored_sha256: 'y' }], error: null },
          { remote: 'oss', type: 's3', location: 's3://b/p', result: 'failed', copied_at: '2026-11-25T00:11:00.000+08:00', encrypted: true, check: 'read-back', files: [], error: 'keys refused' },
        ],
      }),
    ).join('\n');
    expect(text).toContain('verified  FAILED at 2026-11-25T01:00:00.000+08:00');
    expect(text).toContain('  failed  postgres row counts: public.daily_kline: 41 != 42');
    expect(text).toContain('earlier   1 verification(s), newest first\n  passed  2026-11-18T01:00:00.000+08:00 (pgtaos-backup 0.1.0)');
    expect(text).toContain('  nas (path /mnt/nas): verified 2026-11-25T00:10:00.000+08:00, 1 files, 300 B, age-encrypted');
    expect(text).toContain('  oss (s3 s3://b/p): FAILED 2026-11-25T00:11:00.000+08:00: keys refused');
  });

  it('an incomplete set says why, without a manifest', () => {
    const text = renderShow(report(null, { status: 'incomplete', reason: 'no manifest.json' }));
    expect(text[0]).toBe('set       mystocks_20261125_000003 (daily, INCOMPLETE: no manifest.json)');
    expect(text.join('\n')).not.toContain('postgres:');
  });
});

const entry = (id: string, kind: ListEntry['kind'], engines: string[], bytes: number, status: ListEntry['status'] = 'complete'): ListEntry => ({
  id, kind, milestone: null, status, created_at: null, path: `/b/${kind}/${id}`, bytes, verified_at: null, verification: null, engines, reason: null, suspicious: null, remotes: [],
});
const SETS = [
  entry('mystocks_20261125_000003', 'daily', ['postgres'], 1024),
  entry('power_20261125_000003', 'daily', ['tdengine'], 2048),
  entry('post_phase2_20261124', 'milestone', ['postgres', 'tdengine'], 4096),
  entry('config_20261124_000000', 'config', ['config'], 10),
  entry('mystocks_20261123_000003', 'daily', [], 5, 'incomplete'),
];

describe('list filters and totals', () => {
  it('filters by kind and engine, then keeps the newest n', () => {
    expect(filterSets(SETS, { kind: 'daily' }).map((s) => s.id)).toEqual(['mystocks_20261125_000003', 'power_20261125_000003', 'mystocks_20261123_000003']);
    expect(filterSets(SETS, { engine: 'tdengine' }).map((s) => s.id)).toEqual(['power_20261125_000003', 'post_phase2_20261124']);
    expect(filterSets(SETS, { kind: 'daily', engine: 'postgres', last: 1 }).map((s) => s.id)).toEqual(['mystocks_20261125_000003']);
    expect(filterSets(SETS, { last: 2 })).toEqual(SETS.slice(0, 2));
    expect(filterSets(SETS, {})).toEqual(SETS);
  });

  it('the totals line counts sets by kind, the complete ones, and their bytes; the table ends with it', () => {
    expect(totalsLine(SETS)).toBe('total: 5 sets (3 daily, 1 milestone, 1 config), 4 complete, 7.0 KiB');
    expect(totalsLine([])).toBe('total: 0 sets, 0 complete, 0 B');
    expect(renderTable(SETS).at(-1)).toBe(totalsLine(SETS));
    expect(renderTable([])).toEqual(['(no sets)', 'total: 0 sets, 0 complete, 0 B']);
  });
});

describe('verification history (verification.json)', () => {
  const v = (at: string, result: 'passed' | 'failed') => ({ verified_at: at, result, tool_version: '1.0.0', checks: [{ name: 'x', result, detail: at }] });

  it('folds the record it replaces into the history, newest first, without its checks', () => {
    const first = withHistory(null, v('2026-11-01', 'passed'));
    expect(first.history).toEqual([]);
    const second = withHistory(first, v('2026-11-08', 'failed'));
    const third = withHistory(second, v('2026-11-15', 'passed'));
    expect(third.checks).toEqual([{ name: 'x', result: 'passed', detail: '2026-11-15' }]);
    expect(third.history).toEqual([
      { verified_at: '2026-11-08', result: 'failed', tool_version: '1.0.0' },
      { verified_at: '2026-11-01', result: 'passed', tool_version: '1.0.0' },
    ]);
  });

  it(`keeps at most ${HISTORY_MAX} earlier verifications (a year of weekly proofs)`, () => {
    let rec = withHistory(null, v('w0', 'passed'));
    for (let i = 1; i <= HISTORY_MAX + 5; i++) rec = withHistory(rec, v(`w${i}`, 'passed'));
    expect(rec.history).toHaveLength(HISTORY_MAX);
    expect(rec.history[0]!.verified_at).toBe(`w${HISTORY_MAX + 4}`);
  });

  it('reads a file written before the history was kept', () => {
    const old = { verified_at: '2026-11-01', result: 'passed', tool_version: '1.0.0', checks: [] };
    expect(verificationSchema.parse(old).history).toEqual([]);
  });
});
