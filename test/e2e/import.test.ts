/**
 * import through the built CLI: the old runbook's layout — a milestone dump under
 * postgresql/milestones/, a daily dump, a taosdump folder — made with a real pg_dump from a
 * throwaway cluster, adopted as sets that `list` shows, with manifests read from the dumps'
 * own headers; the originals are left exactly as they were (unless --move).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type Cluster } from '../helpers/pg-cluster.js';
import { seedMarketData, type MarketDataResult } from '../helpers/market-data.js';
import { cli as runCli, json, readJson, userEnv, workspace, type Workspace } from '../helpers/tool.js';
import type { Manifest } from '../../src/catalog/manifest.js';
import type { RunResult } from '../../src/report/result.js';

let pgc: Cluster;
let seeded: MarketDataResult;
beforeAll(async () => {
  pgc = await startCluster({ name: 'import' });
  await pgc.createDb('mystocks');
  seeded = await seedMarketData(pgc, 'mystocks');
});
afterAll(async () => {
  await pgc?.destroy();
});

const cli = (ws: Workspace, args: string[]) => runCli(args, { env: userEnv(pgc), cwd: ws.dir });
const sha = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');

function pgDump(file: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const r = spawnSync(path.join(pgc.clientBinDir, 'pg_dump'), ['-F', 'c', '-b', '-h', pgc.host, '-p', String(pgc.port), '-U', pgc.user, '-f', file, 'mystocks'], { env: pgc.env, encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
}

/** A taosdump -o folder as docs/tdengine.md describes it (no TDengine here). */
function taosFolder(dir: string): void {
  const inner = path.join(dir, 'taosdump.1761325200');
  mkdirSync(path.join(inner, 'data0-abc'), { recursive: true });
  const header = '#!server_ver: 3.3.6.13\n#!taosdump_ver: 3.3.6.13_a1b2c3\n#!os_id: LINUX\n#!escape_char: true\n#!loose_mode: false\n#!charset: UTF-8\n';
  writeFileSync(path.join(dir, 'dbs.sql'), `${header}#!dumpdb: market_data: ${inner}\n\n`);
  writeFileSync(path.join(inner, 'dbs.sql'), `${header}CREATE DATABASE IF NOT EXISTS market_data REPLICA 1   DURATION 14400m KEEP 5256000m,5256000m,5256000m PRECISION 'ms'   ;\n`);
  writeFileSync(path.join(inner, 'market_data.123.avro-tbtags'), Buffer.from('Obj\x01 fake avro tags'));
  writeFileSync(path.join(inner, 'data0-abc', 'market_data.456.0.avro'), Buffer.from('Obj\x01 fake avro data'.repeat(100)));
}

interface OldLayout {
  dir: string;
  milestone: string;
  daily: string;
  taos: string;
}

function oldLayout(): OldLayout {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pgtaos-old-'));
  const l = {
    dir,
    milestone: path.join(dir, 'postgresql', 'milestones', 'pre_arch_optimization_20251025.backup'),
    daily: path.join(dir, 'postgresql', 'mystocks_20251024_000001.backup'),
    taos: path.join(dir, 'tdengine', 'tdengine_20251024_010000'),
  };
  pgDump(l.milestone);
  pgDump(l.daily);
  taosFolder(l.taos);
  return l;
}

describe('import', () => {
  it("adopts the runbook's milestone, daily and taosdump folder; list shows them; originals untouched; a second import skips them", async () => {
    const dumpedFrom = Date.now();
    const old = oldLayout();
    const dumpedTo = Date.now();
    // File times far from the dump's: the time must come from the archive's own header.
    const farAway = new Date('2001-02-03T04:05:06Z');
    utimesSync(old.milestone, farAway, farAway);
    const before = [old.milestone, old.daily, path.join(old.taos, 'taosdump.1761325200', 'data0-abc', 'market_data.456.0.avro')].map((f) => ({ f, sha: sha(f), mtime: statSync(f).mtimeMs, mode: statSync(f).mode }));
    const ws = workspace(pgc, 'mystocks');
    const r = await cli(ws, ['import', old.milestone, old.daily, old.taos, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const res = json<RunResult>(r);
    expect(res.message).toMatch(/imported 3 set\(s\)/);

    const l = json<{ sets: { id: string; kind: string; milestone: string | null; status: string; path: string }[] }>(await cli(ws, ['list', '--json']));
    const byId = Object.fromEntries(l.sets.map((s) => [s.id, s]));
    expect(byId.pre_arch_optimization_20251025).toMatchObject({ kind: 'milestone', milestone: 'pre_arch_optimization', status: 'complete' });
    expect(byId.mystocks_20251024_000001).toMatchObject({ kind: 'daily', status: 'complete' });
    expect(byId.market_data_20251024_010000).toMatchObject({ kind: 'daily', status: 'complete' });

    // Manifests from the dumps' own headers.
    const m = readJson<Manifest>(path.join(byId.pre_arch_optimization_20251025!.path, 'manifest.json'));
    expect(m.imported_from).toEqual([old.milestone]);
    expect(m.postgres).toMatchObject({ database: 'mystocks', server_version: pgc.version, row_counts: 'unknown', tables: [], host: 'unknown' });
    expect(m.postgres!.archive_version).toMatch(/^1\.\d+$/);
    expect(m.postgres!.archive_tables).toEqual(expect.arrayContaining(Object.keys(seeded.tables)));
    expect(m.postgres!.files).toEqual([{ path: 'pre_arch_optimization_20251025.backup', bytes: statSync(old.milestone).size, sha256: sha(old.milestone) }]);
    // The dump time is the archive's, with the configured zone's offset.
    expect(m.started_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+08:00$/);
    // pg_restore --list says "Archive created at <second>": between the dump's start and end, to the second.
    expect(Date.parse(m.started_at)).toBeGreaterThanOrEqual(Math.floor(dumpedFrom / 1000) * 1000);
    expect(Date.parse(m.started_at)).toBeLessThanOrEqual(dumpedTo);
    expect(statSync(old.milestone).mtimeMs).toBe(farAway.getTime());
    const t = readJson<Manifest>(path.join(byId.market_data_20251024_010000!.path, 'manifest.json'));
    expect(t.tdengine).toMatchObject({ database: 'market_data', server_version: '3.3.6.13', client_version: '3.3.6.13_a1b2c3', precision: 'ms', row_counts: 'unknown' });
    expect(t.tdengine!.files.map((f) => f.path)).toContain('tdengine/taosdump.1761325200/data0-abc/market_data.456.0.avro');
    expect(t.started_at).toBe('2025-10-24T01:00:00.000+08:00');

    // Originals exactly as they were.
    for (const b of before) expect({ f: b.f, sha: sha(b.f), mtime: statSync(b.f).mtimeMs, mode: statSync(b.f).mode }).toEqual(b);

    // The adopted copy restores with stock pg_restore.
    await pgc.createDb('from_import');
    const rr = spawnSync(path.join(pgc.clientBinDir, 'pg_restore'), ['-h', pgc.host, '-p', String(pgc.port), '-U', pgc.user, '-d', 'from_import', '--exit-on-error', path.join(byId.pre_arch_optimization_20251025!.path, 'pre_arch_optimization_20251025.backup')], { env: pgc.env, encoding: 'utf8' });
    expect(rr.status, rr.stderr).toBe(0);

    // Again: nothing new.
    const again = json<RunResult>(await cli(ws, ['import', old.milestone, old.daily, old.taos, '--json']));
    expect(again.message).toMatch(/imported 0 set\(s\); 3 already in the catalog/);
  });

  it('one file that is not a pg_dump archive: exit 1 and nothing imported', async () => {
    const old = oldLayout();
    const junk = path.join(old.dir, 'postgresql', 'mystocks_20251023_000001.backup');
    writeFileSync(junk, '-- plain SQL, not a custom-format archive\nSELECT 1;\n');
    const ws = workspace(pgc, 'mystocks');
    const r = await cli(ws, ['import', old.milestone, junk, '--json']);
    expect(r.code).toBe(1);
    expect(json<RunResult>(r).message).toMatch(/pg_restore --list cannot read .*mystocks_20251023_000001\.backup.*nothing was imported/);
    expect(existsSync(path.join(ws.root, 'milestone'))).toBe(false);
  });

  it('a path that does not exist: exit 2', async () => {
    const ws = workspace(pgc, 'mystocks');
    const r = await cli(ws, ['import', '/nonexistent/postgresql/x_20250101.backup', '--json']);
    expect(r.code).toBe(2);
    expect(json<RunResult>(r).message).toContain('/nonexistent/postgresql/x_20250101.backup does not exist');
  });

  it('--move removes the originals once the set is complete', async () => {
    const old = oldLayout();
    const want = sha(old.daily);
    const ws = workspace(pgc, 'mystocks');
    const r = await cli(ws, ['import', '--move', old.daily, old.taos, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(old.daily)).toBe(false);
    expect(existsSync(old.taos)).toBe(false);
    expect(sha(path.join(ws.root, 'daily', 'mystocks_20251024_000001', 'mystocks_20251024_000001.backup'))).toBe(want);
  });
});
