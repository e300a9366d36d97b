/**
 * pg_dump's archive format and compression (postgres.format, postgres.compress, postgres.dump_jobs):
 * the arguments for the client found, and what a set records. pg_dump 16 took `--compress=method[:level]`
 * and added lz4 and zstd; pg_dump 15 and older know only `-Z 0-9` (gzip levels, 0 = none).
 * A set without `format` in its manifest is a custom-format archive with pg_dump's default compression.
 */
import { UsageError } from '../../errors.js';
import type { PostgresConfig, PostgresSection } from './schema.js';
import type { PgVersion } from './versions.js';
import { COMPRESS_SINCE, parseCompress, type DumpFormat } from './compress.js';

export { parseCompress, compressProblem, type CompressSpec, type DumpFormat } from './compress.js';

/** The client cannot write the configured compression: exit 2 before anything is dumped. */
export function requireCompressSupport(cfg: Pick<PostgresConfig, 'compress'>, client: PgVersion, pgDump: string): void {
  if (cfg.compress === undefined) return;
  const spec = parseCompress(cfg.compress)!;
  const since = COMPRESS_SINCE[spec.method];
  if (client.major >= since) return;
  throw new UsageError('postgres.compress_unsupported', `postgres.compress is ${cfg.compress}, but ${spec.method} needs pg_dump ${since} or newer and the pg_dump found is ${client.text} (${pgDump})`, {
    hint: `Install the PostgreSQL ${since}+ client (Debian/Ubuntu: apt install postgresql-client-17 from apt.postgresql.org) and set postgres.bin_dir to it, or use gzip (postgres.compress: gzip:6) or none. Nothing was dumped.`,
  });
}

/** pg_dump's compression argument for this client; none for pg_dump's default. */
export function compressArgs(compress: string | undefined, client: PgVersion): string[] {
  if (compress === undefined) return [];
  const spec = parseCompress(compress)!;
  if (client.major >= 16) return [`--compress=${compress}`];
  // pg_dump 15 and older: -Z level is gzip, -Z 0 none; plain "gzip" is their default.
  if (spec.method === 'none') return ['-Z', '0'];
  return spec.level === null ? [] : ['-Z', String(spec.level)];
}

/** Where pg_dump writes in the staging folder: a file, or a folder pg_dump creates. */
export function archiveName(cfg: Pick<PostgresConfig, 'database' | 'format'>): string {
  return cfg.format === 'directory' ? `${cfg.database}.dir` : `${cfg.database}.dump`;
}

/** -Fc or -Fd (with -j for a directory), and the compression. */
export function formatArgs(cfg: Pick<PostgresConfig, 'format' | 'compress' | 'dump_jobs'>, client: PgVersion): string[] {
  const format = cfg.format === 'directory' ? ['-Fd', ...(cfg.dump_jobs && cfg.dump_jobs > 1 ? ['-j', String(cfg.dump_jobs)] : [])] : ['-Fc'];
  return [...format, ...compressArgs(cfg.compress, client)];
}

/** A set's format: sets written before the option (no `format`) are custom-format archives. */
export function setFormat(section: Pick<PostgresSection, 'format'>): DumpFormat {
  return section.format ?? 'custom';
}

/**
 * The archive pg_restore reads, relative to the set folder: the one file of a custom-format set, the
 * folder holding every file of a directory-format set (the first part of each file's path).
 */
export function archiveRel(section: Pick<PostgresSection, 'format' | 'files'>): string {
  const first = section.files[0]!.path;
  if (setFormat(section) === 'custom') return first;
  return first.split('/')[0]!;
}

/** For logs and reports: "custom, zstd:3" / "directory, default compression, 4 jobs". */
export function describeOptions(section: Pick<PostgresSection, 'format' | 'compress' | 'dump_jobs'>): string {
  const jobs = section.dump_jobs && section.dump_jobs > 1 ? `, ${section.dump_jobs} jobs` : '';
  return `${setFormat(section)}, ${section.compress ?? 'default compression'}${jobs}`;
}
