/**
 * Does a restore match its manifest? Pure: table by table, including missing and extra tables.
 * Engines turn their own counts into such lists (engines/pg-compare.ts, engines/tdengine/compare.ts).
 */
import type { TableCount } from './file-entry.js';

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

export function renderDifferences(diffs: Difference[]): string[] {
  const cells = diffs.map((d) => [d.table, d.expected === null ? '(not in manifest)' : String(d.expected), d.restored === null ? (d.error ? `(count failed: ${d.error})` : '(missing)') : String(d.restored)]);
  const head = ['TABLE', 'EXPECTED', 'RESTORED'];
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(head), ...cells.map(line)];
}

/** Kept here for the PostgreSQL restore and its tests, which import it from this module. */
