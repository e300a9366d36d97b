import { describe, expect, it } from 'vitest';
import { parseToc, selectTables } from '../../src/engines/postgres/table-select.js';
import { checkTableNames, tablesRollback } from '../../src/engines/postgres/restore-tables.js';

/** Part of a real `pg_restore --list --verbose` (PostgreSQL 15) of the market-data fixture. */
const TOC = `;
; Archive created at 2026-12-06 12:06:37 UTC
215; 1259 16403 TABLE public stocks postgres
219; 1259 16431 TABLE public reports postgres
3416; 0 0 COMMENT public COLUMN reports.pdf postgres
;\tdepends on: 219
218; 1259 16430 SEQUENCE public reports_id_seq postgres
;\tdepends on: 219
3417; 0 0 SEQUENCE OWNED BY public reports_id_seq postgres
;\tdepends on: 218
220; 1259 16440 TABLE public child postgres
;\tdepends on: 219
221; 1259 16450 VIEW public v postgres
;\tdepends on: 219
3229; 2604 16434 DEFAULT public reports id postgres
;\tdepends on: 218 219 219
3399; 0 16403 TABLE DATA public stocks postgres
;\tdepends on: 215
3400; 0 16431 TABLE DATA public reports postgres
;\tdepends on: 219
3419; 0 0 SEQUENCE SET public reports_id_seq postgres
;\tdepends on: 218
3232; 2606 16410 CONSTRAINT public stocks stocks_pkey postgres
;\tdepends on: 215
3241; 2606 16438 CONSTRAINT public reports reports_pkey postgres
;\tdepends on: 219
3250; 2606 16439 FK CONSTRAINT public reports reports_symbol_fkey postgres
;\tdepends on: 3232 219 215`.split('\n');

describe('selectTables', () => {
  it('picks the table with its data, comment, owned sequence (and its value), default and keys; not another table, a view or another table\'s keys', () => {
    const { lines, missing } = selectTables(parseToc(TOC), ['public.reports']);
    expect(missing).toEqual([]);
    expect(lines.map((l) => Number(l.split(';')[0]))).toEqual([219, 3416, 218, 3417, 3229, 3400, 3419, 3241, 3250]);
  });

  it('names the tables the archive does not hold', () => {
    expect(selectTables(parseToc(TOC), ['public.stocks', 'public.nosuch', 'public.v']).missing).toEqual(['public.nosuch', 'public.v']);
  });
});

describe('checkTableNames', () => {
  it('refuses a name without a schema and a table the manifest does not list', () => {
    expect(() => checkTableNames(['reports'], ['public.reports'], 's1')).toThrow(/not schema\.table/);
    expect(() => checkTableNames(['public.reports', 'public.x'], ['public.reports'], 's1')).toThrow('set s1 holds no table public.x');
    expect(() => checkTableNames(['public.reports'], ['public.reports'], 's1')).not.toThrow();
  });

  it('the roll-back names every table', () => {
    expect(tablesRollback('safe1', ['a.b', 'c.d'], [], 'db')).toBe('pgtaos-backup restore safe1 --table a.b --table c.d --target db --confirm db');
    // A table the target did not have is dropped, after the others are back (their old keys cannot point at it).
    expect(tablesRollback('safe1', ['a.b'], ['c.d', "e.\"it's\""], 'db')).toBe(`pgtaos-backup restore safe1 --table a.b --target db --confirm db && psql -d db -c 'DROP TABLE c.d, e."it'\\''s"'`);
    expect(tablesRollback(null, [], ['c.d'], 'db')).toBe("psql -d db -c 'DROP TABLE c.d'");
  });
});

describe('checkTableOptions', () => {
  it('--table goes with a PostgreSQL dump only, and not with --with-globals', async () => {
    const { checkTableOptions } = await import('../../src/commands/restore.js');
    expect(() => checkTableOptions({ tables: ['a.b'], withGlobals: false }, 'tdengine')).toThrow(/restores PostgreSQL tables/);
    expect(() => checkTableOptions({ tables: ['a.b'], withGlobals: true }, 'postgres')).toThrow(/--with-globals/);
    expect(() => checkTableOptions({ tables: ['a.b'], withGlobals: false }, 'postgres')).not.toThrow();
    expect(() => checkTableOptions({ tables: [], withGlobals: true }, 'tdengine')).not.toThrow();
  });
});

describe('dumpSelection (the safety set of a table restore)', () => {
  const t = (schema: string, table: string, name = `${schema}.${table}`) => ({ schema, table, name, how: 'only' as const });
  it('the whole database with its large objects, or -t of exactly the tables named that exist', async () => {
    const { dumpSelection, tablePattern } = await import('../../src/engines/postgres/dump.js');
    const all = [t('public', 'reports'), t('public', 'stocks'), t('market', 'daily.adj', 'market."daily.adj"')];
    expect(dumpSelection(all, undefined)).toEqual({ targets: all, args: ['-b'] });
    const some = dumpSelection(all, ['market."daily.adj"', 'public.reports', 'public.new_one']);
    expect(some.targets.map((x) => x.name)).toEqual(['public.reports', 'market."daily.adj"']);
    expect(some.args).toEqual(['-t', '"public"."reports"', '-t', '"market"."daily.adj"']);
    expect(tablePattern('a"b', 'C*')).toBe('"a""b"."C*"');
    // None of them: never a pg_dump without -t (that would be the whole database).
    expect(() => dumpSelection(all, ['public.new_one'])).toThrow(/none of the tables public.new_one/);
  });
});

describe('sideCopyList (restore --as-schema)', () => {
  it('keeps a foreign key between chosen tables, leaves out and names one to a table not chosen', async () => {
    const { sideCopyList } = await import('../../src/engines/postgres/table-select.js');
    const both = sideCopyList(parseToc(TOC), ['public.reports', 'public.stocks']);
    expect(both.foreignKeys).toEqual([]);
    expect(both.lines.some((l) => l.startsWith('3250;'))).toBe(true);
    const alone = sideCopyList(parseToc(TOC), ['public.reports']);
    expect(alone.foreignKeys).toEqual(['public.reports reports_symbol_fkey']);
    expect(alone.lines.map((l) => Number(l.split(';')[0]))).toEqual([219, 3416, 218, 3417, 3229, 3400, 3419, 3241]);
  });

  it('a set of some tables restores without any foreign key; a schema of the archive is found by name', async () => {
    const { withoutForeignKeys, archiveHasSchema } = await import('../../src/engines/postgres/table-select.js');
    const { lines, left } = withoutForeignKeys(parseToc(TOC));
    expect(left).toBe(1);
    expect(lines.some((l) => l.includes('FK CONSTRAINT'))).toBe(false);
    const withSchema = parseToc(['6; 2615 16386 SCHEMA - analytics postgres', ...TOC]);
    expect(archiveHasSchema(withSchema, 'analytics')).toBe(true);
    expect(archiveHasSchema(withSchema, 'analytic')).toBe(false);
  });
});

describe('checkSideSchema', () => {
  it('a plain identifier, and no two chosen tables of one name', async () => {
    const { checkSideSchema, sideSchemaRollback } = await import('../../src/engines/postgres/restore-as-schema.js');
    expect(() => checkSideSchema('side_1', ['public.reports', 'analytics.factor_scores'])).not.toThrow();
    for (const bad of ['Side', '1side', 'pg_side', 'si-de', 'a"b', '']) expect(() => checkSideSchema(bad, ['public.reports']), bad).toThrow(/not a plain identifier/);
    expect(() => checkSideSchema('side', ['public.reports', 'analytics.reports'])).toThrow('public.reports and analytics.reports would have the same name there');
    expect(sideSchemaRollback('side', 'mystocks')).toBe("psql -d mystocks -c 'DROP SCHEMA side CASCADE'");
  });
});

describe('splitTables (the action input)', () => {
  it('commas or new lines, blanks ignored', async () => {
    const { splitTables } = await import('../../src/inputs/action.js');
    expect(splitTables(' public.a,public.b\n\nanalytics.c ,\n')).toEqual(['public.a', 'public.b', 'analytics.c']);
    expect(splitTables('')).toEqual([]);
  });
});
