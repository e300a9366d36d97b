/**
 * The configuration file's schema (README, Configuration). Types come from here and nowhere else.
 * Every object is strict: an unknown or misspelt key is an error that names it.
 */
import { z } from 'zod';

const PORT_RULE = 'must be a port number from 1 to 65535';
const port = z.number().int(PORT_RULE).min(1, PORT_RULE).max(65535, PORT_RULE);
/** Retention counts: 0 would make every set due (days) or protect none (keep_last), so at least 1. */
const atLeastOne = (unit: string) => z.number().int(`must be a whole number of ${unit}`).min(1, `must be at least 1 (${unit}); 0 or less is refused`);
/** PostgreSQL/TDengine identifiers we pass to tools and SQL: plain names only. */
const dbName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, 'must be a plain database name (letters, digits, _; not starting with a digit)');
const host = z.string().min(1).regex(/^[A-Za-z0-9._:-]+$/, 'must be a host name or IP address');
const absOrRelPath = z.string().min(1).max(4096);
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

export const postgresSchema = z.strictObject({
  host: host.default('127.0.0.1'),
  port: port.default(5432),
  database: dbName,
  user: z.string().min(1).default('postgres'),
  /** Where verify restores. Never the production database (checked at load). */
  scratch_database: dbName.optional(),
  /** Folder holding pg_dump/pg_restore/psql; PATH when absent. */
  bin_dir: absOrRelPath.optional(),
  /** pg_restore -j for verify and restore. */
  jobs: z.number().int().min(1).max(64).default(2),
});

export const tdengineSchema = z.strictObject({
  host: host.default('127.0.0.1'),
  port: port.default(6030),
  rest_port: port.default(6041),
  database: dbName,
  user: z.string().min(1).default('root'),
  scratch_database: dbName.optional(),
  bin_dir: absOrRelPath.optional(),
  /** taosdump -T */
  threads: z.number().int().min(1).max(128).default(8),
  /** taosdump -B: lower it when a restore fails with "WAL size exceeds limit". */
  batch_rows: z.number().int().min(1).max(1_000_000).default(16383),
  /**
   * taosdump is stopped when it shows no sign of life (an output line, its dump folder growing) for
   * this long: a real taosdump blocks without end while taosd is down mid-dump.
   */
  stall_timeout_seconds: z.number().int().min(1).max(86_400).default(300),
});

/**
 * Which kinds of set a remote takes besides the ones every remote takes: milestones always, config
 * snapshots always when encryption.age_recipients is set (never unencrypted). `include: [daily]`
 * adds the dailies, `include: [safety]` the safety copies.
 */
const remoteInclude = z.array(z.enum(['daily', 'milestone', 'config', 'safety'])).optional();
/** A remote's name, as records and messages show it. */
const remoteName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'must be 1-64 letters, digits, ".", "_" or "-"').optional();

export const remoteSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('path'),
    name: remoteName,
    /** A folder on an NFS/CIFS mount (or another disk). */
    path: z.string().min(1).refine((p) => p.startsWith('/'), 'must be an absolute path, such as /mnt/nas/mystocks_backup'),
    /**
     * Refuse to write unless the folder is on a mounted filesystem other than "/" (an NFS/CIFS share
     * that dropped leaves an empty folder on the local disk). false for a plain local folder.
     */
    require_mount: z.boolean().default(true),
    include: remoteInclude,
  }),
  z.strictObject({
    type: z.literal('s3'),
    name: remoteName,
    /** S3-compatible endpoint (Alibaba OSS, Tencent COS, MinIO); AWS when absent. Keys come from the environment. */
    endpoint: z.string().url().refine((u) => !/\/\/[^/]*@/.test(u), 'must not hold credentials (keys come from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)').optional(),
    bucket: z.string().min(3),
    prefix: z.string().default(''),
    region: z.string().default('us-east-1'),
    force_path_style: z.boolean().default(true),
    /** Bytes per multipart part (5 MiB minimum, as S3 requires). */
    part_size_mb: z.number().int().min(5).max(1024).default(16),
    include: remoteInclude,
  }),
]);

/** An age recipient as `age-keygen` prints it (X25519 `age1...`; post-quantum `age1pq1...` needs age 1.3+ to decrypt). */
const ageRecipient = z.string().regex(/^age1[0-9a-z]{20,}$/, 'must be an age recipient (public key) such as age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p, as age-keygen prints it');

export const notifySchema = z.strictObject({
  kind: z.enum(['wecom', 'dingtalk', 'feishu', 'slack', 'generic']),
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
    })
    .default({ daily_days: 7, keep_last: 3, config_days: 30 }),
  remotes: z.array(remoteSchema).default([]),
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
});

export type Config = z.infer<typeof configSchema>;
export type PostgresConfig = z.infer<typeof postgresSchema>;
export type TdengineConfig = z.infer<typeof tdengineSchema>;
export type RemoteConfig = z.infer<typeof remoteSchema>;
export type NotifyConfig = z.infer<typeof notifySchema>;
