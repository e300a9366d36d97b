import { describe, expect, it } from 'vitest';
import { archiveTime, classifyImport } from '../../src/catalog/import-names.js';
import { parseTaosDbsSql } from '../../src/commands/import.js';
import { parseRestoreList } from '../../src/engines/postgres/index.js';
import { localTime } from '../../src/catalog/time.js';

describe("the old runbook's names", () => {
  it.each([
    ['/old/postgresql/milestones/pre_arch_optimization_20251025.backup', 'mystocks', false, { kind: 'milestone', id: 'pre_arch_optimization_20251025', milestone: 'pre_arch_optimization' }],
    ['/old/postgresql/mystocks_20251024_000001.backup', 'mystocks', false, { kind: 'daily', id: 'mystocks_20251024_000001', milestone: null }],
    ['/old/postgresql/mystocks_20251024.backup', 'mystocks', false, { kind: 'daily', id: 'mystocks_20251024_123456', milestone: null }],
    ['/old/postgresql/post_phase2_20251101.backup', 'mystocks', false, { kind: 'milestone', id: 'post_phase2_20251101', milestone: 'post_phase2' }],
    ['/old/postgresql/milestones/mystocks_20251101.backup', 'mystocks', false, { kind: 'milestone', id: 'mystocks_20251101', milestone: 'mystocks' }],
    ['/old/tdengine/tdengine_20251024_010000', 'market_data', true, { kind: 'daily', id: 'market_data_20251024_010000', milestone: null }, ['tdengine', 'taosdump']],
    ['/old/tdengine/tdengine_20251024_010000', 'market_data', true, { kind: 'milestone', id: 'tdengine_20251024', milestone: 'tdengine' }, []],
    ['/old/tdengine/milestones/mvp_complete_20251201', 'market_data', true, { kind: 'milestone', id: 'mvp_complete_20251201', milestone: 'mvp_complete' }],
  ] as const)('%s', (p, db, folder, want, stems: readonly string[] = []) => {
    // The stems that make a folder a daily are the engine's to give (the TDengine importer gives the runbook's two).
    expect(classifyImport(p, db, folder, '123456', stems)).toMatchObject(want);
  });
  it.each([['/old/postgresql/latest.backup'], ['/old/postgresql/Pre-Arch_20251025.backup']])('%s cannot be adopted, and says why', (p) => {
    expect(classifyImport(p, 'mystocks', false, null)).toHaveProperty('why');
  });
});

describe('dump times', () => {
  it('reads "Archive created at" in the configured zone, or UTC when it says so', () => {
    expect(localTime(archiveTime('2025-10-25 00:00:03 CST', 'Asia/Shanghai')!, 'Asia/Shanghai').iso).toBe('2025-10-25T00:00:03.000+08:00');
    expect(archiveTime('2025-10-24 16:00:03 UTC', 'Asia/Shanghai')!.toISOString()).toBe('2025-10-24T16:00:03.000Z');
    expect(archiveTime('garbage', 'UTC')).toBeNull();
  });
});

describe('what the dumps say about themselves', () => {
  it('pg_restore --list: header, tables with data, extensions', () => {
    const info = parseRestoreList([
      ';',
      '; Archive created at 2025-10-25 00:00:03 CST',
      ';     dbname: mystocks',
      ';     TOC Entries: 40',
      ';     Compression: gzip',
      ';     Dump Version: 1.15-0',
      ';     Format: CUSTOM',
      ';     Dumped from database version: 17.6 (Debian 17.6-1.pgdg120+1)',
      ';     Dumped by pg_dump version: 17.6 (Debian 17.6-1.pgdg120+1)',
      ';',
      '2; 3079 16385 EXTENSION - timescaledb ',
      '3401; 0 16390 TABLE DATA public daily_bars postgres',
      '3402; 0 16400 TABLE DATA analytics signals postgres',
      '3403; 0 16400 SEQUENCE SET public daily_bars_id_seq postgres',
    ]);
    expect(info).toEqual({ database: 'mystocks', serverVersion: '17.6', clientVersion: '17.6', archiveVersion: '1.15', createdAt: '2025-10-25 00:00:03 CST', tables: ['analytics.signals', 'public.daily_bars'], extensions: ['timescaledb'] });
  });
  it('taosdump dbs.sql: database, versions, precision', () => {
    expect(parseTaosDbsSql(['#!server_ver: 3.3.6.13\n#!taosdump_ver: 3.3.6.13_x\n#!dumpdb: market_data: /x/taosdump.1\n', "CREATE DATABASE IF NOT EXISTS market_data REPLICA 1 PRECISION 'us' ;"])).toEqual({ database: 'market_data', serverVersion: '3.3.6.13', clientVersion: '3.3.6.13_x', precision: 'us' });
  });
});
