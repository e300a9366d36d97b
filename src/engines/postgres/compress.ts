/** pg_dump's compression specifications (postgres.compress), parsed. A leaf module: the config schema uses it. */

export type DumpFormat = 'custom' | 'directory';
export type CompressMethod = 'none' | 'gzip' | 'lz4' | 'zstd';

export interface CompressSpec {
  method: CompressMethod;
  level: number | null;
}

/** The levels each method takes (pg_dump's own limits). */
export const COMPRESS_LEVELS: Record<Exclude<CompressMethod, 'none'>, [number, number]> = { gzip: [1, 9], lz4: [1, 12], zstd: [1, 22] };
/** The first pg_dump that knows the method (gzip and none: every supported one). */
export const COMPRESS_SINCE: Record<CompressMethod, number> = { none: 0, gzip: 0, lz4: 16, zstd: 16 };

/** "zstd:3" -> zstd level 3; "none"; "gzip". Null when it is not one of those. */
export function parseCompress(text: string): CompressSpec | null {
  const m = /^(none|gzip|lz4|zstd)(?::(\d{1,2}))?$/.exec(text);
  if (!m) return null;
  const method = m[1] as CompressMethod;
  if (m[2] === undefined) return { method, level: null };
  if (method === 'none') return null;
  const level = Number(m[2]);
  const [lo, hi] = COMPRESS_LEVELS[method];
  return level >= lo && level <= hi ? { method, level } : null;
}

/** Why `text` is not a compression pg_dump takes, or null. */
export function compressProblem(text: string): string | null {
  if (parseCompress(text)) return null;
  return `must be none, gzip[:1-9], lz4[:1-12] or zstd[:1-22] (got ${JSON.stringify(text)})`;
}

