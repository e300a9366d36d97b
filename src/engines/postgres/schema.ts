/** PostgreSQL's config section and manifest section. A leaf module (zod and compress.ts only), so the config and catalog can type them. */
import { z } from 'zod';
import { fileEntrySchema } from '../../catalog/file-entry.js';
import { absOrRelPath, dbName, host, port } from '../../inputs/fields.js';
import { compressProblem, parseCompress } from './compress.js';

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
  /** Seconds between the "written so far" lines of a running pg_dump (fractions allowed). */
  progress_seconds: z.number().min(0.05, 'must be at least 0.05 (seconds)').max(3600).default(5),
  /** pg_dump's archive format: one file (-Fc, the runbook's; also when absent) or a folder (-Fd, which can be dumped in parallel). */
  format: z.enum(['custom', 'directory']).optional(),
  /** pg_dump's compression: none, gzip[:1-9], lz4[:1-12], zstd[:1-22] (lz4 and zstd: pg_dump 16+). Absent: pg_dump's default. */
  compress: z.string().refine((s) => parseCompress(s) !== null, { error: (iss) => compressProblem(String(iss.input)) ?? 'invalid' }).optional(),
  /** pg_dump -j: the directory format only. */
  dump_jobs: z.number().int().min(1).max(64).optional(),
  /**
   * Keep the roles' password hashes in the set's globals.sql (pg_dumpall without --no-role-passwords).
   * Needs a superuser; the file is 0600 and the set leaves the machine only age-encrypted.
   */
  globals_password_hashes: z.boolean().default(false),
}).superRefine((cfg, ctx) => {
  if (cfg.dump_jobs !== undefined && cfg.format !== 'directory') {
    ctx.addIssue({ code: 'custom', path: ['dump_jobs'], message: `needs format: directory (pg_dump -j cannot write a custom-format archive); remove dump_jobs or set postgres.format: directory` });
  }
});
export type PostgresConfig = z.infer<typeof postgresSchema>;

/** A PostgreSQL table's count. `name` is the key compared; format 1 entries have only name and rows. */
export const pgTableCount = z.strictObject({
  name: z.string().min(1),
  rows: z.number().int().min(0),
  schema: z.string().optional(),
  table: z.string().optional(),
  /** A hypertable: counted without ONLY, so the count covers its chunks (which are not listed themselves). */
  hypertable: z.literal(true).optional(),
  /** An extension's config table dumped with a filter (pg_extension.extcondition): counted with the same filter. */
  filter: z.string().optional(),
});

/** A table whose count the server refused: the dump has it, the manifest has no count for it. */
export const pgCountError = z.strictObject({
  name: z.string().min(1),
  schema: z.string(),
  table: z.string(),
  /** The server's error, SQLSTATE first. */
  error: z.string(),
});

/** The cluster's roles and tablespaces (`pg_dumpall --globals-only`), a file of the set (listed in `files` too, with its checksum). */
export const pgGlobals = z.strictObject({
  /** The file, relative to the set; also one of the section's `files`. */
  path: z.string().min(1),
  /** true: the file holds password hashes (0600; copied to remotes only age-encrypted). */
  password_hashes: z.boolean(),
  roles: z.array(z.string()),
  tablespaces: z.array(z.string()),
});

export const postgresSection = z.strictObject({
  server_version: z.string(),
  client_version: z.string(),
  database: z.string(),
  host: z.string(),
  port: z.number().int(),
  /** pg_dump custom archive version, e.g. "1.15" (pg_restore older than the writer cannot read it). */
  archive_version: z.string().nullable(),
  database_bytes: z.number().int().min(0).nullable(),
  snapshot: z.string().nullable(),
  extensions: z.array(z.strictObject({ name: z.string(), version: z.string() })),
  large_objects: z.number().int().min(0),
  files: z.array(fileEntrySchema).min(1),
  tables: z.array(pgTableCount),
  /**
   * Tables pg_dump dumped but whose count failed (the set is kept: the dump is whole). Verify restores
   * them and reports their restored counts, but cannot compare them.
   */
  count_errors: z.array(pgCountError).optional(),
  /**
   * Absent or 'exact': `tables` holds every table's exact row count, taken on the dump's snapshot.
   * 'unknown': no counts were taken (an imported dump: `tables` is [] and large_objects 0), so a
   * verification can restore the set and check its tables exist, but cannot compare counts.
   */
  row_counts: z.enum(['exact', 'unknown']).optional(),
  /** Imported dumps: the tables whose data the archive holds (TABLE DATA entries of `pg_restore --list`), schema-qualified. */
  archive_tables: z.array(z.string()).optional(),
  /** pg_dump's format; absent (sets written before the option): custom. A directory set lists every file of its folder. */
  format: z.enum(['custom', 'directory']).optional(),
  /** postgres.compress as dumped; absent: pg_dump's default (gzip). */
  compress: z.string().optional(),
  /** pg_dump -j of a directory-format dump. */
  dump_jobs: z.number().int().min(1).optional(),
  /**
   * A safety set of a table restore: pg_dump -t of just these tables (as the target held them), so
   * `tables` lists only them and large objects are left out. Absent: the whole database.
   */
  only_tables: z.array(z.string()).optional(),
  /** Absent in sets made before globals were kept, and in imported sets. */
  globals: pgGlobals.optional(),
  /**
   * Where the dump's snapshot lies in the WAL (point-in-time recovery's default target): the LSN read
   * right after the snapshot was exported, and the named restore point created there (null when the
   * role may not create one). Absent in older manifests and when the server is a standby.
   */
  wal: z.strictObject({ lsn: z.string(), restore_point: z.string().nullable(), at: z.string() }).optional(),
});

export type PgTableCount = z.infer<typeof pgTableCount>;
export type PgCountError = z.infer<typeof pgCountError>;
export type PgGlobals = z.infer<typeof pgGlobals>;
export type PostgresSection = z.infer<typeof postgresSection>;
