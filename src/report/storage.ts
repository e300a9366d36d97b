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
  for (const x of recent.length ? recent : dated) {
    if (!days.has(x.day) && days.size >= SAMPLE_WINDOW_DAYS) continue;
    days.set(x.day, (days.get(x.day) ?? 0) + x.s.bytes);
  }
  const perDay = days.size ? Math.round([...days.values()].reduce((a, b) => a + b, 0) / days.size) : null;
  const minFree = Math.round(input.minFreeGb * GIB);
  const daysLeft = perDay && input.freeBytes !== null ? Math.max(0, Math.floor((input.freeBytes - minFree) / perDay)) : null;
  return {
    free_bytes: input.freeBytes,
    min_free_bytes: minFree,
    used_bytes: complete.reduce((a, s) => a + s.bytes, 0),
    sets: counts,
    incomplete_sets: input.sets.length - complete.length,
    daily_bytes_per_day: perDay,
    sample_days: days.size,
    days_of_dailies: daysLeft,
  };
}
