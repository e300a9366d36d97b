/** Does a restore match its manifest? Pure: table by table, including missing and extra tables. */
import type { PgCountError, StableCount, TableCount } from './manifest.js';

/** One table's row count, as the manifest records it. */
export type Count = TableCount;

export interface Difference {
  table: string;
  /** null: the table is not in the manifest (extra). */
  expected: number | null;
  /** null: the table did not come back (missing), or its count failed (`error`). */
  restored: number | null;
  /** The restored database refused this table's count. */
  error?: string;
}

export function compareCounts(expected: Count[], restored: Count[]): Difference[] {
  const want = new Map(expected.map((c) => [c.name, c.rows]));
  const got = new Map(restored.map((c) => [c.name, c.rows]));
  const diffs: Difference[] = [];
  for (const [name, rows] of want) {
    const r = got.get(name);
    if (r === undefined) diffs.push({ table: name, expected: rows, restored: null });
    else if (r !== rows) diffs.push({ table: name, expected: rows, restored: r });
  }
  for (const [name, rows] of got) if (!want.has(name)) diffs.push({ table: name, expected: null, restored: rows });
  return diffs.sort((a, b) => a.table.localeCompare(b.table));
}

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

export function renderDifferences(diffs: Difference[]): string[] {
  const cells = diffs.map((d) => [d.table, d.expected === null ? '(not in manifest)' : String(d.expected), d.restored === null ? (d.error ? `(count failed: ${d.error})` : '(missing)') : String(d.restored)]);
  const head = ['TABLE', 'EXPECTED', 'RESTORED'];
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(head), ...cells.map(line)];
}

/**
 * TDengine counts as one list for compareCounts: each super table's rows, its number of child
 * tables, and each normal table's rows.
 */
export function tdengineCounts(c: { stables: StableCount[]; tables: Count[] }): Count[] {
  return [
    ...c.stables.map((s) => ({ name: `${s.name}`, rows: s.rows })),
    ...c.stables.map((s) => ({ name: `${s.name} (child tables)`, rows: s.child_tables })),
    ...c.tables,
  ];
}
