/**
 * The result object every command returns, the same for the CLI (--json) and the action
 * (report-path). Its schema is the contract for scripts that read reports.
 */
import { z } from 'zod';
import { SET_KINDS, setStatus } from '../catalog/labels.js';
import { RETENTION_RULES } from '../catalog/retention-rules.js';
import { NOTIFIER_KINDS } from './notify/registry.js';
import type { Manifest } from '../catalog/manifest.js';
import { verificationSchema } from '../catalog/verification.js';
import { remoteCopySchema } from '../catalog/remote-copies.js';
import { describe } from '../errors.js';

export const checkSchema = z.object({
  name: z.string(),
  result: z.enum(['passed', 'failed', 'skipped']),
  detail: z.string(),
});
export type Check = z.infer<typeof checkSchema>;

/** A failed row from any thrown value: its message, then its hint (`check`'s rows). */
export function failedRow(name: string, err: unknown): Check {
  const d = describe(err);
  return { name, result: 'failed', detail: d.hint ? `${d.message} (hint: ${d.hint})` : d.message };
}

export const listEntrySchema = z.object({
  id: z.string(),
  kind: z.enum(SET_KINDS),
  milestone: z.string().nullable(),
  status: setStatus,
  created_at: z.string().nullable(),
  path: z.string(),
  bytes: z.number().int(),
  verified_at: z.string().nullable(),
  verification: z.enum(['passed', 'failed']).nullable(),
  engines: z.array(z.string()),
  reason: z.string().nullable(),
  /** Why a complete set is not to be trusted as a recent backup (its start lies in the future), or null. */
  suspicious: z.string().nullable(),
  /** Copies of the set on remotes (remotes.json beside it); empty when it lives only here. */
  remotes: z.array(z.object({ remote: z.string(), result: z.enum(['verified', 'failed']), copied_at: z.string(), encrypted: z.boolean() })),
});
export type ListEntry = z.infer<typeof listEntrySchema>;

export const engineReportSchema = z.object({
  database: z.string(),
  server_version: z.string(),
  client_version: z.string(),
  bytes: z.number().int(),
  duration_ms: z.number().int(),
  tables: z.array(z.object({ name: z.string(), rows: z.number().int() })),
});
export type EngineReport = z.infer<typeof engineReportSchema>;

export const pruneDecisionSchema = z.object({
  id: z.string(),
  kind: z.enum(SET_KINDS),
  path: z.string(),
  action: z.enum(['keep', 'remove']),
  /** The retention rule that decided, as a code; `reason` says it in words. */
  rule: z.enum(RETENTION_RULES),
  reason: z.string(),
  bytes: z.number().int(),
});
export type PruneDecision = z.infer<typeof pruneDecisionSchema>;

/** Run logs and reports under <root>/logs that prune removed (with dry_run: would remove) by retention.log_days. */
export const pruneLogsSchema = z.object({
  log_days: z.number().int(),
  removed: z.array(z.object({ name: z.string(), bytes: z.number().int() })),
  /** Log and report files left in place (within log_days, a live run's, or not removable). */
  kept: z.number().int(),
  freed_bytes: z.number().int(),
});
export type PruneLogs = z.infer<typeof pruneLogsSchema>;

/** What prune decided (and, unless dry_run, did). */
export const pruneReportSchema = z.object({
  dry_run: z.boolean(),
  decisions: z.array(pruneDecisionSchema),
  /** Bytes of sets removed; with dry_run, bytes that would be removed (logs: `logs.freed_bytes`). */
  freed_bytes: z.number().int(),
  logs: pruneLogsSchema.optional(),
});
export type PruneReport = z.infer<typeof pruneReportSchema>;

/** `show <SET_ID>`: the set's manifest as written (null when it has no valid one) and its state beside it. */
export const showReportSchema = z.object({
  /** manifest.json as read and validated (every key it holds); null for an incomplete set. */
  manifest: z.custom<Manifest>((v) => typeof v === 'object' && v !== null && !Array.isArray(v)).nullable(),
  state: z.object({
    id: z.string(),
    kind: z.enum(SET_KINDS),
    status: setStatus,
    path: z.string(),
    /** Why an incomplete set is incomplete. */
    reason: z.string().nullable(),
    /** Why a complete set is not to be trusted as a recent backup (its start lies in the future), or null. */
    suspicious: z.string().nullable(),
    /** The last verification (verification.json), or null when never verified. */
    verification: verificationSchema.nullable(),
    /** The copies on remotes (remotes.json), one per remote. */
    remotes: z.array(remoteCopySchema),
  }),
});
export type ShowReport = z.infer<typeof showReportSchema>;

/** A Barman base backup as `list` shows it (`barman list-backups`). */
export const pitrBaseBackupSchema = z.object({
  id: z.string(),
  status: z.string(),
  /** When it ended (ISO); a recovery to a point needs a backup that ended before it. */
  ended_at: z.string().nullable(),
  bytes: z.number().int(),
  /** WAL kept for it (up to the next base backup). */
  wal_bytes: z.number().int(),
});
export type PitrBaseBackup = z.infer<typeof pitrBaseBackupSchema>;

/** `list` with a `pitr:` section: Barman's base backups, newest first, and the recoverable window. */
export const pitrListSchema = z.object({
  server: z.string(),
  barman_home: z.string(),
  backups: z.array(pitrBaseBackupSchema),
  window: z.object({ from: z.string().nullable(), to: z.string().nullable(), text: z.string() }),
  /** Why Barman could not be read (not installed, `pitr setup` never ran); null when it was. */
  error: z.string().nullable(),
});
export type PitrList = z.infer<typeof pitrListSchema>;

/** `show <BASE_BACKUP_ID>`: one base backup, from `barman show-backup`. */
export const pitrShowSchema = z.object({
  server: z.string(),
  id: z.string(),
  status: z.string(),
  postgresql_version: z.number().int().nullable(),
  pgdata: z.string().nullable(),
  timeline: z.number().int().nullable(),
  begin_time: z.string().nullable(),
  end_time: z.string().nullable(),
  begin_wal: z.string().nullable(),
  end_wal: z.string().nullable(),
  begin_lsn: z.string().nullable(),
  end_lsn: z.string().nullable(),
  bytes: z.number().int().nullable(),
  /** WAL from this backup to the next one: files, bytes, and the last segment Barman holds. */
  wal_files: z.number().int().nullable(),
  wal_bytes: z.number().int().nullable(),
  last_wal: z.string().nullable(),
  previous_backup: z.string().nullable(),
  next_backup: z.string().nullable(),
  retention: z.string().nullable(),
});
export type PitrShow = z.infer<typeof pitrShowSchema>;

/** Events a run can raise; `notify:` entries choose which they hear (`always`: every run). */
export const NOTIFY_EVENTS = ['success', 'failure', 'stale'] as const;
export type NotifyEvent = (typeof NOTIFY_EVENTS)[number];

/** Free space and how long it lasts, from the catalog (README, Staleness). */
export const storageSchema = z.object({
  /** Free bytes on the root's file system; null when it cannot be read. */
  free_bytes: z.number().nullable(),
  /** min_free_gb in bytes: the floor backups must leave free. */
  min_free_bytes: z.number(),
  /** Bytes held by complete sets, and how many complete sets of each kind there are. */
  used_bytes: z.number().int(),
  sets: z.object({ daily: z.number().int(), milestone: z.number().int(), config: z.number().int(), safety: z.number().int() }),
  incomplete_sets: z.number().int(),
  /** Average bytes of dailies per calendar day (all engines of a day together), from recent dailies. */
  daily_bytes_per_day: z.number().int().nullable(),
  /** How many days (each with at least one daily) the average is taken over. */
  sample_days: z.number().int(),
  /** How many complete dailies the average is taken over. */
  sample_sets: z.number().int(),
  /**
   * Days of dailies that still fit above the floor if nothing were pruned; null without free space or
   * before there are enough samples (3 dailies over 2 calendar days: storage.ts MIN_SAMPLE_*).
   */
  days_of_dailies: z.number().int().nullable(),
});
export type Storage = z.infer<typeof storageSchema>;

/** What happened to one `notify:` entry. The URL is never recorded (it carries a token). */
export const notificationSchema = z.object({
  kind: z.enum(NOTIFIER_KINDS),
  url_env: z.string(),
  /** The event (or `always`) that made this entry fire. */
  trigger: z.enum(['success', 'failure', 'stale', 'always']),
  delivered: z.boolean(),
  attempts: z.number().int(),
  /** Why it was not delivered. */
  error: z.string().nullable(),
});
export type Notification = z.infer<typeof notificationSchema>;

export const runResultSchema = z.object({
  tool: z.object({ name: z.string(), version: z.string() }),
  /** One of COMMANDS, or what was asked for when the request itself was invalid. */
  command: z.string(),
  status: z.enum(['success', 'failure', 'cancelled']),
  exit_code: z.number().int(),
  started_at: z.string(),
  finished_at: z.string(),
  duration_ms: z.number().int(),
  config_file: z.string().nullable(),
  root: z.string().nullable(),
  set: z
    .object({ id: z.string(), kind: z.enum(SET_KINDS), path: z.string(), bytes: z.number().int() })
    .nullable(),
  /** Per engine that took part, keyed by its name (postgres, tdengine, ...), in the registry's order. */
  engines: z.record(z.string(), engineReportSchema),
  sets: z.array(listEntrySchema).optional(),
  prune: pruneReportSchema.optional(),
  show: showReportSchema.optional(),
  /** list with a `pitr:` section: Barman's base backups and the recoverable window. */
  pitr: pitrListSchema.optional(),
  /** show <BASE_BACKUP_ID>: that base backup. */
  pitr_backup: pitrShowSchema.optional(),
  checks: z.array(checkSchema),
  free_bytes: z.number().nullable(),
  /** Free space and the storage estimate; null when the backup root is unknown or missing. */
  storage: storageSchema.nullable(),
  message: z.string(),
  warnings: z.array(z.string()),
  error: z
    .object({
      code: z.string(),
      message: z.string(),
      hint: z.string().nullable(),
      /** The last lines the failing tool printed on stderr, when the error carries them. */
      stderr_tail: z.array(z.string()).optional(),
    })
    .nullable(),
  /** The events this run raised: success or failure (cancelled counts as failure), and stale. */
  events: z.array(z.enum(NOTIFY_EVENTS)),
  /** status: the checks that found the backups stale (no recent complete set, verification too old or failed). */
  stale: z.array(z.string()),
  /** The machine the run ran on. */
  hostname: z.string(),
  /** The Actions run (GITHUB_SERVER_URL/GITHUB_REPOSITORY/actions/runs/GITHUB_RUN_ID), null outside Actions. */
  run_url: z.string().nullable(),
  /** One entry per `notify:` entry that fired. */
  notifications: z.array(notificationSchema),
  log_path: z.string().nullable(),
  report_path: z.string().nullable(),
});
export type RunResult = z.infer<typeof runResultSchema>;

/** What a command fills in; run.ts adds the rest. */
export type CommandOutcome = Partial<Pick<RunResult, 'set' | 'engines' | 'sets' | 'prune' | 'show' | 'pitr' | 'pitr_backup' | 'checks' | 'free_bytes' | 'stale'>> & {
  message: string;
  /** `sets` is a filtered part of the catalog (list --kind/--engine/--last): the storage estimate reads the whole catalog. */
  sets_filtered?: boolean;
  /** A command may report failure without throwing (e.g. status with a failed row). */
  failed?: boolean;
};
