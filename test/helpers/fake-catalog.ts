/**
 * A catalog on disk without any database: set folders holding a small fake dump (with its real
 * size and SHA-256) and a valid manifest written by writeManifest, as backup would leave them.
 * For prune/status/list tests and the catalog bench.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { SetKind } from '../../src/catalog/labels.js';
import { MANIFEST_FORMAT, MANIFEST_FILE, manifestFiles, manifestSchema, writeManifest, type FileEntry, type Manifest } from '../../src/catalog/manifest.js';
import { INCOMPLETE_DIR, kindDir } from '../../src/catalog/sets.js';
import { localTime } from '../../src/catalog/time.js';
import { writeVerification } from '../../src/catalog/verification.js';

export interface FakeSet {
  kind: SetKind;
  id: string;
  startedAt: Date;
  /** Default: postgres (config sets: config). */
  engines?: ('postgres' | 'tdengine' | 'config')[];
  verification?: { result: 'passed' | 'failed'; at: Date };
  /** The manifest's `bytes`, when it should claim more than the fake files hold (free-space tests). */
  bytes?: number;
}

export const DAY_MS = 86_400_000;
export const HOUR_MS = 3_600_000;

async function fakeFile(dir: string, rel: string, text: string): Promise<FileEntry> {
  const file = path.join(dir, rel);
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, text);
  return { path: rel, bytes: Buffer.byteLength(text), sha256: createHash('sha256').update(text).digest('hex') };
}

export function fakeManifest(s: FakeSet, files: Partial<Record<'postgres' | 'tdengine' | 'config', FileEntry[]>>, timezone: string): Manifest {
  const started = localTime(s.startedAt, timezone).iso;
  const m: Manifest = {
    format: MANIFEST_FORMAT,
    id: s.id,
    kind: s.kind,
    milestone: s.kind === 'milestone' ? s.id.replace(/_\d{8}(-\d+)?$/, '') : null,
    status: 'complete',
    started_at: started,
    finished_at: localTime(new Date(s.startedAt.getTime() + 60_000), timezone).iso,
    timezone,
    tool: { name: 'pgtaos-backup', version: '0.1.0' },
    hostname: os.hostname(),
    git: null,
    bytes: 0,
    ...(files.postgres
      ? {
          postgres: {
            server_version: '17.6',
            client_version: '17.6',
            database: 'mystocks',
            host: '127.0.0.1',
            port: 5432,
            archive_version: '1.16',
            database_bytes: null,
            snapshot: null,
            extensions: [],
            large_objects: 0,
            files: files.postgres,
            tables: [{ name: 'public.daily_kline', rows: 42 }],
          },
        }
      : {}),
    ...(files.tdengine
      ? {
          tdengine: {
            server_version: '3.3.6.13',
            client_version: '3.3.6.13',
            database: 'market_data',
            host: '127.0.0.1',
            port: 6030,
            precision: 'ms',
            end_time: started,
            files: files.tdengine,
            stables: [{ name: 'tick_data', child_tables: 2, rows: 10 }],
            tables: [],
          },
        }
      : {}),
    ...(files.config ? { config: { base_dir: '/opt/claude/mystocks_spec', paths: ['.env'], content_sha256: files.config[0]!.sha256, files: files.config } } : {}),
  };
  m.bytes = s.bytes ?? manifestFiles(m).reduce((a, f) => a + f.bytes, 0);
  return m;
}

/**
 * Writes one complete set. `fast` writes the manifest without fsync (for the 1,000-set catalog;
 * it is still validated against the schema first).
 */
export async function writeFakeSet(root: string, s: FakeSet, opts: { timezone?: string; fast?: boolean } = {}): Promise<string> {
  const dir = path.join(kindDir(root, s.kind), s.id);
  await fs.mkdir(dir, { recursive: true });
  const engines = s.engines ?? (s.kind === 'config' ? ['config'] : ['postgres']);
  const files: Partial<Record<'postgres' | 'tdengine' | 'config', FileEntry[]>> = {};
  if (engines.includes('postgres')) files.postgres = [await fakeFile(dir, 'mystocks.dump', `PGDMP fake dump of ${s.id}\n`.repeat(20))];
  if (engines.includes('tdengine')) files.tdengine = [await fakeFile(dir, 'market_data/dbs.sql', `CREATE DATABASE market_data; -- ${s.id}\n`.repeat(30))];
  if (engines.includes('config')) files.config = [await fakeFile(dir, 'config.tar', `fake tar of .env for ${s.id}\n`)];
  const manifest = fakeManifest(s, files, opts.timezone ?? 'Asia/Shanghai');
  if (opts.fast) await fs.writeFile(path.join(dir, MANIFEST_FILE), `${JSON.stringify(manifestSchema.parse(manifest), null, 2)}\n`);
  else await writeManifest(dir, manifest);
  if (s.verification) {
    await writeVerification(dir, {
      verified_at: localTime(s.verification.at, opts.timezone ?? 'Asia/Shanghai').iso,
      result: s.verification.result,
      checks: [{ name: 'checksums', result: s.verification.result, detail: 'fake' }],
      tool_version: '0.1.0',
    });
  }
  return dir;
}

/** A staging folder as a crashed run leaves it (with its marker and a partial dump). */
export async function writeStagingLeftover(root: string, id: string, kind: SetKind = 'daily', pid = 999999): Promise<string> {
  const dir = path.join(root, INCOMPLETE_DIR, `${id}.${pid}`);
  await fs.mkdir(dir, { recursive: true });
  await fs.writeFile(path.join(dir, '.staging.json'), JSON.stringify({ id, kind, pid }));
  await fs.writeFile(path.join(dir, 'mystocks.dump'), 'PGDMP partial'.repeat(100));
  return dir;
}

/** A set folder whose manifest was cut short (a disk filled up, a person edited it). */
export async function writeDamagedSet(root: string, kind: SetKind, id: string): Promise<string> {
  const dir = path.join(kindDir(root, kind), id);
  await fs.mkdir(dir, { recursive: true });
  await fs.writeFile(path.join(dir, 'mystocks.dump'), 'PGDMP maybe recoverable');
  await fs.writeFile(path.join(dir, MANIFEST_FILE), '{"format": 1, "id": "');
  return dir;
}

export async function writeConfigFile(dir: string, extra = ''): Promise<string> {
  const file = path.join(dir, 'pgtaos-backup.yml');
  await fs.writeFile(file, `root: ./catalog\ntimezone: Asia/Shanghai\npostgres:\n  database: mystocks\nmin_free_gb: 0\n${extra}`);
  return file;
}

/** A set id in the runbook's style for a moment in Asia/Shanghai, unique by a counter. */
function idFor(kind: SetKind, at: Date, n: number): string {
  const t = localTime(at, 'Asia/Shanghai');
  switch (kind) {
    case 'daily':
      return `mystocks_${t.date}_${t.time}-${n}`;
    case 'milestone':
      return `post_phase${n}_${t.date}`;
    case 'config':
      return `config_${t.date}_${t.time}-${n}`;
    case 'safety':
      return `safety_mystocks_${t.date}_${t.time}-${n}`;
  }
}

/**
 * `count` sets over about three years before `now`: mostly dailies (PostgreSQL at 00:00,
 * TDengine-only at 01:00), milestones, config snapshots and a few safety copies; the newest
 * daily is verified. Shaped so prune has much to remove.
 */
export function manySets(count: number, now: Date): FakeSet[] {
  const out: FakeSet[] = [];
  for (let i = 0; i < count; i++) {
    const r = i % 20;
    const kind: SetKind = r < 14 ? 'daily' : r < 17 ? 'config' : r < 19 ? 'milestone' : 'safety';
    const startedAt = new Date(now.getTime() - (i * 1.1 + 0.1) * DAY_MS);
    const engines: FakeSet['engines'] = kind === 'daily' ? (r % 2 === 0 ? ['postgres'] : ['tdengine']) : kind === 'config' ? ['config'] : ['postgres', 'tdengine'];
    out.push({ kind, id: idFor(kind, startedAt, i), startedAt, engines, ...(i === 0 ? { verification: { result: 'passed' as const, at: new Date(now.getTime() - HOUR_MS) } } : {}) });
  }
  return out;
}

/** Writes sets a few dozen at a time. */
export async function writeFakeSets(root: string, sets: FakeSet[], opts: { fast?: boolean } = {}): Promise<void> {
  for (let i = 0; i < sets.length; i += 50) await Promise.all(sets.slice(i, i + 50).map((s) => writeFakeSet(root, s, opts)));
}
