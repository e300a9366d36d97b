/**
 * Dump options benchmark: `pgtaos-backup backup` with each postgres.format / postgres.compress (and
 * dump_jobs for the directory format) on the same database, side by side: the backup's wall time (pg_dump
 * on the exported snapshot, the counts beside it, the checksums after), the archive's size, and a bare
 * `pg_restore -j <jobs>` of that archive into a new database (the part of verify and restore that the
 * options change). Only what the machine's pg_dump can write is run: lz4 and zstd need pg_dump 16+ and
 * are listed as skipped with an older client. No target: the table is for choosing a default.
 *
 *   npx tsx bench/dump-options-bench.ts [--mb 200] [--rounds 1] [--warmup 0] [--jobs 2] [--json] [--keep]
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { buildDatabase, fmtBytes, fmtS, machine, measure, median, mustSucceed, note, parseArgs, runMain, runTool, settle, setup, table, type Env } from './lib.js';
import type { Manifest } from '../src/catalog/manifest.js';
import type { RunResult } from '../src/report/result.js';

const DB = 'mystocks';

interface Option {
  label: string;
  postgres: { format?: 'custom' | 'directory'; compress?: string; dump_jobs?: number };
  /** pg_dump major this needs. */
  since: number;
}

function options(jobs: number): Option[] {
  const dir = (compress: string | undefined): Option => ({ label: `directory, ${compress ?? 'default'}, -j ${jobs}`, postgres: { format: 'directory', ...(compress ? { compress } : {}), dump_jobs: jobs }, since: compress?.startsWith('lz4') || compress?.startsWith('zstd') ? 16 : 0 });
  return [
    { label: 'custom, default (runbook)', postgres: {}, since: 0 },
    { label: 'custom, none', postgres: { compress: 'none' }, since: 0 },
    { label: 'custom, gzip:1', postgres: { compress: 'gzip:1' }, since: 0 },
    { label: 'custom, gzip:9', postgres: { compress: 'gzip:9' }, since: 0 },
    { label: 'custom, lz4', postgres: { compress: 'lz4' }, since: 16 },
    { label: 'custom, zstd:3', postgres: { compress: 'zstd:3' }, since: 16 },
    dir(undefined),
    dir('none'),
    dir('gzip:1'),
    dir('lz4'),
    dir('zstd:3'),
  ];
}

interface Row {
  label: string;
  skipped: string | null;
  backupMs: number | null;
  bytes: number | null;
  files: number | null;
  restoreMs: number | null;
}

/** The major version of the pg_dump the tool will run (the cluster's client binaries come first on PATH). */
function pgDumpMajor(env: Env): number {
  const out = spawnSync(env.bin('pg_dump'), ['--version'], { encoding: 'utf8' }).stdout;
  return Number(/\(PostgreSQL\)\s+(\d+)/.exec(out)?.[1] ?? 0);
}

async function oneOption(env: Env, opt: Option, jobs: number, round: number): Promise<{ backupMs: number; bytes: number; files: number; restoreMs: number }> {
  const c = env.cluster;
  const dir = path.join(env.work, `opt-${round}-${opt.label.replace(/[^a-z0-9]+/gi, '_')}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'pgtaos-backup.yml'), stringify({ root: path.join(dir, 'backups'), timezone: 'Asia/Shanghai', min_free_gb: 0, postgres: { host: c.host, port: c.port, user: c.user, database: DB, jobs, ...opt.postgres } }));
  await settle(env);
  const b = mustSucceed(await runTool(env, ['backup', '--json'], dir, opt.label), `backup (${opt.label})`);
  const set = (JSON.parse(b.stdout) as RunResult).set!;
  const m = JSON.parse(readFileSync(path.join(set.path, 'manifest.json'), 'utf8')) as Manifest;
  const files = m.postgres!.files;
  const archive = opt.postgres.format === 'directory' ? path.join(set.path, files[0]!.path.split('/')[0]!) : path.join(set.path, files[0]!.path);
  const target = `bench_restore_${round}`;
  await c.psql(`DROP DATABASE IF EXISTS ${target}; CREATE DATABASE ${target};`);
  await settle(env);
  const r = mustSucceed(await measure(env.bin('pg_restore'), ['-h', c.host, '-p', String(c.port), '-U', c.user, '-d', target, '-j', String(jobs), '--exit-on-error', archive], { env: env.childEnv, cwd: dir, label: 'pg_restore' }), `pg_restore (${opt.label})`);
  await c.psql(`DROP DATABASE ${target};`);
  return { backupMs: b.wallMs, bytes: files.reduce((a, f) => a + f.bytes, 0), files: files.length, restoreMs: r.wallMs };
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2), 'dump-options-bench.ts');
  const env = await setup(args, 'dumpopts');
  const db = await buildDatabase(env, DB, args.mb);
  const major = pgDumpMajor(env);
  const rows: Row[] = [];
  for (const opt of options(args.jobs)) {
    if (major < opt.since) {
      rows.push({ label: opt.label, skipped: `needs pg_dump ${opt.since}+ (found ${major})`, backupMs: null, bytes: null, files: null, restoreMs: null });
      continue;
    }
    for (let w = 0; w < args.warmup; w++) await oneOption(env, opt, args.jobs, -1 - w);
    const runs = [];
    for (let i = 0; i < args.rounds; i++) {
      note(`${opt.label}: round ${i + 1}/${args.rounds}`);
      runs.push(await oneOption(env, opt, args.jobs, i));
    }
    rows.push({ label: opt.label, skipped: null, backupMs: median(runs.map((x) => x.backupMs)), bytes: runs[0]!.bytes, files: runs[0]!.files, restoreMs: median(runs.map((x) => x.restoreMs)) });
  }
  if (args.json) {
    process.stdout.write(`${JSON.stringify({ machine: machine(), database: db, pg_dump_major: major, jobs: args.jobs, rounds: args.rounds, rows }, null, 2)}\n`);
    return 0;
  }
  const m = machine();
  process.stdout.write(`Dump options on ${fmtBytes(db.bytes)} (${db.rows} rows, ${db.tables} tables), PostgreSQL ${db.serverVersion}, pg_dump ${major}, ${m.cpus} CPU, pg_restore -j ${args.jobs}, median of ${args.rounds} round(s)\n\n`);
  process.stdout.write(
    `${table(
      ['format, compression', 'backup s', 'archive', 'files', 'pg_restore s'],
      rows.map((r) => (r.skipped ? [r.label, '-', '-', '-', r.skipped] : [r.label, fmtS(r.backupMs), fmtBytes(r.bytes!), r.files!, fmtS(r.restoreMs)])),
    )}\n`,
  );
  return 0;
}

runMain(main);
