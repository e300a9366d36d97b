/** PostgreSQL's comparison of a restored database with its manifest section. Pure. */
import { compareCounts, type Count, type Difference } from '../../catalog/compare.js';
import type { PgCountError } from './schema.js';

/** A table the backup could not count: restored, but there is nothing to compare it with. */
export interface NotCompared {
  table: string;
  /** Its restored count; null when it did not come back or could not be counted there either. */
  restored: number | null;
  /** Why the backup has no count (the server's error). */
  reason: string;
}

/**
 * A PostgreSQL section against the restored database's counts (taken by the same format's rules).
 * Tables the backup could not count are set apart, not compared; a table the restored database
 * could not count is a difference.
 */
export function comparePostgres(
  expected: { tables: Count[]; count_errors?: PgCountError[] },
  restored: { tables: Count[]; errors: { name: string; error: string }[] },
): { diffs: Difference[]; notCompared: NotCompared[] } {
  const uncounted = new Map((expected.count_errors ?? []).map((e) => [e.name, e.error]));
  const got = new Map(restored.tables.map((t) => [t.name, t.rows]));
  const failed = new Map(restored.errors.map((e) => [e.name, e.error]));
  const diffs = compareCounts(expected.tables, restored.tables.filter((t) => !uncounted.has(t.name))).map((d) => (failed.has(d.table) ? { ...d, error: failed.get(d.table)! } : d));
  const notCompared = [...uncounted].map(([table, reason]) => ({ table, restored: got.get(table) ?? null, reason }));
  return { diffs, notCompared };
}
