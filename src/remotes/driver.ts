/**
 * What a remote driver module exports (restic's location registry is the model): its type name
 * (the config's `type:`), the schema of its config entry, the environment variables that hold
 * its secrets, and a factory. The registry (registry.ts) looks drivers up by type; commands never
 * name one.
 */
import { z } from 'zod';
import type { Remote } from './remote.js';

/**
 * Which kinds of set a remote takes besides the ones every remote takes: milestones always, config
 * snapshots always when encryption.age_recipients is set (never unencrypted). `include: [daily]`
 * adds the dailies, `include: [safety]` the safety copies.
 */
export const remoteIncludeField = z.array(z.enum(['daily', 'milestone', 'config', 'safety'])).optional();
/**
 * The remote's own retention of the copies on it, applied by `prune` (catalog/remote-retention.ts).
 * Absent: nothing on the remote is ever deleted. Given: a daily copy goes when it is older than
 * `daily_days` (absent: any age) and not among the newest `keep_last` complete dailies of its
 * database (absent: 1); the newest complete daily copy of each database always stays. Milestones,
 * config snapshots and safety copies on the remote stay.
 */
export const remoteRetentionField = z
  .strictObject({
    daily_days: z.number().int('must be a whole number of days').min(1, 'must be at least 1 day').optional(),
    keep_last: z.number().int('must be a whole number of sets').min(1, 'must be at least 1 set').optional(),
  })
  .refine((r) => r.daily_days !== undefined || r.keep_last !== undefined, 'give daily_days, keep_last or both (leave retention out to keep every copy)')
  .optional();
/** A remote's name, as records and messages show it. */
export const remoteNameField = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'must be 1-64 letters, digits, ".", "_" or "-"').optional();

/** The keys every remote entry has, whatever its driver; the rest belongs to the driver. */
export const remoteEntryShape = z.looseObject({ type: z.string(), name: remoteNameField, include: remoteIncludeField, retention: remoteRetentionField });
export type RemoteEntry = z.infer<typeof remoteEntryShape>;
export type RemoteCommon = Pick<RemoteEntry, 'type' | 'name' | 'include' | 'retention'>;
export type RemoteRetention = NonNullable<RemoteEntry['retention']>;

/**
 * A driver's config entry: `type`, `name`, the driver's own keys, `include`, `retention`, in that order (the
 * order problems are listed in). Strict: a misspelt key is named as unknown.
 */
export function remoteConfigSchema<T extends string, S extends z.ZodRawShape>(type: T, shape: S) {
  return z.strictObject({ type: z.literal(type), name: remoteNameField, ...shape, include: remoteIncludeField, retention: remoteRetentionField });
}

export interface RemoteOpenContext {
  /** The remote's name: its `name:`, or the driver's defaultName(). */
  name: string;
  /** Where secrets come from (never the config file). */
  env: NodeJS.ProcessEnv;
  /** The backup root (config `root`), for drivers that must not store copies beside it. */
  backupRoot?: string;
}

export interface RemoteDriver<C extends RemoteCommon> {
  /** The config's `type:`, and what remotes.json records. */
  readonly type: string;
  /**
   * Validates one `remotes:` entry. Parsing its own output must give that output again: entries
   * are validated when the config loads and parsed again when opened, to reach the driver's type.
   */
  readonly configSchema: z.ZodType<C>;
  /** Environment variables holding this driver's secrets: masked wherever they would be printed. */
  readonly secretEnv: readonly string[];
  /** The name of a remote without `name:`, from where it is (`path:/mnt/nas/x`). */
  defaultName(config: C): string;
  /**
   * Builds the remote. Throws UsageError (exit 2) for what is wrong before any connection (a secret
   * missing from the environment); nothing heavy is loaded or contacted here.
   */
  create(config: C, ctx: RemoteOpenContext): Remote;
}
