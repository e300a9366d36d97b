/** TDengine's config section and manifest section. A leaf module (zod only), so the config and catalog can type them. */
import { z } from 'zod';
import { fileEntrySchema, tableCountSchema } from '../../catalog/file-entry.js';
import { absOrRelPath, dbName, host, port } from '../../inputs/fields.js';

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
export type TdengineConfig = z.infer<typeof tdengineSchema>;

export const tdengineSection = z.strictObject({
  server_version: z.string(),
  client_version: z.string(),
  database: z.string(),
  host: z.string(),
  port: z.number().int(),
  precision: z.string().nullable(),
  /**
   * The run's start: `stables`/`tables` count the rows up to it (rows written during the dump
   * cannot upset them). Sets made before rows_after_end_time existed did not dump rows after it (taosdump -E).
   */
  end_time: z.string(),
  /** Rows dated after end_time that the dump holds (future-dated calendars, scheduled events); absent: none. */
  rows_after_end_time: z.number().int().min(0).optional(),
  files: z.array(fileEntrySchema).min(1),
  stables: z.array(z.strictObject({ name: z.string(), child_tables: z.number().int().min(0), rows: z.number().int().min(0) })),
  tables: z.array(tableCountSchema),
  /** As for postgres: 'unknown' for an imported dump (stables and tables are [], end_time is the best known dump time). */
  row_counts: z.enum(['exact', 'unknown']).optional(),
});
export type TdengineSection = z.infer<typeof tdengineSection>;
export type StableCount = TdengineSection['stables'][number];
