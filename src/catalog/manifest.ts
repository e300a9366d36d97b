/**
 * manifest.json: what makes a set exist. Written last, validated first, copied then renamed,
 * so a reader sees either no manifest or a whole one (pgBackRest's backup.manifest works the same).
 */
import path from 'node:path';
import { z } from 'zod';
import { SET_KINDS } from './labels.js';
import { readFileNoFollow } from './set-files.js';
import { writeFileAtomic } from '../shared/atomic-file.js';

export const MANIFEST_FILE = 'manifest.json';
/**
 * 2: PostgreSQL table names are quoted where SQL would need it (`market."daily.adj"`), entries carry
 * `schema` and `table`, counts use ONLY (hypertables excepted) and include extension config tables.
 * 1: names were `schema.table` unquoted and counts included inheritance children. Both are read;
 * a set is compared with counts taken by the rules of its own format (engines/postgres/counts.ts).
 */
export const MANIFEST_FORMAT = 2;
export const MANIFEST_FORMATS = [1, 2] as const;
export type ManifestFormat = (typeof MANIFEST_FORMATS)[number];

const fileEntry = z.strictObject({
  /** Relative to the set folder, "/"-separated. */
  path: z.string().min(1),
  bytes: z.number().int().min(0),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});

const tableCount = z.strictObject({ name: z.string().min(1), rows: z.number().int().min(0) });

/** A PostgreSQL table's count. `name` is the key compared; format 1 entries have only name and rows. */
const pgTableCount = z.strictObject({
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
const pgCountError = z.strictObject({
  name: z.string().min(1),
  schema: z.string(),
  table: z.string(),
  /** The server's error, SQLSTATE first. */
  error: z.string(),
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
  files: z.array(fileEntry).min(1),
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
});

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
  files: z.array(fileEntry).min(1),
  stables: z.array(z.strictObject({ name: z.string(), child_tables: z.number().int().min(0), rows: z.number().int().min(0) })),
  tables: z.array(tableCount),
  /** As for postgres: 'unknown' for an imported dump (stables and tables are [], end_time is the best known dump time). */
  row_counts: z.enum(['exact', 'unknown']).optional(),
});

export const configSection = z.strictObject({
  base_dir: z.string(),
  paths: z.array(z.string()),
  content_sha256: z.string(),
  files: z.array(fileEntry).min(1),
});

export const gitInfo = z
  .strictObject({
    sha: z.string().nullable(),
    ref: z.string().nullable(),
    tag: z.string().nullable(),
    actor: z.string().nullable(),
    run_id: z.string().nullable(),
    run_url: z.string().nullable(),
  })
  .nullable();

export const manifestSchema = z.strictObject({
  format: z.literal(MANIFEST_FORMATS),
  id: z.string(),
  kind: z.enum(SET_KINDS),
  milestone: z.string().nullable(),
  status: z.literal('complete'),
  started_at: z.string(),
  finished_at: z.string(),
  timezone: z.string(),
  tool: z.strictObject({ name: z.literal('pgtaos-backup'), version: z.string() }),
  hostname: z.string(),
  git: gitInfo,
  bytes: z.number().int().min(0),
  postgres: postgresSection.optional(),
  tdengine: tdengineSection.optional(),
  config: configSection.optional(),
  /** For imported sets: where the files came from. */
  imported_from: z.array(z.string()).optional(),
});

/** The manifest's per-engine sections (config snapshots count as one): what retention groups by. */
export const sectionName = manifestSchema.keyof().extract(['postgres', 'tdengine', 'config']);
export type SectionName = z.infer<typeof sectionName>;

export type Manifest = z.infer<typeof manifestSchema>;
export type FileEntry = z.infer<typeof fileEntry>;
export type TableCount = z.infer<typeof tableCount>;
export type PgTableCount = z.infer<typeof pgTableCount>;
export type PgCountError = z.infer<typeof pgCountError>;
export type StableCount = TdengineSection['stables'][number];
export type PostgresSection = z.infer<typeof postgresSection>;
export type TdengineSection = z.infer<typeof tdengineSection>;
export type GitInfo = z.infer<typeof gitInfo>;

/** Every file a manifest lists, whatever engine wrote it. */
export function manifestFiles(m: Manifest): FileEntry[] {
  return [...(m.postgres?.files ?? []), ...(m.tdengine?.files ?? []), ...(m.config?.files ?? [])];
}

export async function writeManifest(dir: string, manifest: Manifest): Promise<void> {
  const valid = manifestSchema.parse(manifest);
  await writeFileAtomic(path.join(dir, MANIFEST_FILE), `${JSON.stringify(valid, null, 2)}\n`);
}

export type ManifestRead = { ok: true; manifest: Manifest } | { ok: false; reason: string };

/** Reads and validates a set's manifest; a missing, truncated or edited one is reported, not thrown. */
export async function readManifest(dir: string): Promise<ManifestRead> {
  let text: string;
  try {
    text = await readFileNoFollow(path.join(dir, MANIFEST_FILE));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') return { ok: false, reason: 'manifest.json is a symbolic link; links are not followed' };
    return { ok: false, reason: code === 'ENOENT' ? 'no manifest.json' : `cannot read manifest.json: ${(err as Error).message}` };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'manifest.json is not valid JSON (truncated or edited?)' };
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    return { ok: false, reason: `manifest.json does not match the format: ${first?.path.join('.') || '(root)'}: ${first?.message}` };
  }
  return { ok: true, manifest: parsed.data };
}
