/** The `pitr:` config section (README, Point-in-time recovery). A leaf module (zod only). */
import { z } from 'zod';
import { absOrRelPath, host, port } from '../../inputs/fields.js';

/** Barman's server and slot names end up in file names and argv: plain names only. */
const plainName = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'must be 1-63 lower-case letters, digits, _ or -, starting with a letter or digit');

/** Barman's own syntax: REDUNDANCY n, or RECOVERY WINDOW OF n DAYS|WEEKS|MONTHS. */
const retentionPolicy = z
  .string()
  .regex(/^(REDUNDANCY \d+|RECOVERY WINDOW OF \d+ (DAY|DAYS|WEEK|WEEKS|MONTH|MONTHS))$/i, 'must be Barman\'s syntax: "RECOVERY WINDOW OF 7 DAYS" or "REDUNDANCY 2"');

/** The environment variable that holds the password of `pitr.user` (never in the config file). */
export const PITR_PASSWORD_ENV = 'PITR_PGPASSWORD';

export const pitrSchema = z.strictObject({
  /** Barman's home on the runner: its config, base backups, WAL and the .pgpass the tool writes. */
  barman_home: absOrRelPath,
  /** Barman's name for the database server. */
  server: plainName.default('pg'),
  host: host,
  port: port.default(5432),
  /** A superuser (or a role with Barman's backup privileges) that also has REPLICATION. */
  user: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, 'must be a plain role name').default('barman'),
  /** Physical replication slot on the database host (pg_receivewal streams through it). */
  slot: z.string().regex(/^[a-z0-9_]{1,63}$/, 'must be a replication slot name: lower-case letters, digits and _').default('barman'),
  retention: retentionPolicy.default('RECOVERY WINDOW OF 7 DAYS'),
  /** PostgreSQL server binaries of the production major version (pg_basebackup, pg_receivewal, pg_ctl, postgres). */
  bin_dir: absOrRelPath.default('/usr/lib/postgresql/17/bin'),
  /** Where verify --pitr recovers (needs room for the whole data directory); default <barman_home>/pgtaos-scratch. */
  scratch_dir: absOrRelPath.optional(),
  /** `pitr backup` (nightly) takes a base backup when the newest is this many calendar days old; --force: always. */
  base_backup_every_days: z.number().int().min(1).max(365).default(7),
  /** Hours after which the newest base backup is too old (status; Barman's last_backup_maximum_age). */
  base_backup_max_age_hours: z.number().positive().default(192),
  /** Minutes after which the newest streamed WAL segment means the receiver is dead (status). */
  wal_max_age_minutes: z.number().positive().default(60),
  /** Bytes of WAL the slot may hold back on the database host before status fails. */
  slot_lag_max_mb: z.number().positive().default(4096),
  /** Seconds Barman may wait for a closed WAL segment to arrive (switch-wal --archive-timeout). */
  archive_timeout_seconds: z.number().int().min(1).max(3600).default(60),
  /** Seconds the throwaway postmaster may take to replay WAL up to the target. */
  recovery_timeout_seconds: z.number().int().min(10).max(604800).default(3600),
});
export type PitrConfig = z.infer<typeof pitrSchema>;
