/**
 * The retention rules by code: every decision names the rule that made it (`rule`) beside its prose
 * `reason`, so scripts reading `prune --dry-run --json` need not parse the prose. Kept apart from
 * retention.ts so the report schema can use the list without importing the catalog.
 */
export const RETENTION_RULES = [
  /** A staging folder left in `.incomplete/` by a run that did not finish: removed. */
  'staging_leftover',
  /** No valid manifest, or a started_at without a UTC offset: kept for a person. */
  'damaged',
  /** Milestones are kept forever. */
  'milestone',
  /** Safety copies (taken before a restore) are kept until removed by hand. */
  'safety',
  /** Dated in the future (clock skew): kept, and not counted by the rules below. */
  'future',
  /** Among the newest keep_last complete dailies of an engine. */
  'keep_last',
  /** The newest daily of an engine that passed verification. */
  'newest_verified',
  /** The newest verified daily of an engine in one of the last keep_weekly ISO weeks that have one. */
  'keep_weekly',
  /** The newest verified daily of an engine in one of the last keep_monthly calendar months that have one. */
  'keep_monthly',
  /** A daily judged by its age against daily_days (kept within it, removed past it). */
  'daily_days',
  /** The newest config snapshot: always kept. */
  'config_newest',
  /** A config snapshot judged by its age against config_days. */
  'config_days',
] as const;
export type RetentionRule = (typeof RETENTION_RULES)[number];
