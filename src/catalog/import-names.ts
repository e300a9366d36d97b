/**
 * Names of the old runbook's backup files, and what they become in the catalog (pure).
 *
 *   postgresql/milestones/pre_arch_optimization_20251025.backup -> milestone pre_arch_optimization_20251025
 *   postgresql/mystocks_20251024_000001.backup                  -> daily     mystocks_20251024_000001
 *   postgresql/mystocks_20251024.backup                         -> daily     mystocks_20251024_<time of the dump>
 *   tdengine/tdengine_20251024_010000/                          -> daily     market_data_20251024_010000
 *   tdengine/milestones/post_phase2_20251101/                   -> milestone post_phase2_20251101
 *
 * Rules: the name (without .backup/.dump/.bak/.pgdump, or .dir for a pg_dump directory archive) must be `<stem>_<YYYYMMDD>` or
 * `<stem>_<YYYYMMDD>_<HHMMSS>`. It is a daily when it is not under a `milestones` folder and its
 * stem is the dumped database's name or one of the engine's own `dailyStems` (the TDengine importer
 * passes `tdengine` and `taosdump`, the runbook's folder names); otherwise
 * a milestone named <stem>, which must be a valid milestone name.
 */
import path from 'node:path';
import { MILESTONE_RE } from './labels.js';

export interface ImportName {
  kind: 'daily' | 'milestone';
  /** Set id; for a daily without a time in its name, `time` fills it. */
  id: string;
  milestone: string | null;
  /** YYYYMMDD and HHMMSS (null when the name has no time) from the name. */
  date: string;
  time: string | null;
}

const NAME_RE = /^(?<stem>[A-Za-z0-9][A-Za-z0-9_]*?)_(?<date>\d{8})(?:_(?<time>\d{6}))?$/;

/** `why` says what is wrong with a name that cannot be imported. */
export function classifyImport(
  p: string,
  database: string | null,
  isFolder: boolean,
  dumpTime: string | null,
  dailyStems: readonly string[] = [],
): ImportName | { why: string } {
  const base = isFolder ? path.basename(p) : path.basename(p).replace(/\.(backup|dump|bak|pgdump|dir)$/i, '');
  const m = NAME_RE.exec(base);
  if (!m?.groups) return { why: `its name ${JSON.stringify(base)} is not <name>_<YYYYMMDD> or <name>_<YYYYMMDD>_<HHMMSS>` };
  const { stem, date, time } = m.groups as { stem: string; date: string; time?: string };
  const inMilestones = path.dirname(p).split(/[\\/]+/).includes('milestones');
  const isDaily = !inMilestones && (stem === database || dailyStems.includes(stem));
  if (isDaily) {
    const word = (database ?? stem).toLowerCase();
    const t = time ?? dumpTime ?? '000000';
    return { kind: 'daily', id: `${word}_${date}_${t}`, milestone: null, date, time: time ?? null };
  }
  if (!MILESTONE_RE.test(stem)) return { why: `${JSON.stringify(stem)} is not a valid milestone name (a-z, 0-9, _)` };
  return { kind: 'milestone', id: `${stem}_${date}`, milestone: stem, date, time: time ?? null };
}

/**
 * "2025-10-25 00:00:03 CST" (pg_restore's "Archive created at") as an instant: the wall time is
 * read in `timeZone` (the runbook's machines ran Asia/Shanghai, whose abbreviation CST is
 * ambiguous), or in UTC when the abbreviation says UTC/GMT. null when unreadable.
 */
export function archiveTime(text: string | null, timeZone: string): Date | null {
  const m = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\s+(\S+))?/.exec(text ?? '');
  if (!m) return null;
  const [, y, mo, d, h, mi, s, abbrev] = m;
  const zone = abbrev && /^(UTC|GMT|Z)$/i.test(abbrev) ? 'UTC' : timeZone;
  return wallTimeIn(Number(y), Number(mo), Number(d), Number(h), Number(mi), Number(s), zone);
}

/** The instant whose wall-clock time in `timeZone` is the given one. */
export function wallTimeIn(y: number, mo: number, d: number, h: number, mi: number, s: number, timeZone: string): Date {
  const guess = Date.UTC(y, mo - 1, d, h, mi, s);
  const offsetAt = (t: number): number => {
    const parts: Record<string, string> = {};
    for (const p of new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' }).formatToParts(new Date(t))) parts[p.type] = p.value;
    return Date.UTC(Number(parts.year), Number(parts.month) - 1, Number(parts.day), Number(parts.hour), Number(parts.minute), Number(parts.second)) - t;
  };
  const first = guess - offsetAt(guess);
  return new Date(guess - offsetAt(first));
}
