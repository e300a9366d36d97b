import { describe, expect, it } from 'vitest';
import { MILESTONE_RE, isSetId, milestoneName, setIdFor, uniqueId } from '../../src/catalog/labels.js';
import { localTime } from '../../src/catalog/time.js';
import { UsageError } from '../../src/errors.js';

const at = localTime(new Date('2026-11-24T16:00:03.120Z'), 'Asia/Shanghai');

describe('set names', () => {
  it('daily sets are <database>_<local date>_<local time>', () => {
    expect(setIdFor('daily', at, 'mystocks')).toBe('mystocks_20261125_000003');
  });
  it('milestones are <name>_<local date>', () => {
    expect(setIdFor('milestone', at, 'post_phase2')).toBe('post_phase2_20261125');
  });
  it('config and safety sets', () => {
    expect(setIdFor('config', at, 'x')).toBe('config_20261125_000003');
    expect(setIdFor('safety', at, 'mystocks')).toBe('safety_mystocks_20261125_000003');
  });
  it('every generated id matches the one id regex', () => {
    for (const kind of ['daily', 'milestone', 'config', 'safety'] as const) expect(isSetId(setIdFor(kind, at, 'mystocks'))).toBe(true);
    expect(isSetId('pre_arch_optimization_20251025-2')).toBe(true);
  });
  it('rejects ids that are not set ids (paths, traversal, upper case)', () => {
    for (const bad of ['', '../etc_20261125', 'a/b_20261125', 'Mystocks_20261125', 'mystocks', 'mystocks_2026112', 'x_20261125; rm -rf /']) expect(isSetId(bad)).toBe(false);
  });
  it('uniqueId appends -2, -3 so nothing is overwritten', () => {
    const taken = new Set(['a_20260101', 'a_20260101-2']);
    expect(uniqueId('a_20260101', (c) => taken.has(c))).toBe('a_20260101-3');
    expect(uniqueId('b_20260101', (c) => taken.has(c))).toBe('b_20260101');
  });
});

describe('milestone names', () => {
  it.each(['post_phase2', 'pre_us2_migration', 'mvp_complete', '0day', 'a'])('accepts %s', (n) => {
    expect(milestoneName(n)).toBe(n);
  });
  it('a tag milestone/<name> or its ref gives <name>', () => {
    expect(milestoneName('milestone/post_phase2')).toBe('post_phase2');
    expect(milestoneName('refs/tags/milestone/mvp_complete')).toBe('mvp_complete');
  });
  it.each(['', '../x', 'has space', 'Upper', '_lead', 'a-b', 'x'.repeat(65), 'milestone/', 'a/b'])('refuses %j with a usage error', (n) => {
    expect(() => milestoneName(n)).toThrow(UsageError);
  });
  it('the regex is the documented one (README, Milestones)', () => {
    expect(MILESTONE_RE.source).toBe('^[a-z0-9][a-z0-9_]{0,63}$');
  });
});

describe('local time', () => {
  it('formats in the configured zone with its offset', () => {
    expect(at).toEqual({ date: '20261125', time: '000003', iso: '2026-11-25T00:00:03.120+08:00' });
  });
  it('UTC gets +00:00', () => {
    expect(localTime(new Date('2026-03-01T12:00:00Z'), 'UTC').iso).toBe('2026-03-01T12:00:00.000+00:00');
  });
  it('follows daylight saving time', () => {
    expect(localTime(new Date('2026-07-01T12:00:00Z'), 'Europe/Berlin').iso).toBe('2026-07-01T14:00:00.000+02:00');
    expect(localTime(new Date('2026-01-01T12:00:00Z'), 'Europe/Berlin').iso).toBe('2026-01-01T13:00:00.000+01:00');
  });
});
