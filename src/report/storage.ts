/**
 * Free space and how long it lasts: the runbook's "free space > 5 GB" row, and how many more days
 * of dailies fit above that floor at the size recent dailies have. Pure: run.ts gathers the facts.
 */
import type { SetKind, SetStatus } from '../catalog/labels.js';
import type { Storage } from './result.js';

const GIB = 1024 ** 3;
const DAY_MS = 86_400_000;
/** Dailies from this many days back make the average (the runbook keeps 7 days). */
export const SAMPLE_WINDOW_DAYS = 7;
/**
 * No days-left figure before this many complete dailies over this many calendar days: the first
 * set of a new catalog (often a near-empty test database) said "1140823 more days".
 */
export const MIN_SAMPLE_SETS = 3;
export const MIN_SAMPLE_DAYS = 2;
/** A days-left figure above this is told as "more than 10 years", never as a number of days. */
export const MAX_DAYS_TOLD = 3650;

export interface StorageSet {
  kind: SetKind;
  status: SetStatus;
  bytes: number;
  /** The manifest's started_at (local time with its UTC offset); null for incomplete sets. */
  started_at: string | null;
}

/** The local calendar day of an ISO time with offset ("2026-11-25T00:00:03.120+08:00" -> "2026-11-25"). */
function localDay(iso: string): string | null {
  const m = /^(\d{4}-\d{2}-\d{2})T/.exec(iso);
  return m ? m[1]! : null;
}

export function storageEstimate(input: { sets: StorageSet[]; freeBytes: number | null; minFreeGb: number; now: Date }): Storage {
  const complete = input.sets.filter((s) => s.status === 'complete');
  const counts = { daily: 0, milestone: 0, config: 0, safety: 0 };
  for (const s of complete) counts[s.kind]++;
  const dated = complete
    .filter((s) => s.kind === 'daily' && s.started_at !== null)
    .map((s) => ({ s, at: Date.parse(s.started_at!), day: localDay(s.started_at!) }))
    .filter((x): x is { s: StorageSet; at: number; day: string } => Number.isFinite(x.at) && x.day !== null && x.at <= input.now.getTime() + DAY_MS)
    .sort((a, b) => b.at - a.at);
  // Recent days; when backups stopped a while ago, the newest days there are.
  const recent = dated.filter((x) => input.now.getTime() - x.at <= SAMPLE_WINDOW_DAYS * DAY_MS);
  const days = new Map<string, number>();
  let sampleSets = 0;
  for (const x of recent.length ? recent : dated) {
    if (!days.has(x.day) && days.size >= SAMPLE_WINDOW_DAYS) continue;
    days.set(x.day, (days.get(x.day) ?? 0) + x.s.bytes);
    sampleSets++;
  }
  const perDay = days.size ? Math.round([...days.values()].reduce((a, b) => a + b, 0) / days.size) : null;
  const minFree = Math.round(input.minFreeGb * GIB);
  const enough = sampleSets >= MIN_SAMPLE_SETS && days.size >= MIN_SAMPLE_DAYS;
  const daysLeft = enough && perDay && input.freeBytes !== null ? Math.max(0, Math.floor((input.freeBytes - minFree) / perDay)) : null;
  return {
    free_bytes: input.freeBytes,
    min_free_bytes: minFree,
    used_bytes: complete.reduce((a, s) => a + s.bytes, 0),
    sets: counts,
    incomplete_sets: input.sets.length - complete.length,
    daily_bytes_per_day: perDay,
    sample_days: days.size,
    sample_sets: sampleSets,
    days_of_dailies: daysLeft,
  };
}

/** Why there is no days-left figure yet, or null when there is one (or free space is unknown). */
export function tooFewSamples(st: Pick<Storage, 'sample_sets' | 'sample_days'>): string | null {
  if (st.sample_sets >= MIN_SAMPLE_SETS && st.sample_days >= MIN_SAMPLE_DAYS) return null;
  const have = `${st.sample_sets} daily set${st.sample_sets === 1 ? '' : 's'} over ${st.sample_days} day${st.sample_days === 1 ? '' : 's'}`;
  return `cannot estimate yet: ${have} (needs at least ${MIN_SAMPLE_SETS} over ${MIN_SAMPLE_DAYS} days)`;
}

/** "68 more days" or, for a figure past any planning horizon, "more than 10 years". */
export function daysLeftText(days: number): string {
  return days > MAX_DAYS_TOLD ? `more than ${MAX_DAYS_TOLD / 365} years` : `${days} more day${days === 1 ? '' : 's'}`;
}
