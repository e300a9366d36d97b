/** Does a restore match its manifest? Pure: table by table, including missing and extra tables. */
import type { StableCount, TableCount } from './manifest.js';

/** One table's row count, as the manifest records it. */
export type Count = TableCount;

export interface Difference {
  table: string;
  /** null: the table is not in the manifest (extra). */
  expected: number | null;
  /** null: the table did not come back (missing). */
  restored: number | null;
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

export function renderDifferences(diffs: Difference[]): string[] {
  const cells = diffs.map((d) => [d.table, d.expected === null ? '(not in manifest)' : String(d.expected), d.restored === null ? '(missing)' : String(d.restored)]);
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
