/** TDengine's counts as one list for the generic comparison. Pure. */
import type { Count } from '../../catalog/compare.js';
import type { StableCount } from './schema.js';

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
