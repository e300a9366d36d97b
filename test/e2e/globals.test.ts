/**
 * PostgreSQL globals on real clusters: each backup keeps the cluster's roles and tablespaces
 * (globals.sql, checksummed in the manifest), verify checks the file, and `restore --with-globals`
 * onto a NEW cluster brings the application role, its memberships and its grants, then a second
 * run reports the roles that already exist instead of failing. A backup user that is no superuser
 * works (no password hashes), and fails with a named error when the config asks for hashes.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type Cluster } from '../helpers/pg-cluster.js';
import { json, readJson, userEnv, withPostgres, workspace } from '../helpers/tool.js';
import { backupSet, run } from '../helpers/faults.js';
import type { Manifest } from '../../src/catalog/manifest.js';
import type { RunResult } from '../../src/report/result.js';

const APP_PASSWORD = 'app-Secret-42';
let src: Cluster;
let fresh: Cluster;
beforeAll(async () => {
  [src, fresh] = await Promise.all([startCluster({ name: 'globals-src' }), startCluster({ name: 'globals-new' })]);
  await src.createDb('mystocks');
  await src.psql(`
    CREATE ROLE app_readers NOLOGIN;
    CREATE ROLE app_rw LOGIN PASSWORD '${APP_PASSWORD}' IN ROLE app_readers;
    ALTER ROLE app_rw SET statement_timeout = '42s';
    -- Plain grants, not pg_read_all_data: that role reads pg_authid too (hashes included).
    CREATE ROLE backup_ro LOGIN PASSWORD 'backup-pw';
  `);
  await src.psql(`
    CREATE SCHEMA market AUTHORIZATION app_rw;
    SET ROLE app_rw;
    CREATE TABLE market.bars (id int PRIMARY KEY, close numeric NOT NULL);
    INSERT INTO market.bars SELECT g, g * 1.5 FROM generate_series(1, 200) g;
    GRANT USAGE ON SCHEMA market TO app_readers;
    GRANT SELECT ON market.bars TO app_readers;
    GRANT USAGE ON SCHEMA market TO backup_ro;
    GRANT SELECT ON market.bars TO backup_ro;
    RESET ROLE;
  `, 'mystocks');
});
afterAll(async () => {
  await Promise.all([src?.destroy(), fresh?.destroy()]);
});

const manifestOf = (setPath: string) => readJson<Manifest>(path.join(setPath, 'manifest.json'));

describe('globals: the roles and tablespaces beside each PostgreSQL dump', () => {
  it('a set restored onto a new cluster with --with-globals has the application role, its membership, settings and grants; a second restore reports the existing roles', async () => {
    const ws = workspace(src, 'mystocks');
    const set = await backupSet(ws, userEnv(src));
    const m = manifestOf(set.path);
    const g = m.postgres!.globals!;
    expect(g).toMatchObject({ path: 'globals.sql', password_hashes: false, tablespaces: [] });
    expect(g.roles).toEqual(expect.arrayContaining(['app_readers', 'app_rw', 'postgres']));
    expect(m.postgres!.files.map((f) => f.path)).toEqual(['mystocks.dump', 'globals.sql']);
    const text = readFileSync(path.join(set.path, 'globals.sql'), 'utf8');
    expect(text).toContain('CREATE ROLE app_rw;');
    expect(text).not.toMatch(/SCRAM-SHA-256|PASSWORD '/);

    const v = await run(ws, ['verify', set.id, '--json'], userEnv(src));
    expect(v.code, v.stderr).toBe(0);
    expect(json<RunResult>(v).checks).toEqual(expect.arrayContaining([
      expect.objectContaining({ name: 'checksum globals.sql', result: 'passed' }),
      expect.objectContaining({ name: 'postgres globals', result: 'passed' }),
    ]));

    // The new cluster reads the same backup root.
    const wsNew = workspace(fresh, 'mystocks', { root: ws.root });
    const r = await run(wsNew, ['restore', set.id, '--target', 'mystocks', '--confirm', 'mystocks', '--with-globals', '--json'], userEnv(fresh));
    expect(r.code, r.stderr).toBe(0);
    const checks = json<RunResult>(r).checks;
    expect(checks.map((c) => c.name)).toEqual(['set files', 'safety set', 'postgres globals', 'postgres restore', 'postgres row counts', 'postgres swap']);
    expect(checks.find((c) => c.name === 'postgres globals')!.detail).toMatch(/already there and left as they are: .*postgres/);

    const q = <T>(sql: string) => fresh.query<T>(sql, 'mystocks');
    expect((await q<{ n: string }>('SELECT count(*)::text AS n FROM market.bars'))[0]!.n).toBe('200');
    expect((await q<{ o: string }>("SELECT tableowner AS o FROM pg_tables WHERE schemaname = 'market' AND tablename = 'bars'"))[0]!.o).toBe('app_rw');
    expect((await q<{ ok: boolean }>("SELECT has_table_privilege('app_readers', 'market.bars', 'SELECT') AS ok"))[0]!.ok).toBe(true);
    expect((await q<{ ok: boolean }>("SELECT pg_has_role('app_rw', 'app_readers', 'MEMBER') AS ok"))[0]!.ok).toBe(true);
    expect((await q<{ c: string[] }>("SELECT rolconfig AS c FROM pg_roles WHERE rolname = 'app_rw'"))[0]!.c).toEqual(['statement_timeout=42s']);
    // No password hashes were kept: the role exists and cannot log in until given a password.
    expect((await q<{ p: string | null }>("SELECT rolpassword AS p FROM pg_authid WHERE rolname = 'app_rw'"))[0]!.p).toBeNull();

    // Again, now that the roles exist: reported and left as they are, not a failure.
    await fresh.psql("ALTER ROLE app_rw SET statement_timeout = '7s';");
    const again = await run(wsNew, ['restore', set.id, '--target', 'mystocks', '--confirm', 'mystocks', '--with-globals', '--json'], userEnv(fresh));
    expect(again.code, again.stderr).toBe(0);
    expect(json<RunResult>(again).checks.find((c) => c.name === 'postgres globals')!.detail).toMatch(/0 role\(s\) created.*already there and left as they are: .*app_readers, app_rw/);
    expect(again.stderr).toMatch(/roles that already exist on .*left as they are: .*app_rw/);
    expect((await q<{ c: string[] }>("SELECT rolconfig AS c FROM pg_roles WHERE rolname = 'app_rw'"))[0]!.c).toEqual(['statement_timeout=7s']);
  });

  it('with postgres.globals_password_hashes the hashes are kept in a 0600 file, and the restored role logs in with its password', async () => {
    const ws = workspace(src, 'mystocks');
    withPostgres(ws, { globals_password_hashes: true });
    const set = await backupSet(ws, userEnv(src));
    expect(manifestOf(set.path).postgres!.globals!.password_hashes).toBe(true);
    const file = path.join(set.path, 'globals.sql');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8')).toMatch(/ALTER ROLE app_rw WITH .*PASSWORD 'SCRAM-SHA-256/);

    // Another new cluster, so the role is created from the file (with its hash), not kept.
    const other = await startCluster({ name: 'globals-hashes' });
    try {
      const wsNew = workspace(other, 'hashes', { root: ws.root });
      const r = await run(wsNew, ['restore', set.id, '--target', 'hashes', '--confirm', 'hashes', '--with-globals'], userEnv(other));
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr + r.stdout).not.toContain(APP_PASSWORD);
      const n = await other.query<{ n: string }>('SELECT count(*)::text AS n FROM market.bars', 'hashes');
      expect(n[0]!.n).toBe('200');
      const c = new pg.Client({ host: other.host, port: other.port, user: 'app_rw', password: APP_PASSWORD, database: 'hashes' });
      await c.connect();
      expect((await c.query<{ u: string }>('SELECT current_user AS u')).rows[0]!.u).toBe('app_rw');
      await c.end();
    } finally {
      await other.destroy();
    }
  });

  it('a backup user that is no superuser: works without password hashes; with them, fails with a named error and keeps nothing', async () => {
    const ws = workspace(src, 'mystocks');
    withPostgres(ws, { user: 'backup_ro' });
    const env = userEnv(src, { PGPASSWORD: 'backup-pw' });
    const set = await backupSet(ws, env);
    expect(manifestOf(set.path).postgres!.globals!.roles).toEqual(expect.arrayContaining(['app_rw', 'backup_ro']));

    withPostgres(ws, { globals_password_hashes: true });
    const r = await run(ws, ['backup', '--json'], env);
    expect(r.code, r.stderr).toBe(1);
    const res = json<RunResult>(r);
    expect(res.error!.code).toBe('postgres.globals_denied');
    expect(res.error!.message).toMatch(/backup user backup_ro cannot read pg_authid/);
    expect(r.stderr).toMatch(/Remove postgres\.globals_password_hashes/);
    expect(readdirSync(path.join(ws.root, 'daily'))).toEqual([path.basename(set.path)]);
  });
});
