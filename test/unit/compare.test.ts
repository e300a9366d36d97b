import { describe, expect, it } from 'vitest';
import { compareCounts, renderDifferences } from '../../src/catalog/compare.js';
import { comparePostgres } from '../../src/engines/postgres/compare.js';
import { countSql, qualifiedName } from '../../src/engines/postgres/index.js';
import { manifestSchema } from '../../src/catalog/manifest.js';
import { clientTooOld, isDumpErrorLine, parseArchiveHeader, parseClientVersion, parseServerVersionNum } from '../../src/engines/postgres/index.js';

describe('compareCounts', () => {
  const manifest = [
    { name: 'public.a', rows: 10 },
    { name: 'public.b', rows: 0 },
    { name: 's.c', rows: 5 },
  ];
  it('equal counts: no differences', () => {
    expect(compareCounts(manifest, [...manifest].reverse())).toEqual([]);
  });
  it('a table that came back empty is a difference (the runbook only counted tables)', () => {
    expect(compareCounts(manifest, [{ name: 'public.a', rows: 0 }, manifest[1]!, manifest[2]!])).toEqual([{ table: 'public.a', expected: 10, restored: 0 }]);
  });
  it('missing and extra tables are differences', () => {
    expect(compareCounts(manifest, [manifest[0]!, manifest[1]!, { name: 's.d', rows: 1 }])).toEqual([
      { table: 's.c', expected: 5, restored: null },
      { table: 's.d', expected: null, restored: 1 },
    ]);
  });
  it('renders a table of differences', () => {
    expect(renderDifferences([{ table: 'public.a', expected: 10, restored: null }])).toEqual(['TABLE     EXPECTED  RESTORED', 'public.a  10        (missing)']);
  });
});

describe('PostgreSQL table names: one key per table (dotted names cannot collide)', () => {
  it('plain lower-case names stay bare; anything else is double-quoted, inner quotes doubled', () => {
    expect(qualifiedName('public', 'daily_bars')).toBe('public.daily_bars');
    expect(qualifiedName('market', 'daily.adj')).toBe('market."daily.adj"');
    expect(qualifiedName('market.daily', 'adj')).toBe('"market.daily".adj');
    expect(qualifiedName('Market', 'a"b')).toBe('"Market"."a""b"');
    expect(qualifiedName('s', '1st')).toBe('s."1st"');
  });
  it('market."daily.adj" and "market.daily".adj do not collide: a loss in either is a difference', () => {
    const a = qualifiedName('market', 'daily.adj');
    const b = qualifiedName('market.daily', 'adj');
    expect(compareCounts([{ name: a, rows: 3 }, { name: b, rows: 5 }], [{ name: a, rows: 0 }, { name: b, rows: 5 }])).toEqual([{ table: a, expected: 3, restored: 0 }]);
  });
  it('counts use ONLY except for hypertables; a config table gets pg_dump\'s filter; format 1 counted as it was', () => {
    const t = { schema: 'market', table: 'daily.adj', name: 'market."daily.adj"' };
    expect(countSql({ ...t, how: 'only' })).toBe('SELECT count(*)::text AS n FROM ONLY "market"."daily.adj"');
    expect(countSql({ ...t, how: 'hypertable' })).toBe('SELECT count(*)::text AS n FROM "market"."daily.adj"');
    expect(countSql({ ...t, how: 'filter', filter: 'WHERE id >= 1000' })).toBe('SELECT count(*)::text AS n FROM "market"."daily.adj" WHERE id >= 1000');
    expect(countSql({ ...t, how: 'legacy' })).toBe('SELECT count(*)::text AS n FROM "market"."daily.adj"');
  });
});

describe('comparePostgres: tables the backup could not count', () => {
  const section = { tables: [{ name: 'public.a', rows: 10 }], count_errors: [{ name: 'public.ticks', schema: 'public', table: 'ticks', error: '08001: could not connect to server "down"' }] };
  it('are set apart with their restored count, not reported as extra tables', () => {
    expect(comparePostgres(section, { tables: [{ name: 'public.a', rows: 10 }, { name: 'public.ticks', rows: 7 }], errors: [] })).toEqual({
      diffs: [],
      notCompared: [{ table: 'public.ticks', restored: 7, reason: '08001: could not connect to server "down"' }],
    });
  });
  it('a table the restored database cannot count is a difference that says so', () => {
    const { diffs } = comparePostgres(section, { tables: [], errors: [{ name: 'public.a', error: '42501: permission denied for table a' }] });
    expect(diffs).toEqual([{ table: 'public.a', expected: 10, restored: null, error: '42501: permission denied for table a' }]);
    expect(renderDifferences(diffs)[1]).toBe('public.a  10        (count failed: 42501: permission denied for table a)');
  });
});

describe('manifest formats', () => {
  const base = { id: 'x', kind: 'daily', milestone: null, status: 'complete', started_at: 's', finished_at: 'f', timezone: 'UTC', tool: { name: 'pgtaos-backup', version: '0' }, hostname: 'h', git: null, bytes: 1 };
  const pgSection = (tables: unknown[]) => ({ server_version: '15', client_version: '15', database: 'd', host: 'h', port: 1, archive_version: '1.14', database_bytes: 1, snapshot: null, extensions: [], large_objects: 0, files: [{ path: 'd.dump', bytes: 1, sha256: 'a'.repeat(64) }], tables });
  it('format 1 (names only) and format 2 (schema and table too) are both read; an unknown format is not', () => {
    expect(manifestSchema.safeParse({ ...base, format: 1, postgres: pgSection([{ name: 'public.a', rows: 1 }]) }).success).toBe(true);
    expect(manifestSchema.safeParse({ ...base, format: 2, postgres: pgSection([{ name: 'market."daily.adj"', schema: 'market', table: 'daily.adj', rows: 1, hypertable: true }]) }).success).toBe(true);
    expect(manifestSchema.safeParse({ ...base, format: 3, postgres: pgSection([]) }).success).toBe(false);
  });
});

describe('PostgreSQL version and output parsing', () => {
  it('client versions', () => {
    expect(parseClientVersion('pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)')).toEqual({ major: 15, text: '15.18' });
    expect(parseClientVersion('pg_restore (PostgreSQL) 17.6')).toEqual({ major: 17, text: '17.6' });
    expect(parseClientVersion('garbage')).toBeNull();
  });
  it('server versions and the too-old rule', () => {
    expect(parseServerVersionNum(170006)).toEqual({ major: 17, text: '17.6' });
    expect(clientTooOld({ major: 15, text: '15.18' }, { major: 17, text: '17.6' })).toBe(true);
    expect(clientTooOld({ major: 17, text: '17.0' }, { major: 17, text: '17.6' })).toBe(false);
    expect(clientTooOld({ major: 17, text: '17.6' }, { major: 15, text: '15.1' })).toBe(false);
  });
  it('archive header from pg_restore --list', () => {
    const head = [';', '; Archive created at 2026-11-25 00:00:03 CST', ';     dbname: mystocks', ';     Dump Version: 1.16-0', ';     Dumped from database version: 17.6'];
    expect(parseArchiveHeader(head)).toEqual({ archiveVersion: '1.16', database: 'mystocks', serverVersion: '17.6', createdAt: '2026-11-25 00:00:03 CST' });
  });
  it('error lines fail a dump; warnings do not', () => {
    expect(isDumpErrorLine('pg_dump: error: query failed: server closed the connection unexpectedly')).toBe(true);
    expect(isDumpErrorLine('pg_dump: warning: there are circular foreign-key constraints on this table:')).toBe(false);
    expect(isDumpErrorLine('FATAL:  terminating connection due to administrator command')).toBe(true);
  });
});
