/**
 * A remote's own retention (`remotes[].retention`) as a pure function: which copies on the remote
 * stay and which go, and why. No I/O; `prune` lists the remote, feeds the copies here and deletes
 * what it says through the driver's delete().
 *
 * The copies are read from the remote itself (keys `<kind>/<id>/<file>`), not from remotes.json
 * beside local sets: a copy whose local set was pruned long ago must still be judged. Its date is
 * its set id's date and time (the wall clock of the configured time zone, as ids are made); a copy
 * is complete when its manifest.json (or manifest.json.age) is there, as replicate writes it last.
 *
 * Rules, first match wins:
 *  1. No retention for the remote: every copy stays (the default: milestones forever, nothing else deleted).
 *  2. Milestones, config snapshots, safety copies: stay.
 *  3. A copy without its manifest (an interrupted copy) or whose id has no date: stays, for a person.
 *  4. Dailies, per database (the id's stem): the newest `keep_last` complete copies stay (at least
 *     the newest one, whatever its age: never delete the newest).
 *  5. Dailies older than `daily_days` go (without daily_days: every daily past keep_last goes);
 *     younger ones stay.
 */
import { SET_ID_RE, type SetKind, SET_KINDS } from './labels.js';
import { localTime } from './time.js';

export interface RemoteRetentionPolicy {
  daily_days?: number | undefined;
  keep_last?: number | undefined;
}

/** One set's copy on a remote, from the remote's listing. */
export interface RemoteSetCopy {
  kind: SetKind;
  id: string;
  /** Every key of the copy (what is deleted when it goes). */
  keys: string[];
  /** Its manifest is there (replicate stores it last). */
  complete: boolean;
}

export interface RemoteDecision {
  kind: SetKind;
  id: string;
  keys: string[];
  action: 'keep' | 'remove';
  reason: string;
}

const DAY_MS = 86_400_000;
const MANIFEST_KEYS = new Set(['manifest.json', 'manifest.json.age']);

/** Groups a remote's keys into copies of sets; keys that are not `<kind>/<set id>/<file>` are left out (never deleted). */
export function remoteSetCopies(keys: string[]): RemoteSetCopy[] {
  const byKey = new Map<string, RemoteSetCopy>();
  for (const key of keys) {
    const [kind, id, ...rest] = key.split('/');
    if (!kind || !id || rest.length === 0 || !(SET_KINDS as readonly string[]).includes(kind)) continue;
    const k = `${kind}/${id}`;
    let c = byKey.get(k);
    if (!c) {
      c = { kind: kind as SetKind, id, keys: [], complete: false };
      byKey.set(k, c);
    }
    c.keys.push(key);
    if (rest.length === 1 && MANIFEST_KEYS.has(rest[0]!)) c.complete = true;
  }
  return [...byKey.values()];
}

/** The id's wall-clock stamp "YYYYMMDDHHMMSS" (time 000000 when the id has none) and its stem; null when it is not a set id. */
function stamp(id: string): { at: string; stem: string } | null {
  const m = SET_ID_RE.exec(id);
  if (!m?.groups) return null;
  return { at: `${m.groups.date}${m.groups.time ?? '000000'}${(m.groups.seq ?? '').padStart(4, '0')}`, stem: m.groups.stem! };
}

/** Plans one remote's retention. `policy` undefined: everything stays. Decisions in input order. */
export function planRemoteRetention(copies: RemoteSetCopy[], policy: RemoteRetentionPolicy | undefined, now: Date, timeZone: string): RemoteDecision[] {
  const decided = new Map<RemoteSetCopy, Omit<RemoteDecision, 'kind' | 'id' | 'keys'>>();
  const keep = (c: RemoteSetCopy, reason: string) => decided.set(c, { action: 'keep', reason });
  if (!policy) {
    for (const c of copies) keep(c, 'the remote has no retention: its copies are kept');
  } else {
    const keepLast = policy.keep_last ?? 1;
    const cutoff = policy.daily_days === undefined ? null : localTime(new Date(now.getTime() - policy.daily_days * DAY_MS), timeZone);
    const cut = cutoff ? `${cutoff.date}${cutoff.time}` : null;
    const byStem = new Map<string, { c: RemoteSetCopy; at: string }[]>();
    for (const c of copies) {
      const s = stamp(c.id);
      if (c.kind !== 'daily') keep(c, `${c.kind} copies are kept (remote retention removes only dailies)`);
      else if (!c.complete) keep(c, 'no manifest on the remote (an interrupted copy): kept for a person to inspect');
      else if (!s) keep(c, 'its name carries no date: kept');
      else byStem.set(s.stem, [...(byStem.get(s.stem) ?? []), { c, at: s.at }]);
    }
    for (const [stem, list] of byStem) {
      list.sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0));
      list.forEach(({ c, at }, i) => {
        if (i < keepLast) keep(c, i === 0 ? `the newest complete daily copy of ${stem} on this remote: never removed` : `among the newest ${keepLast} daily copies of ${stem} (keep_last)`);
        else if (cut === null) decided.set(c, { action: 'remove', reason: `not among the newest ${keepLast} daily copies of ${stem} (keep_last ${keepLast})` });
        else if (at.slice(0, 14) < cut) decided.set(c, { action: 'remove', reason: `older than ${policy.daily_days} days (daily_days) and not among the newest ${keepLast} of ${stem}` });
        else keep(c, `within ${policy.daily_days} days (daily_days)`);
      });
    }
  }
  return copies.map((c) => ({ kind: c.kind, id: c.id, keys: c.keys, ...decided.get(c)! }));
}
