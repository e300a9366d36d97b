/**
 * Dump options, pure: postgres.compress parsed and checked, pg_dump's arguments per client version
 * (15: -Z level; 16+: --compress=method:level), lz4/zstd refused with pg_dump 15, dump_jobs only with
 * the directory format, old manifests read as custom, and a directory archive's files kept in one folder.
 */
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { archiveName, archiveRel, compressArgs, describeOptions, formatArgs, parseCompress, requireCompressSupport, setFormat } from '../../src/engines/postgres/dump-options.js';
import { pgDumpPath } from '../../src/engines/postgres/restore.js';
import { postgresSchema } from '../../src/engines/postgres/schema.js';
import { UsageError, JobError } from '../../src/errors.js';
import type { SetEntry } from '../../src/catalog/sets.js';
import type { Manifest } from '../../src/catalog/manifest.js';

const v15 = { major: 15, text: '15.18' };
const v16 = { major: 16, text: '16.4' };
const v17 = { major: 17, text: '17.6' };

describe('postgres.compress', () => {
  it('parses each method with and without a level, and refuses levels out of range and unknown methods', () => {
    expect(parseCompress('none')).toEqual({ method: 'none', level: null });
    expect(parseCompress('gzip')).toEqual({ method: 'gzip', level: null });
    expect(parseCompress('gzip:9')).toEqual({ method: 'gzip', level: 9 });
    expect(parseCompress('lz4:12')).toEqual({ method: 'lz4', level: 12 });
    expect(parseCompress('zstd:22')).toEqual({ method: 'zstd', level: 22 });
    for (const bad of ['gzip:0', 'gzip:10', 'lz4:13', 'zstd:23', 'none:1', 'brotli', '6', 'GZIP', 'zstd:', 'zstd:3,long']) expect(parseCompress(bad), bad).toBeNull();
  });

  it('the config refuses a bad compression and dump_jobs without format: directory', () => {
    const base = { database: 'mystocks' };
    expect(postgresSchema.safeParse({ ...base, compress: 'zstd:3', format: 'directory', dump_jobs: 4 }).success).toBe(true);
    const bad = postgresSchema.safeParse({ ...base, compress: 'gzip:12' });
    expect(bad.success).toBe(false);
    expect(bad.error!.issues[0]!.message).toContain('must be none, gzip[:1-9], lz4[:1-12] or zstd[:1-22] (got "gzip:12")');
    for (const cfg of [{ ...base, dump_jobs: 2 }, { ...base, format: 'custom', dump_jobs: 2 }]) {
      const r = postgresSchema.safeParse(cfg);
      expect(r.success).toBe(false);
      expect(r.error!.issues[0]).toMatchObject({ path: ['dump_jobs'] });
      expect(r.error!.issues[0]!.message).toMatch(/needs format: directory/);
    }
    // The default is the runbook's: a custom archive, pg_dump's own compression.
    const d = postgresSchema.parse(base);
    expect([d.format, d.compress, d.dump_jobs]).toEqual([undefined, undefined, undefined]);
    expect(formatArgs(d, v15)).toEqual(['-Fc']);
  });
});

describe("pg_dump's arguments", () => {
  it('pg_dump 15: -Z level for gzip, -Z 0 for none, nothing for plain gzip (its default)', () => {
    expect(compressArgs(undefined, v15)).toEqual([]);
    expect(compressArgs('gzip', v15)).toEqual([]);
    expect(compressArgs('gzip:6', v15)).toEqual(['-Z', '6']);
    expect(compressArgs('none', v15)).toEqual(['-Z', '0']);
  });

  it('pg_dump 16 and 17: --compress=method[:level]', () => {
    for (const v of [v16, v17]) {
      expect(compressArgs('zstd:3', v)).toEqual(['--compress=zstd:3']);
      expect(compressArgs('lz4', v)).toEqual(['--compress=lz4']);
      expect(compressArgs('gzip:6', v)).toEqual(['--compress=gzip:6']);
      expect(compressArgs('none', v)).toEqual(['--compress=none']);
    }
  });

  it('-Fc, or -Fd with -j for dump_jobs > 1; the archive is <db>.dump or the folder <db>.dir', () => {
    expect(formatArgs({ format: 'custom', compress: 'gzip:1' }, v15)).toEqual(['-Fc', '-Z', '1']);
    expect(formatArgs({ format: 'directory', dump_jobs: 4, compress: 'zstd:3' }, v17)).toEqual(['-Fd', '-j', '4', '--compress=zstd:3']);
    expect(formatArgs({ format: 'directory', dump_jobs: 1 }, v17)).toEqual(['-Fd']);
    expect(archiveName({ database: 'mystocks', format: 'directory' })).toBe('mystocks.dir');
    expect(archiveName({ database: 'mystocks' })).toBe('mystocks.dump');
  });

  it('lz4 and zstd with pg_dump 15: a usage error (exit 2) naming the version found and the one needed; 16+ and gzip/none pass', () => {
    for (const compress of ['lz4', 'zstd:3']) {
      let err: unknown;
      try {
        requireCompressSupport({ compress }, v15, '/usr/bin/pg_dump');
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(UsageError);
      expect((err as UsageError).code).toBe('postgres.compress_unsupported');
      expect((err as UsageError).message).toContain(`needs pg_dump 16 or newer and the pg_dump found is 15.18 (/usr/bin/pg_dump)`);
      expect(() => requireCompressSupport({ compress }, v16, 'pg_dump')).not.toThrow();
    }
    for (const compress of [undefined, 'gzip', 'gzip:9', 'none']) expect(() => requireCompressSupport({ compress }, v15, 'pg_dump')).not.toThrow();
  });
});

describe('what a set records', () => {
  it('a manifest without format (written before the option) is a custom archive with the default compression', () => {
    expect(setFormat({})).toBe('custom');
    expect(archiveRel({ files: [{ path: 'mystocks.dump', bytes: 1, sha256: 'a' }] })).toBe('mystocks.dump');
    expect(describeOptions({})).toBe('custom, default compression');
    expect(describeOptions({ format: 'directory', compress: 'zstd:3', dump_jobs: 4 })).toBe('directory, zstd:3, 4 jobs');
    expect(archiveRel({ format: 'directory', files: [{ path: 'mystocks.dir/toc.dat', bytes: 1, sha256: 'a' }] })).toBe('mystocks.dir');
  });

  it('a directory set whose manifest lists a file outside its archive folder is refused before pg_restore reads the folder', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'pgtaos-dumpopts-unit-'));
    mkdirSync(path.join(dir, 'mystocks.dir'));
    writeFileSync(path.join(dir, 'mystocks.dir', 'toc.dat'), 'x');
    writeFileSync(path.join(dir, 'other.dat'), 'y');
    const set = (files: string[]): SetEntry => ({
      id: 's1',
      kind: 'daily',
      status: 'complete',
      path: dir,
      reason: null,
      verification: null,
      manifest: { postgres: { format: 'directory', files: files.map((p) => ({ path: p, bytes: 1, sha256: 'a' })) } } as unknown as Manifest,
    });
    expect(await pgDumpPath(set(['mystocks.dir/toc.dat']))).toBe(path.join(dir, 'mystocks.dir'));
    await expect(pgDumpPath(set(['mystocks.dir/toc.dat', 'other.dat']))).rejects.toThrow(JobError);
    await expect(pgDumpPath(set(['mystocks.dir/toc.dat', 'other.dat']))).rejects.toThrow(/its directory archive mystocks.dir and the file other.dat the manifest lists are not one folder/);
    // A link planted in the folder after the catalog was read: pg_restore would follow it, so the path is refused.
    symlinkSync('/etc/hostname', path.join(dir, 'mystocks.dir', '3345.dat'));
    await expect(pgDumpPath(set(['mystocks.dir/toc.dat']))).rejects.toThrow(/set s1 is damaged: .*link/);
  });
});
