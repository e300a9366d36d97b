/**
 * Point-in-time recovery benchmark (bench/README.md): the time to recover a database of about --mb MB
 * to a point through Barman (`restore --pitr --to T --into DIR --start-on PORT`: base backup copy, WAL
 * replay to T, promotion, every table counted) beside a full logical restore of the same data
 * (createdb + `pg_restore -j <jobs>` of the nightly dump). One round each: it loads the machine.
 *
 *   npx tsx bench/pitr-bench.ts [--mb 1000] [--jobs 2] [--keep]
 *
 * Needs barman (apt install barman). When run as root the tool runs as the cluster's OS user.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { stringify } from 'yaml';
import { serverOsUser } from '../test/helpers/pg-common.js';
import { buildDatabase, fmtBytes, fmtS, note, parseArgs, runMain, setup, table } from './lib.js';

const DB = 'mystocks';

runMain(async () => {
  const args = parseArgs(process.argv.slice(2), 'pitr-bench.ts');
  if (spawnSync('barman', ['--version']).status !== 0) throw new Error('barman is not installed (apt install barman)');
  const env = await setup(args, 'pitr');
  const u = serverOsUser();
  const as = u ? { uid: u.uid, gid: u.gid } : {};
  const chownAll = (p: string) => {
    if (!u) return;
    spawnSync('chown', ['-R', `${u.uid}:${u.gid}`, p]);
  };
  const info = await buildDatabase(env, DB, args.mb);
  const c = env.cluster;
  const home = path.join(env.work, 'barman');
  writeFileSync(path.join(env.work, 'pgtaos-backup.yml'), stringify({
    root: path.join(env.work, 'backups'), timezone: 'UTC', min_free_gb: 0,
    postgres: { host: c.host, port: c.port, user: c.user, database: DB, jobs: args.jobs },
    pitr: { barman_home: home, host: c.host, port: c.port, user: c.user, slot: 'bench', bin_dir: c.binDir },
  }));
  chownAll(env.work);
  const childEnv = { ...env.childEnv, PITR_PGPASSWORD: c.password, HOME: env.work };
  const tool = (label: string, ...a: string[]): number => {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, [env.cli, ...a], { cwd: env.work, env: childEnv, encoding: 'utf8', ...as });
    const ms = performance.now() - t0;
    if (r.status !== 0) throw new Error(`${label} failed (exit ${r.status}):\n${r.stderr.split('\n').slice(-15).join('\n')}`);
    note(`${label}: ${fmtS(ms)} s`);
    return ms;
  };
  tool('pitr setup', 'pitr', 'setup');
  const baseMs = tool('pitr backup (base backup)', 'pitr', 'backup');
  const dumpMs = tool('backup (logical dump)', 'backup');
  await c.psql("CREATE TABLE bench_mark (id int); INSERT INTO bench_mark VALUES (1);", DB);
  await new Promise((r) => setTimeout(r, 1200));
  const [{ t }] = (await c.query<{ t: string }>("SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00' AS t")) as [{ t: string }];
  await new Promise((r) => setTimeout(r, 1200));
  await c.psql('INSERT INTO bench_mark VALUES (2);', DB);
  const into = path.join(env.work, 'recovered');
  const port = 20000 + Math.floor(Math.random() * 20000);
  const pitrMs = tool('restore --pitr (recover to T, start, count)', 'restore', '--pitr', '--to', t, '--into', into, '--start-on', String(port));
  spawnSync(path.join(c.binDir, 'pg_ctl'), ['-D', into, '-m', 'immediate', '-w', 'stop'], as);

  const dumpFile = readdirSync(path.join(env.work, 'backups', 'daily'), { recursive: true }).map(String).find((f) => f.endsWith('.dump'))!;
  const t0 = performance.now();
  await c.createDb('mystocks_restored');
  const r = spawnSync(env.bin('pg_restore'), ['-j', String(args.jobs), '--no-owner', '--no-acl', '-h', c.host, '-p', String(c.port), '-U', c.user, '-d', 'mystocks_restored', path.join(env.work, 'backups', 'daily', dumpFile)], { env: env.childEnv, encoding: 'utf8' });
  const logicalMs = performance.now() - t0;
  if (r.status !== 0) throw new Error(`pg_restore failed: ${r.stderr}`);
  note(`pg_restore -j ${args.jobs}: ${fmtS(logicalMs)} s`);
  process.stdout.write(`\nDatabase ${DB}: ${fmtBytes(info.bytes)}, ${info.tables} tables, ${info.rows} rows; PostgreSQL ${info.serverVersion}\n\n`);
  process.stdout.write(table(['step', 'seconds'], [
    ['base backup (barman backup)', fmtS(baseMs)],
    ['nightly logical dump (backup)', fmtS(dumpMs)],
    ['recover to a point (restore --pitr --start-on: copy, replay, promote, count)', fmtS(pitrMs)],
    [`full logical restore (createdb + pg_restore -j ${args.jobs})`, fmtS(logicalMs)],
  ]) + '\n');
  return 0;
});
