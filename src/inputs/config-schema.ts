/**
 * The configuration file's schema (SPEC section 5). Types come from here and nowhere else.
 * Every object is strict: an unknown or misspelt key is an error that names it.
 */
import { z } from 'zod';

const port = z.number().int().min(1).max(65535);
/** PostgreSQL/TDengine identifiers we pass to tools and SQL: plain names only. */
const dbName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, 'must be a plain database name (letters, digits, _; not starting with a digit)');
const host = z.string().min(1).regex(/^[A-Za-z0-9._:-]+$/, 'must be a host name or IP address');
const absOrRelPath = z.string().min(1);
/** A path inside base_dir: may not climb out of it. */
const innerPath = z
  .string()
  .min(1)
  .refine((p) => !p.startsWith('/') && !p.split(/[\\/]/).includes('..'), 'must be relative to base_dir and must not contain ".."');

export const timeZone = z.string().refine((tz) => {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}, 'must be an IANA time zone such as Asia/Shanghai or UTC');

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
});

const remoteInclude = z.array(z.enum(['daily', 'milestone', 'config', 'safety'])).optional();

export const remoteSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('path'), name: z.string().optional(), path: absOrRelPath, include: remoteInclude }),
  z.strictObject({
    type: z.literal('s3'),
    name: z.string().optional(),
    endpoint: z.string().url().optional(),
    bucket: z.string().min(3),
    prefix: z.string().default(''),
    region: z.string().default('us-east-1'),
    force_path_style: z.boolean().default(true),
    include: remoteInclude,
  }),
]);

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
      daily_days: z.number().int().min(1).default(7),
      keep_last: z.number().int().min(1).default(3),
      config_days: z.number().int().min(1).default(30),
    })
    .default({ daily_days: 7, keep_last: 3, config_days: 30 }),
  remotes: z.array(remoteSchema).default([]),
  encryption: z.strictObject({ age_recipients: z.array(z.string().min(1)).default([]) }).default({ age_recipients: [] }),
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
