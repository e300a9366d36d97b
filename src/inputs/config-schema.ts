/**
 * The configuration file's schema (README, Configuration). Types come from here and nowhere else; each engine's section
 * comes from its plugin (the built-ins' are typed here statically, others reached through the registry).
 * Every object is strict: an unknown or misspelt key is an error that names it.
 */
import { z } from 'zod';
import { absOrRelPath } from './fields.js';
import { postgresSchema, type PostgresConfig } from '../engines/postgres/schema.js';
import { tdengineSchema, type TdengineConfig } from '../engines/tdengine/schema.js';
import { pitrSchema, type PitrConfig } from '../engines/barman/schema.js';
import { enginePlugins, memoByRegistry } from '../engines/registry.js';

export { postgresSchema, tdengineSchema, pitrSchema, type PostgresConfig, type TdengineConfig, type PitrConfig };
import { NOTIFIER_KINDS } from '../report/notify/registry.js';
// Registers the built-in remote drivers: `remotes:` entries are checked by the schema of the driver their `type` names.
import '../remotes/builtin.js';
import { remoteEntrySchema } from '../remotes/registry.js';

/** Retention counts: 0 would make every set due (days) or protect none (keep_last), so at least 1. */
const atLeastOne = (unit: string) => z.number().int(`must be a whole number of ${unit}`).min(1, `must be at least 1 (${unit}); 0 or less is refused`);
/** A path inside base_dir: may not climb out of it. */
const innerPath = z
  .string()
  .min(1)
  .refine((p) => !p.startsWith('/') && !p.split(/[\\/]/).includes('..'), 'must be relative to base_dir and must not contain ".."');

/** IANA zone names are short (the longest is about 30 characters); a huge string is refused before Intl sees it. */
export const MAX_TIMEZONE_LENGTH = 64;

export const timeZone = z.string().refine((tz) => {
  if (tz.length > MAX_TIMEZONE_LENGTH) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}, `must be an IANA time zone such as Asia/Shanghai or UTC (at most ${MAX_TIMEZONE_LENGTH} characters)`);


/** An age recipient as `age-keygen` prints it (X25519 `age1...`; post-quantum `age1pq1...` needs age 1.3+ to decrypt). */
const ageRecipient = z.string().regex(/^age1[0-9a-z]{20,}$/, 'must be an age recipient (public key) such as age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p, as age-keygen prints it');

export const notifySchema = z.strictObject({
  kind: z.enum(NOTIFIER_KINDS),
  /** Name of the environment variable holding the webhook URL (URLs carry tokens). */
  url_env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name, not a URL'),
  secret_env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name').optional(),
  on: z.array(z.enum(['failure', 'success', 'stale', 'always'])).min(1).default(['failure', 'stale']),
});

export const configSchema = z.strictObject({
  /** The backup root: sets, logs and the lock live here. */
  root: absOrRelPath,
  timezone: timeZone.default('UTC'),
  postgres: postgresSchema.optional(),
  tdengine: tdengineSchema.optional(),
  config_files: z
    .strictObject({ base_dir: absOrRelPath, paths: z.array(innerPath).min(1) })
    .optional(),
  retention: z
    .strictObject({
      daily_days: atLeastOne('days').default(7),
      keep_last: atLeastOne('sets').default(3),
      config_days: atLeastOne('days').default(30),
      /** Grandfather-father-son: the newest verified daily of each of the last N ISO weeks / calendar months (in `timezone`). 0 or absent: none. */
      keep_weekly: z.number().int('must be a whole number of weeks').min(0, 'must be 0 or more weeks').optional(),
      keep_monthly: z.number().int('must be a whole number of months').min(0, 'must be 0 or more months').optional(),
      /** Run logs and JSON reports under <root>/logs older than this (by last write) are removed by prune. */
      log_days: atLeastOne('days').default(30),
    })
    .default({ daily_days: 7, keep_last: 3, config_days: 30, log_days: 30 }),
  remotes: z.array(remoteEntrySchema).default([]),
  /**
   * Seconds between the "sent so far" lines of a remote upload and read-back (at most 30 s of silence
   * by default; fractions allowed, at least 0.05, so tests can see lines on small files).
   * PostgreSQL's dump, restore and row counting use postgres.progress_seconds.
   */
  remote_progress_seconds: z.number().min(0.05, 'must be at least 0.05 (seconds)').max(3600).default(30),
  /** With recipients, every copy that leaves the machine is age-encrypted (restore with stock `age -d`). */
  encryption: z.strictObject({ age_recipients: z.array(ageRecipient).default([]) }).default({ age_recipients: [] }),
  min_free_gb: z.number().min(0).default(5),
  notify: z.array(notifySchema).default([]),
  staleness: z
    .strictObject({
      max_age_hours: z.number().positive().default(26),
      verify_max_age_days: z.number().positive().default(8),
    })
    .default({ max_age_hours: 26, verify_max_age_days: 8 }),
  /** Point-in-time recovery through Barman (README, Point-in-time recovery). */
  pitr: pitrSchema.optional(),
});

export type Config = z.infer<typeof configSchema>;

/**
 * The schema a config file is parsed with: the static one, each registered engine's section added
 * (optional), so an engine registered at run time is accepted, and a section of none is an unknown key.
 */
export const configSchemaFor: () => z.ZodType<Config> = memoByRegistry(() => {
  // Engine sections right after timezone, as in the static schema: problems are listed in this order.
  const shape: Record<string, z.ZodType> = {};
  for (const [key, value] of Object.entries(configSchema.shape)) {
    shape[key] = value;
    if (key === 'timezone') for (const p of enginePlugins()) shape[p.name] = p.configSchema.optional();
  }
  return z.strictObject(shape) as unknown as z.ZodType<Config>;
});

/** An engine's section of a parsed config (unknown: the plugin's own schema validated it), or undefined. */
export function engineSection(config: Partial<Config>, name: string): unknown {
  return (config as Record<string, unknown>)[name];
}
export type RemoteConfig = z.infer<typeof remoteEntrySchema>;
export type NotifyConfig = z.infer<typeof notifySchema>;
