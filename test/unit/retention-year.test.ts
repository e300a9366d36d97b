/**
 * Weeks and months over a simulated year, with fixed clocks: a daily every day of 2026 at 00:00:03
 * in Asia/Shanghai, verified, with a three-week outage in November and a daily that failed
 * verification. The kept sets and their rules are compared with a golden file
 * (golden/retention/simulated-year.kept.txt; regenerate with UPDATE_GOLDEN=1 and review the diff),
 * and the facts a person can check on a calendar are asserted directly.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { planRetention, type Decision, type RetentionInput, type RetentionPolicy } from '../../src/catalog/retention.js';
import { calendarBuckets } from '../../src/catalog/time.js';

const GOLDEN = path.join(path.dirname(fileURLToPath(import.meta.url)), 'golden', 'retention', 'simulated-year.kept.txt');
const UPDATE = process.env.UPDATE_GOLDEN === '1';
const DAY = 86_400_000;

/** No backups from Monday 2 to Sunday 22 November 2026 (ISO weeks 45, 46 and 47). */
const inOutage = (date: string) => date >= '2026-11-02' && date <= '2026-11-22';
const FAILED = '2026-12-20'; // a Sunday: its week's place goes to the Saturday
const UNVERIFIED = '2026-10-31'; // the last day of October: its month's place goes to 30 October

function dailiesOf2026(): RetentionInput[] {
  const out: RetentionInput[] = [];
  for (let t = Date.UTC(2026, 0, 1); t < Date.UTC(2027, 0, 1); t += DAY) {
    const date = new Date(t).toISOString().slice(0, 10);
    if (inOutage(date)) continue;
    const id = `mystocks_${date.replaceAll('-', '')}_000003`;
    const verification = date === UNVERIFIED ? null : { result: date === FAILED ? ('failed' as const) : ('passed' as const), verified_at: `${date}T01:00:00.000+08:00` };
    out.push({ id, kind: 'daily', status: 'complete', path: `/b/daily/${id}`, started_at: `${date}T00:00:03.000+08:00`, engines: ['postgres'], verification, staging: false, damage: null });
  }
  return out;
}

const NOW = new Date('2026-12-31T04:00:00.000Z'); // noon of New Year's Eve in Asia/Shanghai
const POLICY: RetentionPolicy = { daily_days: 7, keep_last: 3, config_days: 30, keep_weekly: 8, keep_monthly: 12 };
const ZONE = 'Asia/Shanghai';

const kept = (plan: Decision[], rule?: Decision['rule']) => plan.filter((d) => d.action === 'keep' && (!rule || d.rule === rule)).map((d) => d.id.slice(9, 17));

describe('ISO weeks and months in a time zone', () => {
  it('names the ISO week and month of an instant as the zone reads it', () => {
    expect(calendarBuckets(new Date('2027-01-01T12:00:00Z'), 'UTC')).toEqual({ week: '2026-W53', month: '2027-01' });
    expect(calendarBuckets(new Date('2024-12-30T12:00:00Z'), 'UTC')).toEqual({ week: '2025-W01', month: '2024-12' });
    expect(calendarBuckets(new Date('2026-01-01T00:00:00Z'), 'UTC')).toEqual({ week: '2026-W01', month: '2026-01' });
    // Monday 00:00:03 in Shanghai is still Sunday in UTC: another week, and at a month's turn another month.
    expect(calendarBuckets(new Date('2026-12-20T16:00:03Z'), ZONE)).toEqual({ week: '2026-W52', month: '2026-12' });
    expect(calendarBuckets(new Date('2026-12-20T16:00:03Z'), 'UTC')).toEqual({ week: '2026-W51', month: '2026-12' });
    expect(calendarBuckets(new Date('2026-10-31T16:00:03Z'), ZONE).month).toBe('2026-11');
    expect(calendarBuckets(new Date('2026-10-31T16:00:03Z'), 'UTC').month).toBe('2026-10');
  });
});

describe('retention over a simulated year (keep_weekly 8, keep_monthly 12, Asia/Shanghai)', () => {
  const sets = dailiesOf2026();
  const plan = planRetention(sets, POLICY, NOW, ZONE);

  it('keeps the newest verified daily of the last 8 weeks that have one, skipping the outage', () => {
    // Week 53 (28 Dec - 3 Jan): 31 Dec, held first by keep_last. Then the Sundays, except: week 51's
    // Sunday (20 Dec) failed verification, so its Saturday holds the place; weeks 45-47 (the outage)
    // hold none, so the eighth week back is week 43 (Sunday 25 October), not week 46.
    expect(kept(plan, 'keep_weekly')).toEqual(['20261025', '20261101', '20261129', '20261206', '20261213', '20261219', '20261227']);
  });

  it('keeps the newest verified daily of each of the 12 months', () => {
    // October's last day was never verified: 30 October holds October's place. December's is 31
    // December, held first by keep_last.
    expect(kept(plan, 'keep_monthly')).toEqual(['20260131', '20260228', '20260331', '20260430', '20260531', '20260630', '20260731', '20260831', '20260930', '20261030', '20261130']);
    expect(kept(plan, 'keep_last')).toEqual(['20261229', '20261230', '20261231']);
  });

  it('removes everything else older than daily_days, and nothing younger', () => {
    expect(kept(plan, 'daily_days')).toEqual(['20261225', '20261226', '20261228']);
    expect(kept(plan)).toHaveLength(3 + 3 + 7 + 11);
    const removed = plan.filter((d) => d.action === 'remove');
    expect(removed.every((d) => d.rule === 'daily_days')).toBe(true);
    expect(removed).toHaveLength(sets.length - 24);
  });

  it('in UTC the same dailies fall in other weeks: Monday 00:00:03 +08:00 is a Sunday there', () => {
    const utc = planRetention(sets, POLICY, NOW, 'UTC');
    expect(kept(utc, 'keep_weekly')).toEqual(expect.arrayContaining(['20261207', '20261214', '20261221', '20261228']));
    expect(kept(plan, 'keep_weekly')).not.toContain('20261214');
  });

  it('matches the golden list of kept sets', async () => {
    const text = plan.filter((d) => d.action === 'keep').map((d) => `${d.id}  ${d.rule}  ${d.reason}`).join('\n') + '\n';
    if (UPDATE) await fs.writeFile(GOLDEN, text);
    const expected = await fs.readFile(GOLDEN, 'utf8').catch(() => '(missing: run with UPDATE_GOLDEN=1)');
    expect(text).toBe(expected);
  });
});
