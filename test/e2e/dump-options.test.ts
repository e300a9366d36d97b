/**
 * Dump options (postgres.format, postgres.compress, postgres.dump_jobs) on real PostgreSQL 15, through
 * the built CLI: each format and compression round-trips through backup (recorded in the manifest),
 * verify, restore and a copy on a path remote (read back from the remote and restored with stock
 * pg_restore); lz4/zstd with the machine's pg_dump 15 and dump_jobs with the custom format are refused
 * (exit 2, nothing created); a directory dump from the old layout is imported, verified and restored;
 * a directory set with a table file missing is refused before anything is touched; prune removes a
 * directory set whole.
 * No pg_dump 16+ client is installed here (the embedded PostgreSQL 17 ships only initdb, pg_ctl and
 * postgres), so lz4 and zstd round trips are not run: their pg_dump 16+ arguments are unit-tested.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type Cluster } from '../helpers/pg-cluster.js';
import { seedMarketData, type MarketDataResult } from '../helpers/market-data.js';
import { cli as runCli, incompleteDirs, json, readJson, rewriteConfig, setDirs, userEnv, withPostgres, workspace, type Workspace } from '../helpers/tool.js';
import type { Manifest } from '../../src/catalog/manifest.js';
import type { RemoteCopy } from '../../src/catalog/remote-copies.js';
import type { RunResult } from '../../src/report/result.js';

let pgc: Cluster;
let seeded: MarketDataResult;
beforeAll(async () => {
  pgc = await startCluster({ name: 'dumpopts' });
  await pgc.createDb('mystocks');
  seeded = await seedMarketData(pgc, 'mystocks');
});
afterAll(async () => {
  await pgc?.destroy();
});

const cli = (ws: Workspace, args: string[]) => runCli(args, { env: userEnv(pgc), cwd: ws.dir });
const tool = (name: string) => path.join(pgc.clientBinDir, name);

/** A workspace whose postgres: section has `opts`, with a path remote that takes daily sets. */
function optionsWorkspace(opts: Record<string, unknown>): { ws: Workspace; share: string } {
  const share = mkdtempSync(path.join(os.tmpdir(), 'pgtaos-dumpopts-nas-'));
  const ws = workspace(pgc, 'mystocks', { remotes: [{ type: 'path', name: 'nas', path: share, require_mount: false, include: ['daily'] }] });
  withPostgres(ws, opts);
  return { ws, share };
}

/** `pg_restore --list` of an archive (file or folder), without a server. */
function listArchive(archive: string): string {
  const r = spawnSync(tool('pg_restore'), ['--list', archive], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout;
}

/** Row counts of the seeded tables in `db`. */
function counts(db: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const name of Object.keys(seeded.tables)) {
    const r = spawnSync(tool('psql'), ['-h', pgc.host, '-p', String(pgc.port), '-U', pgc.user, '-d', db, '-Atc', `SELECT count(*) FROM ${name}`], { env: pgc.env, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    out[name] = Number(r.stdout.trim());
  }
  return out;
}

/** The set's files fetched back from the (unencrypted) path remote into a fresh folder, restored with stock pg_restore into `db`. */
function restoreFromRemote(share: string, m: Manifest, archiveRel: string, db: string): void {
  const back = mkdtempSync(path.join(os.tmpdir(), 'pgtaos-dumpopts-back-'));
  for (const f of m.postgres!.files) {
    const to = path.join(back, ...f.path.split('/'));
    mkdirSync(path.dirname(to), { recursive: true });
    cpSync(path.join(share, 'daily', m.id, ...f.path.split('/')), to);
  }
  spawnSync(tool('dropdb'), ['-h', pgc.host, '-p', String(pgc.port), '-U', pgc.user, '--if-exists', db], { env: pgc.env });
  const c = spawnSync(tool('createdb'), ['-h', pgc.host, '-p', String(pgc.port), '-U', pgc.user, db], { env: pgc.env, encoding: 'utf8' });
  expect(c.status, c.stderr).toBe(0);
  const r = spawnSync(tool('pg_restore'), ['-h', pgc.host, '-p', String(pgc.port), '-U', pgc.user, '-d', db, '-j', '2', '--exit-on-error', path.join(back, archiveRel)], { env: pgc.env, encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  rmSync(back, { recursive: true, force: true });
}

interface Case {
  name: string;
  opts: Record<string, unknown>;
  /** The archive pg_restore reads, relative to the set. */
  archive: string;
  /** What `pg_restore --list` says of the compression (pg_dump 15's header: the level, 0 for none). */
  compression: RegExp;
  /** A directory archive's table files end so (".dat.gz" compressed, ".dat" not). */
  dataSuffix?: string;
}

const CASES: Case[] = [
  { name: 'custom, none', opts: { compress: 'none' }, archive: 'mystocks.dump', compression: /^; +Compression: 0$/m },
  { name: 'custom, gzip:6', opts: { format: 'custom', compress: 'gzip:6' }, archive: 'mystocks.dump', compression: /^; +Compression: 6$/m },
  { name: 'directory, gzip:1, dump_jobs 2', opts: { format: 'directory', compress: 'gzip:1', dump_jobs: 2 }, archive: 'mystocks.dir', compression: /^; +Compression: 1$/m, dataSuffix: '.dat.gz' },
  { name: 'directory, none', opts: { format: 'directory', compress: 'none' }, archive: 'mystocks.dir', compression: /^; +Compression: 0$/m, dataSuffix: '.dat' },
];

describe('dump options', () => {
  for (const c of CASES) {
    it(`${c.name}: backup (recorded in the manifest), verify, restore and a remote copy all round-trip`, async () => {
      const { ws, share } = optionsWorkspace(c.opts);
      const b = await cli(ws, ['backup', '--json']);
      expect(b.code, b.stderr).toBe(0);
      const set = json<RunResult>(b).set!;
      const m = readJson<Manifest>(path.join(set.path, 'manifest.json'));
      expect(m.postgres).toMatchObject({ format: c.opts.format ?? 'custom', compress: c.opts.compress });
      if (c.opts.dump_jobs) expect(m.postgres!.dump_jobs).toBe(c.opts.dump_jobs);
      // The archive pg_dump wrote is what was asked for.
      expect(listArchive(path.join(set.path, c.archive))).toMatch(c.compression);
      if (c.dataSuffix) {
        // The archive's files, then globals.sql beside the folder (pg_dumpall's, not pg_restore's).
        expect(m.postgres!.files.at(-1)!.path).toBe('globals.sql');
        const files = m.postgres!.files.map((f) => f.path).filter((f) => f !== 'globals.sql');
        expect(files).toContain(`${c.archive}/toc.dat`);
        const data = files.filter((f) => /\/\d+\.dat/.test(f));
        expect(data.length).toBeGreaterThanOrEqual(Object.keys(seeded.tables).length);
        for (const f of data) expect(f.endsWith(c.dataSuffix), f).toBe(true);
        // Every file of the folder is listed: nothing pg_restore reads goes unchecked.
        expect(readdirSync(path.join(set.path, c.archive)).map((f) => `${c.archive}/${f}`).sort()).toEqual([...files].sort());
      } else {
        expect(m.postgres!.files.map((f) => f.path)).toEqual([c.archive, 'globals.sql']);
      }
      expect(Object.fromEntries(m.postgres!.tables.map((t) => [t.name, t.rows]))).toEqual(seeded.tables);

      const v = await cli(ws, ['verify', set.id, '--json']);
      expect(v.code, v.stderr).toBe(0);
      const checks = json<RunResult>(v).checks;
      expect(checks.filter((x) => x.name.startsWith('checksum ')).length).toBe(m.postgres!.files.length);
      expect(checks.find((x) => x.name === 'postgres row counts')).toMatchObject({ result: 'passed' });

      const r = await cli(ws, ['restore', set.id, '--target', 'mystocks_optcopy', '--confirm', 'mystocks_optcopy', '--json']);
      expect(r.code, r.stderr).toBe(0);
      expect(counts('mystocks_optcopy')).toEqual(seeded.tables);

      // The backup copied the set to the remote, every file read back.
      const copies = readJson<{ copies: RemoteCopy[] }>(path.join(set.path, 'remotes.json')).copies;
      expect(copies.map((x) => [x.remote, x.result])).toEqual([['nas', 'verified']]);
      expect(copies[0]!.files.map((f) => f.path).sort()).toEqual([...m.postgres!.files.map((f) => f.path), 'manifest.json'].sort());
      restoreFromRemote(share, m, c.archive, 'mystocks_fromnas');
      expect(counts('mystocks_fromnas')).toEqual(seeded.tables);
    });
  }

  it('lz4 and zstd with pg_dump 15: exit 2 naming the version found and the one needed; nothing created', async () => {
    for (const compress of ['zstd:3', 'lz4']) {
      const { ws } = optionsWorkspace({ compress });
      const r = await cli(ws, ['backup']);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain(`postgres.compress is ${compress}, but ${compress.split(':')[0]} needs pg_dump 16 or newer and the pg_dump found is 15.`);
      expect(r.stderr).toMatch(/postgresql-client-17/);
      expect(setDirs(ws)).toEqual([]);
      expect(incompleteDirs(ws)).toEqual([]);
    }
  });

  it('dump_jobs with the custom format, and a compression pg_dump does not take, are config errors: exit 2, nothing created', async () => {
    for (const [opts, said] of [
      [{ dump_jobs: 4 }, /dump_jobs.*needs format: directory/],
      [{ format: 'custom', dump_jobs: 2 }, /dump_jobs.*needs format: directory/],
      [{ compress: 'gzip:12' }, /compress.*must be none, gzip\[:1-9\], lz4\[:1-12\] or zstd\[:1-22\] \(got "gzip:12"\)/],
      [{ compress: 'brotli' }, /compress.*got "brotli"/],
    ] as const) {
      const { ws } = optionsWorkspace(opts);
      const r = await cli(ws, ['backup']);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(said);
      expect(existsSync(ws.root) ? readdirSync(ws.root).filter((f) => !f.startsWith('.')) : []).toEqual([]);
    }
  });

  it('a directory set missing one table file, or with a link planted in its folder, is refused by restore before anything is touched', async () => {
    const { ws } = optionsWorkspace({ format: 'directory' });
    const b = await cli(ws, ['backup', '--json']);
    expect(b.code, b.stderr).toBe(0);
    const set = json<RunResult>(b).set!;
    const m = readJson<Manifest>(path.join(set.path, 'manifest.json'));
    const dataFile = m.postgres!.files.find((f) => /\/\d+\.dat/.test(f.path))!.path;

    // A link beside the listed files: pg_restore reads the folder, so the set is refused.
    const link = path.join(set.path, 'mystocks.dir', 'extra.dat');
    symlinkSync('/etc/hostname', link);
    const l = await cli(ws, ['restore', set.id, '--target', 'mystocks_linkcopy', '--confirm', 'mystocks_linkcopy']);
    expect(l.code, l.stderr).toBe(1);
    expect(l.stderr).toMatch(/link/);
    unlinkSync(link);

    unlinkSync(path.join(set.path, ...dataFile.split('/')));
    const v = await cli(ws, ['verify', set.id, '--json']);
    expect(v.code).toBe(1);
    expect(json<RunResult>(v).checks.find((x) => x.name === `checksum ${dataFile}`)).toMatchObject({ result: 'failed', detail: `${dataFile}: missing` });
    const r = await cli(ws, ['restore', set.id, '--target', 'mystocks_badcopy', '--confirm', 'mystocks_badcopy']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`set ${set.id} is damaged, so it was not restored: ${dataFile}: missing`);
    const dbs = spawnSync(tool('psql'), ['-h', pgc.host, '-p', String(pgc.port), '-U', pgc.user, '-d', 'postgres', '-Atc', 'SELECT datname FROM pg_database'], { env: pgc.env, encoding: 'utf8' }).stdout;
    expect(dbs).not.toMatch(/mystocks_(bad|link)copy/);
  });

  it('import: a pg_dump -Fd folder from the old layout is adopted, verified and restored; a taosdump folder still goes to TDengine', async () => {
    const old = mkdtempSync(path.join(os.tmpdir(), 'pgtaos-dumpopts-old-'));
    const folder = path.join(old, 'postgresql', 'mystocks_20251024_010203');
    mkdirSync(path.dirname(folder), { recursive: true });
    const d = spawnSync(tool('pg_dump'), ['-Fd', '-j', '2', '-b', '-h', pgc.host, '-p', String(pgc.port), '-U', pgc.user, '-f', folder, 'mystocks'], { env: pgc.env, encoding: 'utf8' });
    expect(d.status, d.stderr).toBe(0);
    const ws = workspace(pgc, 'mystocks');
    const i = await cli(ws, ['import', folder, '--json']);
    expect(i.code, i.stderr).toBe(0);
    const setDir = path.join(ws.root, 'daily', 'mystocks_20251024_010203');
    const m = readJson<Manifest>(path.join(setDir, 'manifest.json'));
    expect(m.postgres).toMatchObject({ format: 'directory', row_counts: 'unknown', database: 'mystocks' });
    expect(m.postgres!.files.map((f) => f.path)).toEqual(readdirSync(folder).map((f) => `mystocks.dir/${f}`).sort());
    const v = await cli(ws, ['verify', m.id, '--json']);
    expect(v.code, v.stderr).toBe(0);
    const r = await cli(ws, ['restore', m.id, '--target', 'mystocks_imported', '--confirm', 'mystocks_imported']);
    expect(r.code, r.stderr).toBe(0);
    expect(counts('mystocks_imported')).toEqual(seeded.tables);
    // A folder without toc.dat is not claimed by PostgreSQL: TDengine's importer reads it (and says what it lacks).
    const other = path.join(old, 'tdengine', 'tdengine_20251024_010203');
    mkdirSync(other, { recursive: true });
    const t = await cli(ws, ['import', other]);
    expect(t.code).toBe(2);
    expect(t.stderr).toContain(`${other} is not a taosdump folder`);
    rmSync(old, { recursive: true, force: true });
  });

  it('prune removes an old directory set whole (its folder and every file in it) and keeps the newest', async () => {
    const { ws } = optionsWorkspace({ format: 'directory', compress: 'none' });
    rewriteConfig(ws, (c) => ({ ...c, remotes: [], retention: { keep_last: 1, daily_days: 7 } }));
    const b = await cli(ws, ['backup', '--json']);
    expect(b.code, b.stderr).toBe(0);
    const newest = json<RunResult>(b).set!;
    // The same set, dated 2020: a daily older than daily_days, beyond keep_last.
    const oldId = 'mystocks_20200101_000000';
    const oldDir = path.join(ws.root, 'daily', oldId);
    cpSync(newest.path, oldDir, { recursive: true });
    const m = readJson<Manifest>(path.join(oldDir, 'manifest.json'));
    writeFileSync(path.join(oldDir, 'manifest.json'), JSON.stringify({ ...m, id: oldId, started_at: '2020-01-01T00:00:00+08:00', finished_at: '2020-01-01T00:01:00+08:00' }, null, 2));
    expect(setDirs(ws).sort()).toEqual([oldId, newest.id].sort());
    const p = await cli(ws, ['prune', '--json']);
    expect(p.code, p.stderr).toBe(0);
    expect(setDirs(ws)).toEqual([newest.id]);
    expect(existsSync(oldDir)).toBe(false);
  });
});
