/**
 * One table back: which entries of an archive's table of contents (`pg_restore --list --verbose`)
 * restore just some tables with what hangs on them. Pure.
 *
 * A table's TABLE entry is picked by name; then, through the ";\tdepends on:" lines the verbose
 * listing prints under each entry, every entry that depends on a picked one, transitively: its
 * TABLE DATA, indexes, constraints, foreign keys, defaults, triggers, comments, grants, and the
 * sequences it owns (pg_dump makes an owned sequence depend on its table) with their SEQUENCE
 * OWNED BY and SEQUENCE SET, so a serial column's sequence comes back at its dumped value.
 */

/** One entry of the table of contents: its dump id, its line (as `-L` reads it) and what it depends on. */
export interface TocEntry {
  id: number;
  line: string;
  type: string;
  schema: string;
  name: string;
  deps: number[];
}

/** Entry types whose first words after the ids name the object (longest first: "TABLE DATA" before "TABLE"). */
const TYPES = ['SEQUENCE OWNED BY', 'SEQUENCE SET', 'FK CONSTRAINT', 'TABLE DATA', 'INDEX ATTACH', 'DEFAULT ACL', 'MATERIALIZED VIEW', 'TABLE', 'SEQUENCE', 'INDEX', 'CONSTRAINT', 'DEFAULT', 'TRIGGER', 'COMMENT', 'ACL', 'POLICY', 'RULE', 'ROW SECURITY', 'STATISTICS'];

/** What comes along with a picked table; never another table, its data, a view or a function (not asked for). */
const FOLLOWS = new Set(['TABLE DATA', 'SEQUENCE', 'SEQUENCE OWNED BY', 'SEQUENCE SET', 'FK CONSTRAINT', 'INDEX', 'CONSTRAINT', 'DEFAULT', 'TRIGGER', 'COMMENT', 'ACL', 'POLICY', 'RULE', 'ROW SECURITY', 'STATISTICS']);

/** Reads the entries of `pg_restore --list --verbose`; lines of types it does not know keep type "OTHER". */
export function parseToc(lines: string[]): TocEntry[] {
  const entries: TocEntry[] = [];
  for (const line of lines) {
    const dep = /^;\s+depends on:\s*([\d\s]+)$/.exec(line);
    if (dep && entries.length > 0) {
      entries[entries.length - 1]!.deps.push(...dep[1]!.trim().split(/\s+/).map(Number));
      continue;
    }
    const m = /^(\d+);\s+\d+\s+\d+\s+(.*)$/.exec(line);
    if (!m) continue;
    const rest = m[2]!;
    const type = TYPES.find((t) => rest.startsWith(`${t} `)) ?? 'OTHER';
    const [schema = '', name = ''] = type === 'OTHER' ? [] : rest.slice(type.length + 1).split(/\s+/);
    entries.push({ id: Number(m[1]), line, type, schema, name, deps: [] });
  }
  return entries;
}

/** What `tables` (schema.name) select: the `-L` lines, in the archive's order, and the names the archive has no table for. */
export function selectTables(entries: TocEntry[], tables: string[]): { lines: string[]; missing: string[] } {
  const { picked, missing } = pickTables(entries, tables);
  return { lines: entries.filter((e) => picked.has(e.id)).map((e) => e.line), missing };
}

/** The dump ids of the tables' entries and of everything that hangs on them. */
function pickTables(entries: TocEntry[], tables: string[]): { picked: Set<number>; missing: string[] } {
  const wanted = new Set(tables);
  const tableIds = new Set(entries.filter((e) => e.type === 'TABLE' && wanted.has(`${e.schema}.${e.name}`)).map((e) => e.id));
  const found = new Set(entries.filter((e) => tableIds.has(e.id)).map((e) => `${e.schema}.${e.name}`));
  const missing = tables.filter((t) => !found.has(t));
  const picked = new Set(tableIds);
  // What depends on a picked table (and, transitively, on what was picked for it: an index's comment).
  for (let grew = true; grew; ) {
    grew = false;
    for (const e of entries) {
      if (picked.has(e.id) || !FOLLOWS.has(e.type) || !e.deps.some((d) => picked.has(d))) continue;
      picked.add(e.id);
      grew = true;
    }
  }
  return { picked, missing };
}

/**
 * A side copy of `tables` (restore --as-schema): their entries, with only the foreign keys between
 * them. A foreign key to a table not chosen, or another table's foreign key to one, has a dependency
 * outside the chosen entries: it is left out, and named.
 */
export function sideCopyList(entries: TocEntry[], tables: string[]): { lines: string[]; missing: string[]; foreignKeys: string[] } {
  const { picked, missing } = pickTables(entries, tables);
  const out = (e: TocEntry) => e.type === 'FK CONSTRAINT' && e.deps.some((d) => !picked.has(d));
  const chosen = entries.filter((e) => picked.has(e.id));
  return { lines: chosen.filter((e) => !out(e)).map((e) => e.line), missing, foreignKeys: chosen.filter(out).map((e) => `${e.schema}.${e.name} ${e.line.split(/\s+/)[7] ?? ''}`.trim()) };
}

/** Whether the archive creates a schema of this name (its `SCHEMA - name` entry). */
export function archiveHasSchema(entries: TocEntry[], schema: string): boolean {
  return entries.some((e) => e.type === 'OTHER' && new RegExp(`^\\d+;\\s+\\d+\\s+\\d+\\s+SCHEMA - ${schema} `).test(e.line));
}

/**
 * The `-L` lines of a set holding only some tables (a table restore's safety set) for a scratch
 * restore: all but its foreign keys, which point at tables the set does not hold.
 */
export function withoutForeignKeys(entries: TocEntry[]): { lines: string[]; left: number } {
  const keep = entries.filter((e) => e.type !== 'FK CONSTRAINT');
  return { lines: keep.map((e) => e.line), left: entries.length - keep.length };
}
