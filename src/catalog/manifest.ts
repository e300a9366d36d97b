/**
 * manifest.json: what makes a set exist. Written last, validated first, copied then renamed,
 * so a reader sees either no manifest or a whole one (pgBackRest's backup.manifest works the same).
 */
import path from 'node:path';
import { z } from 'zod';
import { SET_KINDS } from './labels.js';
import { readFileNoFollow } from './set-files.js';
import { writeFileAtomic } from '../shared/atomic-file.js';
import { fileEntrySchema, type FileEntry, type TableCount } from './file-entry.js';
import { postgresSection, type PgCountError, type PgTableCount, type PostgresSection } from '../engines/postgres/schema.js';
import { tdengineSection, type StableCount, type TdengineSection } from '../engines/tdengine/schema.js';
import { enginePlugins, memoByRegistry } from '../engines/registry.js';

export { postgresSection, tdengineSection };
export type { FileEntry, PgCountError, PgTableCount, PostgresSection, StableCount, TableCount, TdengineSection };

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

export const configSection = z.strictObject({
  base_dir: z.string(),
  paths: z.array(z.string()),
  content_sha256: z.string(),
  files: z.array(fileEntrySchema).min(1),
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

/** The built-in sections (config snapshots count as one); sectionNames() gives a manifest's own, registered engines included. */
export const sectionName = manifestSchema.keyof().extract(['postgres', 'tdengine', 'config']);
/** What retention groups by: a section's name (any registered engine's, or config). */
export type SectionName = string;

export type Manifest = z.infer<typeof manifestSchema>;
export type GitInfo = z.infer<typeof gitInfo>;

/** Keys of a manifest that are not sections (engine dumps and the config snapshot are). */
const HEADER_KEYS: ReadonlySet<string> = new Set(Object.keys(manifestSchema.shape).filter((k) => !(sectionName.options as readonly string[]).includes(k)));
/** The config snapshot's section: a section, but no engine's. */
export const CONFIG_SECTION = 'config';

/**
 * The schema a manifest is read and written with: the static one, each registered engine's
 * section added (optional), so sets of an engine registered at run time are read like the built-ins'.
 */
export const manifestSchemaFor: () => z.ZodType<Manifest> = memoByRegistry(() => {
  // Engine sections before the config snapshot's, as in the static schema.
  const shape: Record<string, z.ZodType> = {};
  for (const [key, value] of Object.entries(manifestSchema.shape)) {
    if (key === CONFIG_SECTION) for (const p of enginePlugins()) shape[p.name] = p.manifestSchema.optional();
    shape[key] = value;
  }
  // The static type covers the built-ins; other engines' sections are reached with manifestSection().
  return z.strictObject(shape) as unknown as z.ZodType<Manifest>;
});

/** A section of a manifest by name (unknown: the section's own schema validated it), or undefined. */
export function manifestSection(m: Manifest, name: string): unknown {
  return (m as Record<string, unknown>)[name];
}

/** The manifest with the engines' sections added, in the order given (the registry's). */
export function withSections(m: Manifest, sections: ReadonlyArray<readonly [string, unknown]>): Manifest {
  const out: Record<string, unknown> = { ...m };
  for (const [name, section] of sections) out[name] = section;
  return out as Manifest;
}

/** The names of the sections a manifest holds (engines' and the config snapshot's), in its order. */
export function sectionNames(m: Manifest): string[] {
  return Object.keys(m).filter((k) => !HEADER_KEYS.has(k) && manifestSection(m, k) !== undefined);
}

/** The engines whose dumps a manifest holds, in its order. */
export function engineNames(m: Manifest): string[] {
  return sectionNames(m).filter((k) => k !== CONFIG_SECTION);
}

/** The database each engine's section was dumped from, by engine name (every engine section records one). */
export function engineDatabases(m: Manifest): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of engineNames(m)) {
    const section = manifestSection(m, name);
    if (typeof section === 'object' && section !== null && 'database' in section && typeof section.database === 'string') out[name] = section.database;
  }
  return out;
}

/** Every file a manifest lists, whatever engine wrote it: every section lists its files. */
export function manifestFiles(m: Manifest): FileEntry[] {
  return sectionNames(m).flatMap((k) => sectionFiles(manifestSection(m, k)));
}

function sectionFiles(section: unknown): FileEntry[] {
  if (typeof section !== 'object' || section === null || !('files' in section) || !Array.isArray(section.files)) return [];
  return section.files as FileEntry[];
}

export async function writeManifest(dir: string, manifest: Manifest): Promise<void> {
  const valid = manifestSchemaFor().parse(manifest);
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
  const parsed = manifestSchemaFor().safeParse(json);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    return { ok: false, reason: `manifest.json does not match the format: ${first?.path.join('.') || '(root)'}: ${first?.message}` };
  }
  return { ok: true, manifest: parsed.data };
}
