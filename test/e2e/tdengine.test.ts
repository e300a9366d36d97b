/**
 * PostgreSQL and TDengine in one set, through the built CLI and action. TDengine is the
 * stand-in of test/stand-ins/ (docs/tdengine.md): no real TDengine exists on these machines.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type Cluster } from '../helpers/pg-cluster.js';
import { seedMarketData } from '../helpers/market-data.js';
import { startTdStandIn, type TdStandIn } from '../helpers/tdengine-standin.js';
import { CLI, cli, incompleteDirs, json, readJson, runAction, setDirs, start, userEnv, workspace } from '../helpers/tool.js';
import { waitForChild } from '../helpers/faults.js';
import { seedMarketData as seedTdengine } from '../stand-ins/index.js';
import type { Manifest } from '../../src/catalog/manifest.js';
import type { RunResult } from '../../src/report/result.js';

let pgc: Cluster;
let td: TdStandIn;
beforeAll(async () => {
  pgc = await startCluster({ name: 'td' });
  await pgc.createDb('mystocks');
  await seedMarketData(pgc, 'mystocks');
  td = await startTdStandIn();
});
afterAll(async () => {
  await td?.close();
  await pgc?.destroy();
});

function both(extra: Record<string, unknown> = {}) {
  return workspace(pgc, 'mystocks', { tdengine: td.config(), ...extra });
}
const env = () => userEnv(pgc, td.env());
/** A taosdump dump (`-D`) among a run's children: argv[0], or the script a shebang ran, ends in /taosdump. */
const taosdumpDump = (cmd: string) => {
  const argv = cmd.split(' ');
  return argv.some((a) => a.endsWith('/taosdump')) && argv.includes('-D');
};
const marketRows = () => td.store.listDatabases().includes('market_data') ? td.seed.totalRows : -1;

describe('PostgreSQL + TDengine', () => {
  it('one backup makes one set holding both dumps; verify passes and never writes into market_data', async () => {
    const ws = both();
    const b = await cli(['backup', '--json'], { env: env(), cwd: ws.dir });
    expect(b.code, b.stderr).toBe(0);
    const set = json<RunResult>(b).set!;
    const m = readJson<Manifest>(path.join(set.path, 'manifest.json'));
    expect(m.postgres?.database).toBe('mystocks');
    expect(m.tdengine?.database).toBe('market_data');
    expect(m.tdengine!.server_version).toBe('3.3.6.13');
    const stRows = Object.fromEntries(m.tdengine!.stables.map((s) => [s.name, s.rows]));
    expect(stRows).toEqual(td.seed.stableRows);
    expect(m.tdengine!.files.some((f) => f.path.startsWith('tdengine/') && f.path.endsWith('dbs.sql'))).toBe(true);
    expect(json<RunResult>(b).engines.tdengine?.tables.length).toBeGreaterThan(0);

    const before = JSON.stringify(td.store.readDatabase('market_data'));
    const v = await cli(['verify', '--json'], { env: env(), cwd: ws.dir });
    expect(v.code, v.stderr).toBe(0);
    const checks = json<RunResult>(v).checks;
    expect(checks.filter((c) => c.name.startsWith('tdengine')).map((c) => [c.name, c.result])).toEqual([
      ['tdengine restore', 'passed'],
      ['tdengine row counts', 'passed'],
      ['tdengine rows after end_time', 'passed'],
    ]);
    // The benign ERROR lines a real successful restore prints (normal tables) did not fail it.
    expect(v.stderr).toMatch(/taosdump: .*DESCRIBE/);
    expect(JSON.stringify(td.store.readDatabase('market_data'))).toBe(before);
    expect(td.store.listDatabases()).not.toContain('market_data_verify');
    expect(marketRows()).toBeGreaterThan(0);
  });

  it('--engines tdengine: a TDengine-only set named after market_data', async () => {
    const ws = both();
    const b = await cli(['backup', '--engines', 'tdengine', '--json'], { env: env(), cwd: ws.dir });
    expect(b.code, b.stderr).toBe(0);
    const set = json<RunResult>(b).set!;
    expect(set.id).toMatch(/^market_data_\d{8}_\d{6}$/);
    const m = readJson<Manifest>(path.join(set.path, 'manifest.json'));
    expect(m.postgres).toBeUndefined();
    expect(m.tdengine).toBeDefined();
  });

  it('a partial dump that taosdump reports with exit 0 fails the run: exit 1, the lines quoted, no set', async () => {
    const ws = both();
    const victim = Object.keys(td.seed.rows).find((t) => t.startsWith('tick_'))!;
    td.store.updateServer({ faults: { failDumpTable: victim } });
    try {
      const r = await cli(['backup'], { env: env(), cwd: ws.dir });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/ERROR:/);
      expect(r.stderr).toContain('Earlier sets are untouched');
      expect(readdirSync(path.join(ws.root, 'daily'))).toEqual([]);
    } finally {
      td.store.updateServer({ faults: { failDumpTable: null } });
    }
  });

  it('verify fails with exit 1 on each seeded fault: missing rows, a damaged data file, a flipped byte', async () => {
    const ws = both();
    const set = json<RunResult>(await cli(['backup', '--json'], { env: env(), cwd: ws.dir })).set!;

    // Rows silently lost on restore (taos-tools#516): only the counts can see it.
    td.store.updateServer({ faults: { dropRowsOnRestore: 3 } });
    const lost = await cli(['verify', set.id, '--json'], { env: env(), cwd: ws.dir });
    td.store.updateServer({ faults: { dropRowsOnRestore: null } });
    expect(lost.code).toBe(1);
    expect(json<RunResult>(lost).checks.find((c) => c.name === 'tdengine row counts')?.result).toBe('failed');
    expect(td.store.listDatabases()).not.toContain('market_data_verify');

    // A data file that fails to decode on restore (taosdump still exits 0).
    const victim = Object.keys(td.seed.rows).find((t) => t.startsWith('minute_bar_'))!;
    td.store.updateServer({ faults: { corruptOnRestore: victim } });
    const damaged = await cli(['verify', set.id, '--json'], { env: env(), cwd: ws.dir });
    td.store.updateServer({ faults: { corruptOnRestore: null } });
    expect(damaged.code).toBe(1);
    expect(damaged.stderr).toMatch(/failures occurred to dump in|failed to dump/);
    expect(td.store.listDatabases()).not.toContain('market_data_verify');

    // A flipped byte in a TDengine file: the checksum names it before any restore.
    const m = readJson<Manifest>(path.join(set.path, 'manifest.json'));
    const f = m.tdengine!.files.find((x) => x.path.includes('data'))!;
    const abs = path.join(set.path, f.path);
    const buf = readFileSync(abs);
    buf[Math.floor(buf.length / 2)] ^= 0x01;
    writeFileSync(abs, buf);
    const flipped = await cli(['verify', set.id, '--json'], { env: env(), cwd: ws.dir });
    expect(flipped.code).toBe(1);
    expect(json<RunResult>(flipped).message).toContain(f.path);
  });

  it('a scratch database equal to market_data is a configuration error (exit 2)', async () => {
    const ws = both({ tdengine: td.config({ scratch_database: 'market_data' }) });
    const r = await cli(['verify'], { env: env(), cwd: ws.dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('tdengine.scratch_database: market_data is a production database');
  });

  it('taosAdapter down while taosd is up: its own clear message, fast', async () => {
    const ws = workspace(null, 'x', { tdengine: td.config() });
    await td.adapterDown();
    try {
      const r = await cli(['backup'], { env: env(), cwd: ws.dir });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/taosAdapter/);
    } finally {
      td.store.updateServer({ adapterUp: true });
      await td.adapter.refresh();
    }
  });

  it('no TDENGINE_PASSWORD: exit 2 before connecting (never the silent default password)', async () => {
    const ws = workspace(null, 'x', { tdengine: td.config() });
    const e = env();
    delete e.TDENGINE_PASSWORD;
    const r = await cli(['backup'], { env: e, cwd: ws.dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('TDENGINE_PASSWORD');
  });

  it('the action backs up both with the passwords as inputs; the summary shows TDengine beside PostgreSQL', async () => {
    const ws = both();
    const e = td.env();
    delete e.TDENGINE_PASSWORD;
    const r = await runAction(ws, { command: 'backup', 'postgres-password': pgc.password, 'tdengine-password': td.password }, e);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.outputs.status).toBe('success');
    expect(r.summary).toContain('### PostgreSQL: mystocks');
    expect(r.summary).toContain('### TDengine: market_data');
    expect(r.summary).not.toContain(td.password);
    expect(r.stdout.split(`::add-mask::${td.password}`).join('')).not.toContain(td.password);
    const m = readJson<Manifest>(path.join(r.outputs['set-path']!, 'manifest.json'));
    expect(m.tdengine?.stables.length).toBeGreaterThan(0);
  });
});

describe('restore with TDengine', () => {
  it('a set holding both needs --engines; TDengine restore takes a safety set, drops the target only after it, restores with -W, counts match; roll-back works', async () => {
    const ws = both();
    const set = json<RunResult>(await cli(['backup', '--json'], { env: env(), cwd: ws.dir })).set!;
    const ask = await cli(['restore', set.id, '--target', 'market_data', '--confirm', 'market_data'], { env: env(), cwd: ws.dir });
    expect(ask.code).toBe(2);
    expect(ask.stderr).toContain('--engines postgres or --engines tdengine');

    // Damage market_data: one child table loses its rows.
    const db = td.store.readDatabase('market_data')!;
    const victim = Object.keys(td.seed.rows).find((t) => t.startsWith('tick_'))!;
    const damaged = { ...db, rows: { ...db.rows, [victim]: [] } };
    td.store.writeDatabase(damaged);

    const r = await cli(['restore', set.id, '--engines', 'tdengine', '--target', 'market_data', '--confirm', 'market_data', '--json'], { env: env(), cwd: ws.dir });
    expect(r.code, r.stderr).toBe(0);
    const result = json<RunResult>(r);
    expect(result.checks.map((c) => [c.name, c.result])).toEqual([
      ['set files', 'passed'],
      ['safety set', 'passed'],
      ['tdengine restore', 'passed'],
      ['tdengine row counts', 'passed'],
      ['tdengine rows after end_time', 'passed'],
    ]);
    expect(td.store.countRows('market_data', victim, {})).toBe(td.seed.rows[victim]);
    const safety = readdirSync(path.join(ws.root, 'safety'));
    expect(safety).toHaveLength(1);
    expect(safety[0]).toMatch(/^safety_market_data_/);
    expect(result.message).toContain(`pgtaos-backup restore ${safety[0]} --engines tdengine --target market_data --confirm market_data`);
  });
});

describe('TDengine through the CLI: precision, a killed taosdump, the scratch guard', () => {
  it.each(['us', 'ns'] as const)('a %s database: backup counts rows up to its start (the later ones dumped and counted apart), verify passes on the scratch copy', async (precision) => {
    const now = Date.now();
    // one row a minute, an hour either side of now: the later half is "written after the dump's start"
    const tdp = await startTdStandIn({ seed: { precision, childrenPerStable: 2, rowsPerChild: 120, normalTableRows: 2, startTs: now - 3_600_000 + 500, stepMs: 60_000 } });
    try {
      const ws = workspace(null, 'x', { tdengine: tdp.config() });
      const e = userEnv(null, tdp.env());
      const b = await cli(['backup', '--json'], { env: e, cwd: ws.dir });
      expect(b.code, b.stderr).toBe(0);
      const m = readJson<Manifest>(path.join(json<RunResult>(b).set!.path, 'manifest.json'));
      expect(m.tdengine!.precision).toBe(precision);
      const end = Date.parse(m.tdengine!.end_time);
      const upToStart = (t: string) => tdp.store.countRows('market_data', t, { to: end })!;
      expect(upToStart('tick')).toBeGreaterThan(0);
      expect(upToStart('tick')).toBeLessThan(tdp.seed.stableRows.tick!);
      expect(m.tdengine!.stables.map((x) => [x.name, x.rows])).toEqual([['minute_bar', upToStart('minute_bar')], ['tick', upToStart('tick')]]);

      const v = await cli(['verify', '--json'], { env: e, cwd: ws.dir });
      expect(v.code, v.stderr).toBe(0);
      expect(json<RunResult>(v).checks.find((c) => c.name === 'tdengine row counts')?.result).toBe('passed');
    } finally {
      await tdp.close();
    }
  });

  it('taosdump killed (SIGKILL) mid-dump: exit 1, no complete set, nothing left in .incomplete', async () => {
    const ws = both();
    const run = start(CLI, ['backup'], { env: userEnv(pgc, td.env({}, { slowMs: 300 })), cwd: ws.dir });
    const taosdump = await waitForChild(run, taosdumpDump, 'taosdump to be dumping');
    process.kill(taosdump.pid, 'SIGKILL');
    const r = await run.done;
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('taosdump was killed by SIGKILL');
    expect(r.stderr).toContain('Earlier sets are untouched');
    expect(setDirs(ws)).toEqual([]);
    expect(incompleteDirs(ws)).toEqual([]);
  });

  // a regression: 20 future-dated calendar rows were in the server and in no backup, and every command said success
  it('future-dated rows are in the backup, counted apart, restored by verify, and their loss fails verify', async () => {
    const tdf = await startTdStandIn({ seed: { futureRows: 20 } });
    try {
      const ws = workspace(null, 'x', { tdengine: tdf.config() });
      const e = userEnv(null, tdf.env());
      const b = await cli(['backup', '--json'], { env: e, cwd: ws.dir });
      expect(b.code, b.stderr).toBe(0);
      expect(b.stderr).toContain('20 row(s) dated after');
      const set = json<RunResult>(b).set!;
      const m = readJson<Manifest>(path.join(set.path, 'manifest.json'));
      expect(m.tdengine!.rows_after_end_time).toBe(20);
      expect(m.tdengine!.tables).toEqual([{ name: 'calendar', rows: tdf.seed.rows.calendar! - 20 }]);

      const v = await cli(['verify', set.id, '--json'], { env: e, cwd: ws.dir });
      expect(v.code, v.stderr).toBe(0);
      const later = json<RunResult>(v).checks.find((c) => c.name === 'tdengine rows after end_time')!;
      expect(later.result).toBe('passed');
      expect(later.detail).toContain('calendar 20');

      // a restore that drops exactly those rows: the counts up to end_time still match, only this check sees it
      tdf.store.updateServer({ faults: { dropRowsOnRestore: { table: 'calendar', rows: 20 } } });
      const lost = await cli(['verify', set.id, '--json'], { env: e, cwd: ws.dir });
      expect(lost.code).toBe(1);
      const checks = Object.fromEntries(json<RunResult>(lost).checks.map((c) => [c.name, c.result]));
      expect(checks['tdengine row counts']).toBe('passed');
      expect(checks['tdengine rows after end_time']).toBe('failed');
    } finally {
      await tdf.close();
    }
  });

  // seen on a real server: taosdump blocked for minutes while taosd was down mid-dump
  it('taosd gone mid-dump: the backup fails after stall_timeout_seconds, keeps no set and frees the lock', async () => {
    const tds = await startTdStandIn();
    try {
      const ws = workspace(null, 'x', { tdengine: tds.config({ stall_timeout_seconds: 1 }) });
      const e = userEnv(null, tds.env());
      tds.store.updateServer({ faults: { taosdDownAfterTables: 2 } });
      const r = await cli(['backup'], { env: e, cwd: ws.dir });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('made no progress for 1 s');
      expect(setDirs(ws)).toEqual([]);
      expect(incompleteDirs(ws)).toEqual([]);
      // the server back: the next run is not blocked by a lock or a leftover
      tds.store.updateServer({ taosdUp: true });
      const again = await cli(['backup', '--json'], { env: e, cwd: ws.dir });
      expect(again.code, again.stderr).toBe(0);
    } finally {
      await tds.close();
    }
  });

  // verify passes the set to recreateScratch, so the dump's recorded name is refused before any DROP.
  it('a scratch equal to the database a set records (a set made with --tdengine-database): verify refuses (exit 2) and that database is untouched', async () => {
    seedTdengine(td.store, { database: 'md_real', childrenPerStable: 2, rowsPerChild: 5, normalTableRows: 2 });
    const maker = workspace(null, 'x', { tdengine: td.config({ database: 'md_real' }) });
    const b = await cli(['backup', '--json'], { env: env(), cwd: maker.dir });
    expect(b.code, b.stderr).toBe(0);
    const set = json<RunResult>(b).set!;
    const before = JSON.stringify(td.store.readDatabase('md_real'));
    const checker = workspace(null, 'x', { root: maker.root, tdengine: td.config({ scratch_database: 'md_real' }) });
    const v = await cli(['verify', set.id], { env: env(), cwd: checker.dir });
    expect(v.code).toBe(2);
    expect(v.stderr).toContain('it is the database the set\'s dump was made from');
    expect(JSON.stringify(td.store.readDatabase('md_real'))).toBe(before);
    // Refused in the prepare step: bad configuration, not a failed verification of a good set.
    expect(existsSync(path.join(set.path, 'verification.json'))).toBe(false);
    expect(v.stderr).not.toMatch(/TDengine: restore/);
  });
});
