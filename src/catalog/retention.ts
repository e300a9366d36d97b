/**
 * Retention as a pure function: which sets stay, which go, and why. No I/O here; `prune` feeds it
 * the catalog and removes what it says, `status` runs it to see whether retention is applied.
 *
 * The runbook's `find -mtime +7 -delete` deleted the last good backups when every recent run failed,
 * and trusted file times; WAL-G once deleted its newest backups by sorting on names (wal-g#636).
 * So: age comes from the manifest's started_at (an ISO time with its UTC offset), sets are ordered
 * by that instant and never by name or file time, only complete sets count, and the newest good
 * ones are never removed (Barman's minimum_redundancy).
 *
 * Rules, first match wins (each decision carries the rule's code, in brackets, beside its reason):
 *  1. A staging leftover in `.incomplete/` (a run that did not finish): removed. The caller holds
 *     the lock, so no run is writing it. [staging_leftover]
 *  2. A set folder whose manifest is missing, truncated, edited, or whose started_at is not an ISO
 *     time with a UTC offset: kept ("damaged"), for a person to inspect; its dump may be recoverable. [damaged]
 *  3. Milestones: kept forever. Safety copies (taken before a restore): kept until removed by hand.
 *     [milestone, safety]
 *  4. Dated in the future (clock skew): kept, and not counted by the rules below, so a bad clock
 *     cannot take a slot of keep_last. [future]
 *  5. Dailies, per engine (postgres and tdengine may be dumped by separate runs): walking newest
 *     first, every complete daily is kept until `keep_last` of them that did not fail verification
 *     have been kept; so at least `keep_last` complete dailies stay, and a set known to be bad does
 *     not take the place of a good one. [keep_last]
 *  6. Dailies, per engine: the newest one that passed verification is kept, whatever its age. [newest_verified]
 *  7. Weeks and months (grandfather-father-son), per engine: the newest daily that passed
 *     verification in each ISO week (Monday to Sunday), and in each calendar month, on the wall
 *     clock of the configured time zone, for the last `keep_weekly` weeks and `keep_monthly` months
 *     that have one (restic's --keep-weekly/--keep-monthly: a week without a verified daily does not
 *     use up a slot, so an outage never shortens the history). A set chosen by both is named a
 *     weekly. Absent or 0: none. [keep_weekly, keep_monthly]
 *  8. Dailies older than `daily_days` go; younger ones stay. [daily_days]
 *  9. Config snapshots: the newest is always kept; others older than `config_days` go.
 *     [config_newest, config_days]
 */
import type { Config } from '../inputs/config-schema.js';
import type { SetKind, SetStatus } from './labels.js';
import { sectionNames } from './manifest.js';
import { calendarBuckets } from './time.js';
import { INCOMPLETE_DIR, type SetEntry } from './sets.js';
import type { RetentionRule } from './retention-rules.js';

export { RETENTION_RULES, type RetentionRule } from './retention-rules.js';

/** The set rules of the config's `retention:` (keep_weekly and keep_monthly may be absent: none); log_days is the run logs' rule (catalog/logs.ts). */
export type RetentionPolicy = Omit<Config['retention'], 'log_days'>;
/** Dailies are counted per manifest section: PostgreSQL and TDengine may be dumped by separate runs. */
export type RetentionEngine = string;

export interface RetentionInput {
  id: string;
  kind: SetKind;
  status: SetStatus;
  path: string;
  /** The manifest's started_at (null without a valid manifest). */
  started_at: string | null;
  /** Engines the manifest holds a section for. */
  engines: RetentionEngine[];
  /** The last verification of the set, from verification.json beside it. */
  verification: { result: 'passed' | 'failed'; verified_at: string } | null;
  /** A staging folder under `.incomplete/` left by a run that did not finish. */
  staging: boolean;
  /** Why an incomplete set is incomplete (from listSets). */
  damage: string | null;
}

export interface Decision {
  id: string;
  kind: SetKind;
  path: string;
  action: 'keep' | 'remove';
  /** The rule that decided (retention-rules.ts); `reason` says the same in words, with the figures. */
  rule: RetentionRule;
  reason: string;
}

const DAY_MS = 86_400_000;

/** An ISO 8601 date-time with seconds and an explicit UTC offset (Z or ±HH:MM), as manifests are written. */
const ISO_WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/;

/** The instant of an ISO time with an offset, in ms; null for anything else (a time without an offset is ambiguous). */
export function parseInstant(s: string | null | undefined): number | null {
  if (typeof s !== 'string' || !ISO_WITH_OFFSET.test(s)) return null;
  const t = Date.parse(s);
  return Number.isFinite(t) ? t : null;
}

/** The catalog entry as retention sees it. */
export function toRetentionInput(s: SetEntry): RetentionInput {
  const m = s.manifest;
  return {
    id: s.id,
    kind: s.kind,
    status: s.status,
    path: s.path,
    started_at: m?.started_at ?? null,
    engines: m ? sectionNames(m) : [],
    verification: s.verification ? { result: s.verification.result, verified_at: s.verification.verified_at } : null,
    staging: isStagingPath(s.path),
    damage: s.reason,
  };
}

export function isStagingPath(p: string): boolean {
  const parts = p.split(/[\\/]+/).filter(Boolean);
  return parts.at(-2) === INCOMPLETE_DIR;
}

/** "9.2 days"; with hours when the rounded figure would equal the limit ("7.0 days" > 7 days reads wrong). */
export function formatAge(days: number, limitDays: number): string {
  const d = days.toFixed(1);
  if (Number(d) === limitDays) return `${d} days (${(days * 24).toFixed(1)} h)`;
  return `${d} days`;
}

function engineList(engines: string[]): string {
  return engines.length <= 1 ? (engines[0] ?? '') : `${engines.slice(0, -1).join(', ')} and ${engines.at(-1)}`;
}

interface Dated {
  input: RetentionInput;
  at: number;
  ageDays: number;
}

function newestFirst(a: Dated, b: Dated): number {
  if (a.at !== b.at) return b.at - a.at;
  if (a.input.id !== b.input.id) return a.input.id < b.input.id ? 1 : -1;
  return a.input.path < b.input.path ? 1 : a.input.path > b.input.path ? -1 : 0;
}

type Decide = (s: RetentionInput, action: Decision['action'], rule: RetentionRule, reason: string) => void;

/** `timeZone` (the config's `timezone`) says where weeks and months begin. */
export function planRetention(sets: RetentionInput[], policy: RetentionPolicy, now: Date, timeZone = 'UTC'): Decision[] {
  const decided = new Map<RetentionInput, Decision>();
  const decide: Decide = (s, action, rule, reason) => decided.set(s, { id: s.id, kind: s.kind, path: s.path, action, rule, reason });
  const { dailies, configs } = sortOut(sets, now.getTime(), decide);
  decideDailies(dailies, policy, decide, timeZone);
  decideConfigs(configs, policy, decide);
  return sets.map((s) => decided.get(s)!);
}

/** Rules 1-4 decide at once; the dailies and config snapshots left are returned for the rules that compare them. */
function sortOut(sets: RetentionInput[], nowMs: number, decide: Decide): { dailies: Dated[]; configs: Dated[] } {
  const dailies: Dated[] = [];
  const configs: Dated[] = [];
  for (const s of sets) {
    if (s.staging) {
      decide(s, 'remove', 'staging_leftover', `left in ${INCOMPLETE_DIR}/ by a run that did not finish`);
      continue;
    }
    if (s.status !== 'complete') {
      decide(s, 'keep', 'damaged', `damaged: ${s.damage ?? 'no valid manifest'}; kept for a person to inspect`);
      continue;
    }
    const at = parseInstant(s.started_at);
    if (at === null) {
      decide(s, 'keep', 'damaged', `damaged: manifest started_at ${JSON.stringify(s.started_at)} is not an ISO time with a UTC offset; kept for a person to inspect`);
      continue;
    }
    const ageDays = (nowMs - at) / DAY_MS;
    if (s.kind === 'milestone') {
      decide(s, 'keep', 'milestone', 'milestone: kept forever');
      continue;
    }
    if (s.kind === 'safety') {
      decide(s, 'keep', 'safety', 'safety copy: kept until removed by hand');
      continue;
    }
    if (at > nowMs) {
      decide(s, 'keep', 'future', `dated in the future (started_at ${s.started_at} is ${((at - nowMs) / 3_600_000).toFixed(1)} h after now: clock skew?); kept`);
      continue;
    }
    (s.kind === 'daily' ? dailies : configs).push({ input: s, at, ageDays });
  }
  return { dailies, configs };
}

/** Rules 5-8, per engine. */
function decideDailies(dailies: Dated[], policy: RetentionPolicy, decide: Decide, timeZone: string): void {
  dailies.sort(newestFirst);
  const keepLast = new Map<Dated, { engines: string[]; failed: boolean; extended: boolean }>();
  const buckets = new Map<string, Dated[]>();
  for (const d of dailies) {
    const keys = d.input.engines.length ? d.input.engines : ['(no engine)'];
    for (const k of keys) {
      const list = buckets.get(k);
      if (list) list.push(d);
      else buckets.set(k, [d]);
    }
  }
  for (const [engine, list] of buckets) {
    let good = 0;
    let anyFailed = false;
    for (const d of list) {
      if (good >= policy.keep_last) break;
      const failed = d.input.verification?.result === 'failed';
      if (failed) anyFailed = true;
      else good++;
      const k = keepLast.get(d) ?? { engines: [], failed, extended: false };
      k.engines.push(engine);
      if (anyFailed) k.extended = true;
      keepLast.set(d, k);
    }
  }
  const newestVerified = new Map<Dated, string[]>();
  for (const [engine, list] of buckets) {
    const v = list.find((d) => d.input.verification?.result === 'passed');
    if (v) newestVerified.set(v, [...(newestVerified.get(v) ?? []), engine]);
  }
  const calendar = calendarKeeps(buckets, policy, timeZone);
  for (const d of dailies) {
    const s = d.input;
    const k = keepLast.get(d);
    const v = newestVerified.get(d);
    const c = calendar.get(d);
    if (k) {
      const eng = engineList(k.engines);
      if (k.failed) {
        decide(s, 'keep', 'keep_last', `among the newest complete ${eng} dailies (keep_last ${policy.keep_last} counts only sets that did not fail verification; this one failed at ${s.verification?.verified_at})`);
      } else if (k.extended) {
        decide(s, 'keep', 'keep_last', `newest ${policy.keep_last} complete ${eng} dailies that did not fail verification (keep_last)`);
      } else {
        decide(s, 'keep', 'keep_last', `newest ${policy.keep_last} complete ${eng} dailies (keep_last)`);
      }
    } else if (v) {
      decide(s, 'keep', 'newest_verified', `newest ${engineList(v)} daily that passed verification (verified ${s.verification?.verified_at})`);
    } else if (c) {
      decide(s, 'keep', c.rule, c.reason);
    } else if (d.ageDays > policy.daily_days) {
      decide(s, 'remove', 'daily_days', `daily, ${formatAge(d.ageDays, policy.daily_days)} old > ${policy.daily_days} days`);
    } else {
      decide(s, 'keep', 'daily_days', `daily, ${formatAge(d.ageDays, policy.daily_days)} old <= ${policy.daily_days} days`);
    }
  }
}

interface CalendarSlot {
  /** The week (2026-W49) or month (2026-12), its rank among the kept ones (1: newest), and the engines it holds the slot for. */
  bucket: string;
  rank: number;
  engines: string[];
}

/**
 * Rule 7: per engine, walking newest first over the dailies that passed verification, the first of
 * each week (month) is that week's (month's) set, until keep_weekly (keep_monthly) weeks (months) have one.
 */
function calendarKeeps(buckets: Map<string, Dated[]>, policy: RetentionPolicy, timeZone: string): Map<Dated, { rule: RetentionRule; reason: string }> {
  const weekly = new Map<Dated, CalendarSlot>();
  const monthly = new Map<Dated, CalendarSlot>();
  const keys = new Map<Dated, { week: string; month: string }>();
  const keyOf = (d: Dated) => {
    let k = keys.get(d);
    if (!k) keys.set(d, (k = calendarBuckets(new Date(d.at), timeZone)));
    return k;
  };
  const pick = (engine: string, list: Dated[], limit: number, field: 'week' | 'month', into: Map<Dated, CalendarSlot>) => {
    const seen = new Set<string>();
    for (const d of list) {
      if (seen.size >= limit) break;
      if (d.input.verification?.result !== 'passed') continue;
      const bucket = keyOf(d)[field];
      if (seen.has(bucket)) continue;
      seen.add(bucket);
      const slot = into.get(d);
      if (slot) slot.engines.push(engine);
      else into.set(d, { bucket, rank: seen.size, engines: [engine] });
    }
  };
  for (const [engine, list] of buckets) {
    pick(engine, list, policy.keep_weekly ?? 0, 'week', weekly);
    pick(engine, list, policy.keep_monthly ?? 0, 'month', monthly);
  }
  const out = new Map<Dated, { rule: RetentionRule; reason: string }>();
  for (const [d, m] of monthly) {
    out.set(d, { rule: 'keep_monthly', reason: `monthly: newest verified ${engineList(m.engines)} daily of ${m.bucket} (month ${m.rank} of keep_monthly ${policy.keep_monthly})` });
  }
  for (const [d, w] of weekly) {
    const m = monthly.get(d);
    const also = m ? `; also the monthly of ${m.bucket}` : '';
    out.set(d, { rule: 'keep_weekly', reason: `weekly: newest verified ${engineList(w.engines)} daily of ${w.bucket} (week ${w.rank} of keep_weekly ${policy.keep_weekly})${also}` });
  }
  return out;
}

/** Rule 9. */
function decideConfigs(configs: Dated[], policy: RetentionPolicy, decide: Decide): void {
  configs.sort(newestFirst);
  configs.forEach((d, i) => {
    if (i === 0) decide(d.input, 'keep', 'config_newest', 'newest config snapshot (always kept)');
    else if (d.ageDays > policy.config_days) decide(d.input, 'remove', 'config_days', `config, ${formatAge(d.ageDays, policy.config_days)} old > ${policy.config_days} days`);
    else decide(d.input, 'keep', 'config_days', `config, ${formatAge(d.ageDays, policy.config_days)} old <= ${policy.config_days} days`);
  });
}
