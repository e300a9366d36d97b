import { describe, expect, it } from 'vitest';
import { formatAge, isStagingPath, parseInstant, planRetention, type Decision, type RetentionInput, type RetentionPolicy } from '../../src/catalog/retention.js';

const DAY = 86_400_000;
const NOW = new Date('2026-11-25T04:00:00.000Z'); // 12:00 in Asia/Shanghai
const POLICY: RetentionPolicy = { daily_days: 7, keep_last: 3, config_days: 30 };

/** started_at `days` before NOW, written with +08:00 like a manifest made in Asia/Shanghai. */
function ago(days: number, from: Date = NOW): string {
  const d = new Date(from.getTime() - days * DAY + 8 * 3_600_000);
  return `${d.toISOString().slice(0, 23)}+08:00`;
}

type Engine = RetentionInput['engines'][number];
interface SetOpts {
  kind?: RetentionInput['kind'];
  engines?: Engine[];
  verified?: 'passed' | 'failed';
  status?: RetentionInput['status'];
  staging?: boolean;
  damage?: string | null;
}

/** A complete set; `at` is days ago (number) or a started_at string. */
function set(id: string, at: number | string | null, o: SetOpts = {}): RetentionInput {
  const kind = o.kind ?? 'daily';
  const staging = o.staging ?? false;
  const status = o.status ?? (staging ? 'incomplete' : 'complete');
  return {
    id,
    kind,
    status,
    path: staging ? `/b/.incomplete/${id}.4242` : `/b/${kind}/${id}`,
    started_at: status === 'complete' ? (typeof at === 'number' ? ago(at) : at) : null,
    engines: status === 'complete' ? (o.engines ?? (kind === 'config' ? ['config'] : ['postgres'])) : [],
    verification: o.verified ? { result: o.verified, verified_at: ago(1) } : null,
    staging,
    damage: status === 'complete' ? null : (o.damage ?? (staging ? 'left by a run that did not finish' : 'no manifest.json')),
  };
}
const damaged = (id: string, damage = 'manifest.json is not valid JSON (truncated or edited?)') => set(id, null, { status: 'incomplete', damage });
const staging = (id: string, kind: RetentionInput['kind'] = 'daily') => set(id, null, { staging: true, kind });

interface Case {
  name: string;
  sets: RetentionInput[];
  policy?: Partial<RetentionPolicy>;
  now?: Date;
  /** Ids (or paths, for staging folders) removed, exactly. */
  removed: string[];
  /** Reasons that must match, by id. */
  reasons?: Record<string, RegExp>;
}

const cases: Case[] = [
  { name: 'empty catalog: nothing to decide', sets: [], removed: [] },
  {
    name: 'every daily is old and some runs failed: the newest keep_last complete ones stay',
    sets: [
      set('mystocks_20261115_000003', 10),
      set('mystocks_20261114_000003', 11),
      set('mystocks_20261113_000003', 12),
      set('mystocks_20261112_000003', 13),
      set('mystocks_20261111_000003', 14),
      damaged('mystocks_20261116_000003'),
      staging('mystocks_20261117_000003'),
    ],
    removed: ['mystocks_20261112_000003', 'mystocks_20261111_000003', '/b/.incomplete/mystocks_20261117_000003.4242'],
    reasons: {
      mystocks_20261115_000003: /^newest 3 complete postgres dailies \(keep_last\)$/,
      mystocks_20261113_000003: /keep_last/,
      mystocks_20261112_000003: /^daily, 13\.0 days old > 7 days$/,
      mystocks_20261116_000003: /^damaged: manifest\.json is not valid JSON .*kept for a person to inspect$/,
    },
  },
  {
    name: 'every recent backup failed (incomplete): old complete ones stay up to keep_last, the failed ones are not counted',
    sets: [
      damaged('mystocks_20261124_000003'),
      damaged('mystocks_20261123_000003', 'no manifest.json'),
      staging('mystocks_20261122_000003'),
      staging('mystocks_20261121_000003'),
      set('mystocks_20261117_000003', 8),
      set('mystocks_20261116_000003', 9),
      set('mystocks_20261115_000003', 10),
      set('mystocks_20261114_000003', 11),
    ],
    removed: ['/b/.incomplete/mystocks_20261122_000003.4242', '/b/.incomplete/mystocks_20261121_000003.4242', 'mystocks_20261114_000003'],
    reasons: { mystocks_20261123_000003: /^damaged: no manifest\.json; kept/, mystocks_20261115_000003: /keep_last/ },
  },
  {
    name: 'no daily is complete: nothing complete is removed, leftovers go',
    sets: [damaged('mystocks_20261101_000003'), staging('mystocks_20261102_000003'), set('pre_us2_migration_20200101', 2000, { kind: 'milestone' })],
    removed: ['/b/.incomplete/mystocks_20261102_000003.4242'],
  },
  {
    name: 'young dailies stay, old ones beyond keep_last go',
    sets: [1, 2, 3, 4, 5, 6, 6.9, 7.1, 8, 30].map((d) => set(`mystocks_d${String(d).replace('.', '_')}_20260101`, d)),
    removed: ['mystocks_d7_1_20260101', 'mystocks_d8_20260101', 'mystocks_d30_20260101'],
    reasons: { mystocks_d6_9_20260101: /^daily, 6\.9 days old <= 7 days$/, mystocks_d7_1_20260101: /^daily, 7\.1 days old > 7 days$/ },
  },
  {
    name: 'milestones years old and safety copies are never removed',
    sets: [
      set('pre_arch_optimization_20230101', 1200, { kind: 'milestone' }),
      set('post_phase2_20240101', 800, { kind: 'milestone', engines: ['postgres', 'tdengine'] }),
      set('safety_mystocks_20240301_101010', 700, { kind: 'safety' }),
      set('mystocks_20261124_000003', 1),
    ],
    removed: [],
    reasons: { pre_arch_optimization_20230101: /^milestone: kept forever$/, safety_mystocks_20240301_101010: /^safety copy: kept until removed by hand$/ },
  },
  {
    name: 'keep_last counts per engine: PostgreSQL at 00:00 and TDengine at 01:00 in separate runs',
    policy: { keep_last: 2 },
    sets: [
      set('mystocks_20261115_000003', 10, { engines: ['postgres'] }),
      set('market_data_20261115_010003', 9.96, { engines: ['tdengine'] }),
      set('mystocks_20261114_000003', 11, { engines: ['postgres'] }),
      set('market_data_20261114_010003', 10.96, { engines: ['tdengine'] }),
      set('mystocks_20261113_000003', 12, { engines: ['postgres'] }),
      set('market_data_20261113_010003', 11.96, { engines: ['tdengine'] }),
    ],
    removed: ['mystocks_20261113_000003', 'market_data_20261113_010003'],
    reasons: { mystocks_20261114_000003: /^newest 2 complete postgres dailies \(keep_last\)$/, market_data_20261114_010003: /^newest 2 complete tdengine dailies \(keep_last\)$/ },
  },
  {
    name: 'a set with both engines counts for both',
    policy: { keep_last: 2 },
    sets: [
      set('mystocks_20261115_000003', 10, { engines: ['postgres', 'tdengine'] }),
      set('market_data_20261114_010003', 10.5, { engines: ['tdengine'] }),
      set('mystocks_20261114_000003', 11, { engines: ['postgres'] }),
      set('mystocks_20261113_000003', 12, { engines: ['postgres', 'tdengine'] }),
    ],
    removed: ['mystocks_20261113_000003'],
    reasons: { mystocks_20261115_000003: /^newest 2 complete postgres and tdengine dailies \(keep_last\)$/ },
  },
  {
    name: 'the newest set that passed verification stays, even older than policy and beyond keep_last',
    policy: { keep_last: 2 },
    sets: [
      set('mystocks_20261115_000003', 10),
      set('mystocks_20261114_000003', 11),
      set('mystocks_20261113_000003', 12),
      set('mystocks_20261112_000003', 13, { verified: 'passed' }),
      set('mystocks_20261105_000003', 20, { verified: 'passed' }),
    ],
    removed: ['mystocks_20261113_000003', 'mystocks_20261105_000003'],
    reasons: { mystocks_20261112_000003: /^newest postgres daily that passed verification \(verified 2026-11-24T12:00:00\.000\+08:00\)$/ },
  },
  {
    name: 'a set that failed verification does not take the place of a good one in keep_last',
    policy: { keep_last: 2 },
    sets: [
      set('mystocks_20261115_000003', 10, { verified: 'failed' }),
      set('mystocks_20261114_000003', 11),
      set('mystocks_20261113_000003', 12),
      set('mystocks_20261112_000003', 13),
    ],
    removed: ['mystocks_20261112_000003'],
    reasons: {
      mystocks_20261115_000003: /^among the newest complete postgres dailies \(keep_last 2 counts only sets that did not fail verification; this one failed at /,
      mystocks_20261113_000003: /^newest 2 complete postgres dailies that did not fail verification \(keep_last\)$/,
    },
  },
  {
    name: 'clock skew: a set dated in the future is kept and does not take a keep_last slot',
    policy: { keep_last: 2 },
    sets: [
      set('mystocks_20261127_000003', -2),
      set('mystocks_20261115_000003', 10),
      set('mystocks_20261114_000003', 11),
      set('mystocks_20261113_000003', 12),
    ],
    removed: ['mystocks_20261113_000003'],
    reasons: { mystocks_20261127_000003: /^dated in the future \(started_at 2026-11-27T12:00:00\.000\+08:00 is 48\.0 h after now: clock skew\?\); kept$/ },
  },
  {
    name: 'clock skew: a config snapshot from the future does not make the newest real one removable',
    sets: [set('config_20301125_000000', -1500, { kind: 'config' }), set('config_20261001_000000', 55, { kind: 'config' }), set('config_20260901_000000', 85, { kind: 'config' })],
    removed: ['config_20260901_000000'],
    reasons: { config_20301125_000000: /dated in the future/, config_20261001_000000: /^newest config snapshot \(always kept\)$/ },
  },
  {
    name: 'sets from the future only: all kept, nothing counted',
    sets: [set('mystocks_20991231_000003', -20000), set('config_20991231_000003', -20000, { kind: 'config' })],
    removed: [],
  },
  {
    name: 'DST spring forward (Europe/Berlin): 7.02 days by the wall clock is 6.98 days elapsed (167.5 h), and the set stays',
    now: new Date('2026-03-29T08:30:00+02:00'),
    sets: [
      set('mystocks_20260329_080000', '2026-03-29T08:00:00.000+02:00'),
      set('mystocks_20260328_080000', '2026-03-28T08:00:00.000+01:00'),
      set('mystocks_20260327_080000', '2026-03-27T08:00:00.000+01:00'),
      set('mystocks_20260322_080000', '2026-03-22T08:00:00.000+01:00'),
      set('mystocks_20260321_080000', '2026-03-21T08:00:00.000+01:00'),
    ],
    removed: ['mystocks_20260321_080000'],
    reasons: { mystocks_20260322_080000: /^daily, 7\.0 days \(167\.5 h\) old <= 7 days$/ },
  },
  {
    name: 'DST fall back (Europe/Berlin): 6.98 days by the wall clock is 7.02 days elapsed (168.5 h), and the set goes',
    now: new Date('2026-10-25T07:30:00+01:00'),
    sets: [
      set('mystocks_20261025_070000', '2026-10-25T07:00:00.000+01:00'),
      set('mystocks_20261024_080000', '2026-10-24T08:00:00.000+02:00'),
      set('mystocks_20261023_080000', '2026-10-23T08:00:00.000+02:00'),
      set('mystocks_20261018_080000', '2026-10-18T08:00:00.000+02:00'),
      set('mystocks_20261019_080000', '2026-10-19T08:00:00.000+02:00'),
    ],
    removed: ['mystocks_20261018_080000'],
    reasons: { mystocks_20261018_080000: /^daily, 7\.0 days \(168\.5 h\) old > 7 days$/ },
  },
  {
    name: 'DST repeated hour: 02:15+01:00 is newer than 02:30+02:00 though its name sorts first',
    policy: { keep_last: 1 },
    now: new Date('2026-11-20T00:00:00+01:00'),
    sets: [set('mystocks_20261025_023000', '2026-10-25T02:30:00.000+02:00'), set('mystocks_20261025_021500', '2026-10-25T02:15:00.000+01:00')],
    removed: ['mystocks_20261025_023000'],
    reasons: { mystocks_20261025_021500: /keep_last/ },
  },
  {
    name: 'order is by started_at, never by name (wal-g#636): a renamed database and -9/-10 suffixes',
    policy: { keep_last: 2 },
    sets: [
      set('aaa_20261101_000003', 9),
      set('zzz_20261001_000003', 60),
      set('mystocks_20261101_000003-9', 10),
      set('mystocks_20261101_000003-10', 11),
    ],
    removed: ['zzz_20261001_000003', 'mystocks_20261101_000003-10'],
    reasons: { aaa_20261101_000003: /keep_last/, 'mystocks_20261101_000003-9': /keep_last/ },
  },
  {
    name: 'config snapshots: older than config_days go, the newest always stays',
    sets: [
      set('config_20261124_000000', 1, { kind: 'config' }),
      set('config_20261115_000000', 10, { kind: 'config' }),
      set('config_20261015_000000', 40, { kind: 'config' }),
      set('config_20261005_000000', 50, { kind: 'config' }),
    ],
    removed: ['config_20261015_000000', 'config_20261005_000000'],
    reasons: { config_20261115_000000: /^config, 10\.0 days old <= 30 days$/, config_20261015_000000: /^config, 40\.0 days old > 30 days$/ },
  },
  {
    name: 'config snapshots all old: the newest still stays',
    sets: [set('config_20261015_000000', 40, { kind: 'config' }), set('config_20261005_000000', 50, { kind: 'config' }), set('config_20260925_000000', 60, { kind: 'config' })],
    removed: ['config_20261005_000000', 'config_20260925_000000'],
    reasons: { config_20261015_000000: /^newest config snapshot \(always kept\)$/ },
  },
  {
    name: 'config snapshots do not count as dailies, and dailies do not protect config snapshots',
    policy: { keep_last: 1 },
    sets: [set('config_20261124_000000', 1, { kind: 'config' }), set('mystocks_20261101_000003', 24), set('config_20261001_000000', 55, { kind: 'config' })],
    removed: ['config_20261001_000000'],
  },
  {
    name: 'damaged set folders stay for a person, whatever their kind; a started_at without an offset is damage',
    sets: [
      damaged('mystocks_20250101_000003'),
      damaged('config_20250101_000000'),
      set('mystocks_20250102_000003', '2025-01-02 00:00:03'),
      set('mystocks_20250103_000003', 'yesterday'),
      set('mystocks_20261124_000003', 1),
    ],
    removed: [],
    reasons: {
      mystocks_20250102_000003: /^damaged: manifest started_at "2025-01-02 00:00:03" is not an ISO time with a UTC offset; kept for a person to inspect$/,
      config_20250101_000000: /^damaged: /,
    },
  },
  {
    name: 'staging leftovers go whatever kind their marker names (a crashed milestone run is not a milestone)',
    sets: [staging('post_phase2_20261125', 'milestone'), staging('safety_mystocks_20261125_000000', 'safety'), set('post_phase2_20261124', 1, { kind: 'milestone' })],
    removed: ['/b/.incomplete/post_phase2_20261125.4242', '/b/.incomplete/safety_mystocks_20261125_000000.4242'],
  },
];

function removedKeys(decisions: Decision[]): string[] {
  return decisions.filter((d) => d.action === 'remove').map((d) => (d.path.includes('/.incomplete/') ? d.path : d.id));
}

describe('planRetention', () => {
  it.each(cases)('$name', (c) => {
    const policy = { ...POLICY, ...c.policy };
    const decisions = planRetention(c.sets, policy, c.now ?? NOW);
    expect(decisions.map((d) => d.path)).toEqual(c.sets.map((s) => s.path));
    expect(new Set(removedKeys(decisions))).toEqual(new Set(c.removed));
    for (const d of decisions) expect(d.reason.length).toBeGreaterThan(10);
    for (const [id, re] of Object.entries(c.reasons ?? {})) {
      const d = decisions.find((x) => x.id === id);
      expect(d, id).toBeDefined();
      expect(d!.reason).toMatch(re);
    }
  });

  it.each(cases)('gives the same decisions whatever the input order: $name', (c) => {
    const policy = { ...POLICY, ...c.policy };
    const now = c.now ?? NOW;
    const byPath = (ds: Decision[]) => Object.fromEntries(ds.map((d) => [d.path, `${d.action}: ${d.reason}`]));
    const forward = byPath(planRetention(c.sets, policy, now));
    expect(byPath(planRetention([...c.sets].reverse(), policy, now))).toEqual(forward);
    const sortedByName = [...c.sets].sort((a, b) => a.id.localeCompare(b.id));
    expect(byPath(planRetention(sortedByName, policy, now))).toEqual(forward);
  });

  it('never removes below keep_last, nor the newest daily that passed verification, for any keep_last and any age (property over many catalogs)', () => {
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let round = 0; round < 300; round++) {
      const keep_last = 1 + Math.floor(rnd() * 5);
      const n = Math.floor(rnd() * 15);
      const sets: RetentionInput[] = [];
      for (let i = 0; i < n; i++) {
        const r = rnd();
        const engines: Engine[] = r < 0.33 ? ['postgres'] : r < 0.66 ? ['tdengine'] : ['postgres', 'tdengine'];
        const v = rnd();
        sets.push(set(`s${i}_20260101`, rnd() * 60 - 2, { engines, ...(v < 0.2 ? { verified: 'failed' as const } : v < 0.3 ? { verified: 'passed' as const } : {}) }));
        if (rnd() < 0.2) sets.push(damaged(`d${i}_20260101`));
      }
      const ds = planRetention(sets, { ...POLICY, keep_last }, NOW);
      for (const engine of ['postgres', 'tdengine'] as const) {
        const complete = sets.filter((s) => s.status === 'complete' && s.engines.includes(engine));
        const keptComplete = complete.filter((s) => ds.find((d) => d.path === s.path)!.action === 'keep');
        expect(keptComplete.length).toBeGreaterThanOrEqual(Math.min(keep_last, complete.length));
        // Newest by started_at (never by name): the last set known to restore stays, whatever its age.
        const newestPassed = complete.filter((s) => s.verification?.result === 'passed').sort((a, b) => Date.parse(b.started_at!) - Date.parse(a.started_at!))[0];
        if (newestPassed) expect(ds.find((d) => d.path === newestPassed.path)!.action, `round ${round}: ${engine}`).toBe('keep');
      }
      for (const d of ds) if (d.action === 'remove') expect(d.reason).toMatch(/^daily, .* old > 7 days$/);
    }
  });
});

describe('helpers', () => {
  it('parseInstant takes ISO times with an offset only', () => {
    expect(parseInstant('2026-11-25T00:00:03.120+08:00')).toBe(Date.parse('2026-11-24T16:00:03.120Z'));
    expect(parseInstant('2026-11-25T00:00:03Z')).toBe(Date.parse('2026-11-25T00:00:03Z'));
    for (const bad of [null, undefined, '', '2026-11-25', '2026-11-25T00:00:03', '2026-11-25 00:00:03+08:00', 'Wed Nov 25 2026', '2026-13-45T99:00:00Z']) {
      expect(parseInstant(bad)).toBeNull();
    }
  });
  it('formatAge shows hours when the rounded days would equal the limit', () => {
    expect(formatAge(9.24, 7)).toBe('9.2 days');
    expect(formatAge(7.02, 7)).toBe('7.0 days (168.5 h)');
  });
  it('isStagingPath: a folder directly under .incomplete/', () => {
    expect(isStagingPath('/b/.incomplete/mystocks_20261125_000003.123')).toBe(true);
    expect(isStagingPath('/b/daily/mystocks_20261125_000003')).toBe(false);
    expect(isStagingPath('/b/.incomplete/x/daily')).toBe(false);
  });
});
