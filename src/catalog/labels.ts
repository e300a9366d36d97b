/**
 * Set names, matched by one regex in one place (pgBackRest keeps its labels the same way).
 *   daily      <database>_<YYYYMMDD>_<HHMMSS>     mystocks_20261125_000003
 *   milestone  <milestone>_<YYYYMMDD>             post_phase2_20261125
 *   config     config_<YYYYMMDD>_<HHMMSS>
 *   safety     safety_<database>_<YYYYMMDD>_<HHMMSS>
 * A second set with the same name gets "-2", "-3", ... so nothing is ever overwritten.
 */
import { z } from 'zod';
import { UsageError } from '../errors.js';
import type { LocalTime } from './time.js';

export const SET_KINDS = ['daily', 'milestone', 'config', 'safety'] as const;
export type SetKind = (typeof SET_KINDS)[number];

/**
 * The scheduled backups: what staleness counts and what `verify` checks unless told otherwise.
 * Safety sets (what a restore replaced) and config snapshots are kept, but are not the backups.
 */
export function isScheduledBackup(kind: SetKind): boolean {
  return kind === 'daily' || kind === 'milestone';
}

/** complete: a valid manifest makes it a backup; incomplete: anything else (never counted, never a backup). */
export const setStatus = z.enum(['complete', 'incomplete']);
export type SetStatus = z.infer<typeof setStatus>;

export const MILESTONE_RE = /^[a-z0-9][a-z0-9_]{0,63}$/;
/** Any set id: lower-case words, a date, maybe a time, maybe a sequence number. */
export const SET_ID_RE = /^(?<stem>[a-z0-9][a-z0-9_]*?)_(?<date>\d{8})(?:_(?<time>\d{6}))?(?:-(?<seq>\d{1,4}))?$/;

export function isSetId(id: string): boolean {
  return id.length <= 120 && SET_ID_RE.test(id);
}

/** Validates a milestone name; a `milestone/<name>` tag or ref gives `<name>`. */
export function milestoneName(raw: string): string {
  const name = raw.replace(/^refs\/tags\//, '').replace(/^milestone\//, '');
  if (!MILESTONE_RE.test(name)) {
    throw new UsageError('milestone.bad_name', `invalid milestone name ${JSON.stringify(raw)}`, {
      hint: 'Use 1-64 characters: lower-case letters, digits and "_", starting with a letter or digit (e.g. post_phase2). A tag milestone/<name> gives <name>.',
    });
  }
  return name;
}

export function setIdFor(kind: SetKind, at: LocalTime, stem: string): string {
  const word = stem.toLowerCase();
  switch (kind) {
    case 'daily':
      return `${word}_${at.date}_${at.time}`;
    case 'milestone':
      return `${milestoneName(word)}_${at.date}`;
    case 'config':
      return `config_${at.date}_${at.time}`;
    case 'safety':
      return `safety_${word}_${at.date}_${at.time}`;
  }
}

/** The first of id, id-2, id-3 ... that `taken` does not hold. */
export function uniqueId(id: string, taken: (candidate: string) => boolean): string {
  if (!taken(id)) return id;
  for (let n = 2; n < 10000; n++) {
    const candidate = `${id}-${n}`;
    if (!taken(candidate)) return candidate;
  }
  throw new Error(`no free name for ${id}`);
}
