import { describe, expect, it } from 'vitest';
import { compareCounts, renderDifferences } from '../../src/catalog/compare.js';
import { clientTooOld, isDumpErrorLine, parseArchiveHeader, parseClientVersion, parseServerVersionNum } from '../../src/engines/postgres.js';

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
