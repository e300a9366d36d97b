/**
 * restore on real PostgreSQL: the set is read before anything is touched; the
 * restore fills a new database and swaps it in (no pg_restore --clean over the target); database-
 * level statements run on the maintenance database; timescaledb.restoring never survives; a stop
 * before the swap says the target was not touched.
 */
import { existsSync, readFileSync, truncateSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type Cluster } from '../helpers/pg-cluster.js';
import { seedMarketData, type MarketDataResult } from '../helpers/market-data.js';
import { fakeBinDir } from '../helpers/fake-bin.js';
import { json, readJson, setDirs, userEnv, withPostgres, workspace, type Workspace } from '../helpers/tool.js';
import { backupSet, interrupt, launch, lockFiles, run } from '../helpers/faults.js';
import type { Manifest } from '../../src/catalog/manifest.js';
import type { RunResult } from '../../src/report/result.js';

let pgc: Cluster;
let seeded: MarketDataResult;
beforeAll(async () => {
  pgc = await startCluster({ name: 'restore-swap' });
  await pgc.createDb('mystocks');
  seeded = await seedMarketData(pgc, 'mystocks');
});
afterAll(async () => {
  await pgc?.destroy();
});

const env = () => userEnv(pgc);
async function count(table: string, db = 'mystocks'): Promise<number> {
  return Number((await pgc.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${table}`, db))[0]!.n);
}
async function databases(): Promise<string[]> {
  return (await pgc.query<{ datname: string }>('SELECT datname FROM pg_database ORDER BY 1')).map((d) => d.datname);
}
/** The user tables of `db`, schema-qualified (what a restore must leave: the set's tables, no others). */
async function tables(db: string): Promise<string[]> {
  return (await pgc.query<{ t: string }>("SELECT table_schema || '.' || table_name AS t FROM information_schema.tables WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1", db)).map((r) => r.t);
}
/** Databases carrying timescaledb.restoring (as timescaledb_pre_restore() leaves it). */
async function restoringFlags(): Promise<string[]> {
  return (await pgc.query<{ datname: string }>("SELECT d.datname FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase WHERE array_to_string(s.setconfig, ',') LIKE '%timescaledb.restoring%'")).map((r) => r.datname);
}
async function damage(): Promise<number> {
  await pgc.psql('DELETE FROM public.daily_bars WHERE trade_date > (SELECT min(trade_date) FROM public.daily_bars);', 'mystocks');
  return count('public.daily_bars');
}
async function repair(ws: Workspace, setId: string): Promise<void> {
  const r = await run(workspace(pgc, 'mystocks', { root: ws.root }), ['restore', setId, '--target', 'mystocks', '--confirm', 'mystocks'], env());
  expect(r.code, r.stderr).toBe(0);
  for (const [t, n] of Object.entries(seeded.tables)) expect(await count(t), t).toBe(n);
}
const restoreArgs = (id: string, target = 'mystocks') => ['restore', id, '--target', target, '--confirm', target];
/** A pg_restore wrapper: --list runs as is; a restore runs `body` (shell; $DB is the -d database). */
function pgRestoreDoing(body: string): string {
  return fakeBinDir(pgc.clientBinDir, {
    pg_restore: ['case "$1" in --list) exec "$REAL" "$@";; esac', 'DB=""; prev=""; for a in "$@"; do [ "$prev" = "-d" ] && DB="$a"; prev="$a"; done', body].join('\n'),
  });
}
/** Shell: plants timescaledb.restoring on $DB, as timescaledb_pre_restore() does (plain PostgreSQL takes it as a placeholder). */
const plantRestoring = () =>
  `"$(dirname "$REAL")/psql" -X -q -h ${pgc.host} -p ${pgc.port} -U ${pgc.user} -d postgres -c "ALTER DATABASE \\"$DB\\" SET timescaledb.restoring = 'on'" || exit 3`;

describe('restore into a new database, swapped in', () => {
  it('a target with a table made after the backup holds exactly the set afterwards (a --clean restore leaves that table); a leftover new copy is replaced', async () => {
    const ws = workspace(pgc, 'mystocks');
    const set = await backupSet(ws, env());
    await pgc.psql('CREATE TABLE public.made_after_backup (id int); INSERT INTO public.made_after_backup SELECT generate_series(1, 5);', 'mystocks');
    await damage();
    // What a run killed mid-restore leaves: the new copy, half filled.
    await pgc.psql('CREATE DATABASE mystocks_pgtaos_new');
    const r = await run(ws, [...restoreArgs(set.id), '--json'], env());
    expect(r.code, r.stderr).toBe(0);
    expect(await tables('mystocks')).toEqual(Object.keys(seeded.tables).sort());
    for (const [t, n] of Object.entries(seeded.tables)) expect(await count(t), t).toBe(n);
    expect((await databases()).filter((d) => d.includes('_pgtaos_'))).toEqual([]);
    // The table is not lost: the safety set holds it.
    const safety = readJson<Manifest>(path.join(ws.root, 'safety', setDirs(ws, 'safety')[0]!, 'manifest.json'));
    expect(safety.postgres!.tables.find((t) => t.name === 'public.made_after_backup')?.rows).toBe(5);
    expect(json<RunResult>(r).message).toBe(`restored ${set.id} into mystocks. To roll back: pgtaos-backup restore ${setDirs(ws, 'safety')[0]} --target mystocks --confirm mystocks`);
  });

  it('the production database dropped: the restore re-creates it (existence check and CREATE DATABASE on the maintenance database)', async () => {
    const ws = workspace(pgc, 'mystocks');
    const set = await backupSet(ws, env());
    await pgc.psql('DROP DATABASE mystocks WITH (FORCE)');
    const r = await run(ws, [...restoreArgs(set.id), '--json'], env());
    expect(r.code, r.stderr).toBe(0);
    expect(json<RunResult>(r).checks.find((c) => c.name === 'safety set')).toMatchObject({ result: 'skipped' });
    for (const [t, n] of Object.entries(seeded.tables)) expect(await count(t), t).toBe(n);
    expect(setDirs(ws, 'safety')).toEqual([]);
  });

  it('other sessions on the target are ended for the swap, and the restore completes', async () => {
    const ws = workspace(pgc, 'mystocks');
    const set = await backupSet(ws, env());
    const idle = new pg.Client({ host: pgc.host, port: pgc.port, user: pgc.user, password: pgc.password, database: 'mystocks' });
    idle.on('error', () => {});
    await idle.connect();
    try {
      const r = await run(ws, restoreArgs(set.id), env());
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain('ended 1 other session(s) on mystocks');
      await expect(idle.query('SELECT 1')).rejects.toThrow();
    } finally {
      await idle.end().catch(() => {});
    }
  });

  it('the replaced database keeps its owner, settings and grants; a leftover timescaledb.restoring is not carried over', async () => {
    const ws = workspace(pgc, 'mystocks');
    const set = await backupSet(ws, env());
    expect((await run(ws, restoreArgs(set.id, 'shaped'), env())).code).toBe(0);
    await pgc.psql(`CREATE ROLE app_owner; CREATE ROLE app_reader;
      ALTER DATABASE shaped OWNER TO app_owner;
      ALTER DATABASE shaped SET search_path = analytics, "$user", public;
      ALTER DATABASE shaped SET work_mem = '8MB';
      ALTER ROLE app_reader IN DATABASE shaped SET statement_timeout = '5s';
      REVOKE ALL ON DATABASE shaped FROM PUBLIC; GRANT CONNECT ON DATABASE shaped TO app_reader;
      ALTER DATABASE shaped SET timescaledb.restoring = 'on';`);
    const shape = () => pgc.query<{ owner: string; acl: string; settings: string }>(
      "SELECT pg_get_userbyid(d.datdba) AS owner, d.datacl::text AS acl, (SELECT string_agg(coalesce(pg_get_userbyid(nullif(s.setrole, 0)), '*') || ':' || array_to_string(s.setconfig, ';'), ' | ' ORDER BY 1) FROM pg_db_role_setting s WHERE s.setdatabase = d.oid) AS settings FROM pg_database d WHERE d.datname = 'shaped'",
    );
    const before = (await shape())[0]!;
    const r = await run(ws, restoreArgs(set.id, 'shaped'), env());
    expect(r.code, r.stderr).toBe(0);
    const after = (await shape())[0]!;
    expect(after.owner).toBe('app_owner');
    expect(after.acl).toBe(before.acl);
    expect(after.settings).toBe(before.settings.replace(';timescaledb.restoring=on', ''));
    expect(after.settings).toContain('search_path=analytics, "$user", public');
    expect(await restoringFlags()).toEqual([]);
  });
});

describe('the set is read before anything is touched', () => {
  it.each([
    ['cut in half', (f: string) => truncateSync(f, Math.floor(statSync(f).size / 2))],
    ['one byte changed', (f: string) => {
      const b = readFileSync(f);
      b[b.length - 100] ^= 0xff;
      writeFileSync(f, b);
    }],
  ])('a dump %s (manifest untouched): exit 1 naming the damage, no safety set, the target unchanged', async (_what, spoil) => {
    const ws = workspace(pgc, 'mystocks');
    const set = await backupSet(ws, env());
    // A change after the backup: a restore that ran would take it away.
    await pgc.psql('CREATE TABLE public.since_backup (id int); INSERT INTO public.since_backup VALUES (1), (2), (3);', 'mystocks');
    spoil(path.join(set.path, 'mystocks.dump'));
    const r = await run(ws, [...restoreArgs(set.id), '--json'], env());
    expect(r.code).toBe(1);
    const result = json<RunResult>(r);
    expect(result.error!.code).toBe('restore.damaged_set');
    expect(result.error!.message).toMatch(new RegExp(`^set ${set.id} is damaged, so it was not restored: mystocks\\.dump: .*; the restore of ${set.id} had not started: mystocks was not touched$`));
    expect(existsSync(path.join(ws.root, 'safety'))).toBe(false);
    expect(r.stderr).not.toContain('$ pg_restore -h');
    expect(await count('public.since_backup')).toBe(3);
    for (const [t, n] of Object.entries(seeded.tables)) expect(await count(t), t).toBe(n);
    expect(lockFiles(ws.root)).toEqual([]);
    await pgc.psql('DROP TABLE public.since_backup', 'mystocks');
  });

  it('an old copy left by an earlier swap is refused and kept, before the safety set', async () => {
    const ws = workspace(pgc, 'mystocks');
    const set = await backupSet(ws, env());
    await pgc.psql('CREATE DATABASE mystocks_pgtaos_old');
    const r = await run(ws, restoreArgs(set.id), env());
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('database mystocks_pgtaos_old exists: an earlier restore replaced mystocks and left the old copy behind');
    expect(await databases()).toContain('mystocks_pgtaos_old');
    expect(setDirs(ws, 'safety')).toEqual([]);
    await pgc.psql('DROP DATABASE mystocks_pgtaos_old');
  });
});

describe('a restore that stops before the swap', () => {
  it('pg_restore fails before reading the dump: "mystocks was not touched", never "may be partly restored"', async () => {
    const ws = workspace(pgc, 'mystocks');
    withPostgres(ws, { bin_dir: pgRestoreDoing('echo "pg_restore: error: connection to server at \\"127.0.0.1\\", port 1 failed: Connection refused" >&2\nexit 1') });
    const set = await backupSet(ws, env());
    const damaged = await damage();
    const r = await run(ws, [...restoreArgs(set.id), '--json'], env());
    expect(r.code).toBe(1);
    const err = json<RunResult>(r).error!;
    expect(err.message).toContain(`mystocks was not touched (the restore of ${set.id} was filling a new database, mystocks_pgtaos_new, which is dropped)`);
    expect(r.stderr).not.toContain('partly restored');
    expect(err.hint).not.toContain('To roll back');
    expect(await count('public.daily_bars')).toBe(damaged);
    expect((await databases()).filter((d) => d.includes('_pgtaos_'))).toEqual([]);
    await repair(ws, set.id);
  });

  it('counts of the restored copy that differ from the manifest: not swapped in, the target unchanged', async () => {
    const ws = workspace(pgc, 'mystocks');
    const set = await backupSet(ws, env());
    const damaged = await damage();
    const mf = path.join(set.path, 'manifest.json');
    const m = readJson<Manifest>(mf);
    m.postgres!.tables.find((t) => t.name === 'public.daily_bars')!.rows += 1;
    writeFileSync(mf, JSON.stringify(m));
    const r = await run(ws, [...restoreArgs(set.id), '--json'], env());
    expect(r.code).toBe(1);
    const err = json<RunResult>(r).error!;
    expect(err.code).toBe('restore.counts_differ');
    expect(err.message).toContain('differs from the manifest');
    expect(err.message).toContain('mystocks was not touched');
    expect(await count('public.daily_bars')).toBe(damaged);
    expect((await databases()).filter((d) => d.includes('_pgtaos_'))).toEqual([]);
    m.postgres!.tables.find((t) => t.name === 'public.daily_bars')!.rows -= 1;
    writeFileSync(mf, JSON.stringify(m));
    await repair(ws, set.id);
  });
});

describe('timescaledb.restoring (planted during pg_restore, as timescaledb_pre_restore() sets it)', () => {
  it('after a restore that succeeds, the target does not carry it', async () => {
    const ws = workspace(pgc, 'mystocks');
    withPostgres(ws, { bin_dir: pgRestoreDoing(`${plantRestoring()}\nexec "$REAL" "$@"`) });
    const set = await backupSet(ws, env());
    const r = await run(ws, restoreArgs(set.id), env());
    expect(r.code, r.stderr).toBe(0);
    expect(await restoringFlags()).toEqual([]);
  });

  it.each([
    ['fails', `${'"$REAL" "$@"'}\necho "pg_restore: error: simulated" >&2\nexit 1`, null],
    ['is cancelled (SIGINT)', `${'"$REAL" "$@"'}\nexec sleep 600`, 'SIGINT'],
  ] as const)('after a restore that %s, no database carries it and the new copy is gone', async (_what, then, sig) => {
    const ws = workspace(pgc, 'mystocks');
    withPostgres(ws, { bin_dir: pgRestoreDoing(`${plantRestoring()}\n${then}`) });
    const set = await backupSet(ws, env());
    const damaged = await damage();
    const started = launch(ws, restoreArgs(set.id), env());
    const r = sig ? (await interrupt(started, sig, (cmd) => cmd.startsWith('sleep 600'), { what: 'pg_restore to be running' })).r : await started.done;
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('mystocks was not touched');
    expect(await restoringFlags()).toEqual([]);
    expect((await databases()).filter((d) => d.includes('_pgtaos_'))).toEqual([]);
    expect(await count('public.daily_bars')).toBe(damaged);
    expect(lockFiles(ws.root)).toEqual([]);
    await repair(ws, set.id);
  });
});
