/**
 * The result object every command returns, the same for the CLI (--json) and the action
 * (report-path). Its schema is the contract for scripts that read reports.
 */
import { z } from 'zod';
import { SET_KINDS } from '../catalog/labels.js';

export const checkSchema = z.object({
  name: z.string(),
  result: z.enum(['passed', 'failed', 'skipped']),
  detail: z.string(),
});
export type Check = z.infer<typeof checkSchema>;

export const listEntrySchema = z.object({
  id: z.string(),
  kind: z.enum(SET_KINDS),
  milestone: z.string().nullable(),
  status: z.enum(['complete', 'incomplete']),
  created_at: z.string().nullable(),
  path: z.string(),
  bytes: z.number().int(),
  verified_at: z.string().nullable(),
  verification: z.enum(['passed', 'failed']).nullable(),
  engines: z.array(z.string()),
  reason: z.string().nullable(),
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
  reason: z.string(),
  bytes: z.number().int(),
});
export type PruneDecision = z.infer<typeof pruneDecisionSchema>;

/** What prune decided (and, unless dry_run, did). */
export const pruneReportSchema = z.object({
  dry_run: z.boolean(),
  decisions: z.array(pruneDecisionSchema),
  /** Bytes removed; with dry_run, bytes that would be removed. */
  freed_bytes: z.number().int(),
});
export type PruneReport = z.infer<typeof pruneReportSchema>;

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
  engines: z.object({ postgres: engineReportSchema.optional(), tdengine: engineReportSchema.optional() }),
  sets: z.array(listEntrySchema).optional(),
  prune: pruneReportSchema.optional(),
  checks: z.array(checkSchema),
  free_bytes: z.number().nullable(),
  message: z.string(),
  warnings: z.array(z.string()),
  error: z.object({ code: z.string(), message: z.string(), hint: z.string().nullable() }).nullable(),
  log_path: z.string().nullable(),
  report_path: z.string().nullable(),
});
export type RunResult = z.infer<typeof runResultSchema>;

/** What a command fills in; run.ts adds the rest. */
export type CommandOutcome = Partial<Pick<RunResult, 'set' | 'engines' | 'sets' | 'prune' | 'checks' | 'free_bytes'>> & {
  message: string;
  /** A command may report failure without throwing (e.g. status with a failed row). */
  failed?: boolean;
};
