/**
 * restore --table: one table back into a damaged database (its rows, its index, foreign key and
 * sequence) while a table changed after the backup is untouched; the printed roll-back command;
 * an unknown table refused with nothing touched; a table a view depends on refused by the server
 * inside the one transaction, leaving it whole.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type Cluster } from '../helpers/pg-cluster.js';
import { seedMarketData, type MarketDataResult } from '../helpers/market-data.js';
import { json, runAction, setDirs, userEnv, workspace } from '../helpers/tool.js';
import { backupSet, run } from '../helpers/faults.js';
import type { RunResult } from '../../src/report/result.js';
import type { Manifest } from '../../src/catalog/manifest.js';

let pgc: Cluster;
let seeded: MarketDataResult;
beforeAll(async () => {
  pgc = await startCluster({ name: 'restoretable' });
  await pgc.createDb('mystocks');
  seeded = await seedMarketData(pgc, 'mystocks');
});
afterAll(async () => {
  await pgc?.destroy();
});

const env = () => userEnv(pgc);
async function one(sql: string): Promise<string> {
  return (await pgc.query<{ v: string }>(sql, 'mystocks'))[0]!.v;
}
const manifestOf = (ws: ReturnType<typeof workspace>, id: string) => JSON.parse(readFileSync(path.join(ws.root, 'safety', id, 'manifest.json'), 'utf8')) as Manifest;
const count = async (table: string) => Number(await one(`SELECT count(*)::text AS v FROM ${table}`));
/** What a table's own objects look like: its constraints and indexes, by name. */
const shape = (table: string) => one(`SELECT string_agg(n, ',' ORDER BY n) AS v FROM (SELECT conname::text AS n FROM pg_constraint WHERE conrelid = '${table}'::regclass UNION ALL SELECT indexname::text FROM pg_indexes WHERE schemaname || '.' || tablename = '${table}') s`);

describe('restore --table', () => {
  it('brings back exactly one table\'s rows, indexes, keys and sequence; a table changed since is untouched; the roll-back command works', async () => {
    const ws = workspace(pgc, 'mystocks');
    const set = await backupSet(ws, env());
    const ids = await one('SELECT string_agg(id::text, \',\' ORDER BY id) AS v FROM public.reports');
    const reportsShape = await shape('public.reports');
    // Damage one table; change another after the backup (that change must survive).
    await pgc.psql('DELETE FROM public.reports WHERE id > 2;', 'mystocks');
    await pgc.psql("INSERT INTO public.trading_calendar (trade_date, day_no) SELECT max(trade_date) + 1, max(day_no) + 1 FROM public.trading_calendar;", 'mystocks');
    const calendar = seeded.tables['public.trading_calendar']! + 1;

    const r = await run(ws, ['restore', set.id, '--table', 'public.reports', '--target', 'mystocks', '--confirm', 'mystocks', '--json'], env());
    expect(r.code, r.stderr).toBe(0);
    const result = json<RunResult>(r);
    expect(result.checks.map((c) => [c.name, c.result])).toEqual([
      ['set files', 'passed'],
      ['safety set', 'passed'],
      ['postgres restore', 'passed'],
      ['postgres row counts', 'passed'],
    ]);
    expect(await count('public.reports')).toBe(seeded.tables['public.reports']);
    expect(await one('SELECT string_agg(id::text, \',\' ORDER BY id) AS v FROM public.reports')).toBe(ids);
    expect(await shape('public.reports')).toBe(reportsShape);
    expect(await count('public.trading_calendar')).toBe(calendar);
    // The owned sequence came back at its dumped value: a new row gets the next id.
    expect(await one("INSERT INTO public.reports (symbol, title, published, pdf) VALUES ('AAA', 'x', '2024-01-01', 0) RETURNING id::text AS v")).toBe(String(seeded.tables['public.reports']! + 1));
    await pgc.psql(`DELETE FROM public.reports WHERE id > ${seeded.tables['public.reports']!};`, 'mystocks');

    // The safety set and the printed roll-back (only that table, from the safety set).
    const safetyIds = setDirs(ws, 'safety');
    expect(safetyIds).toHaveLength(1);
    const rollback = `pgtaos-backup restore ${safetyIds[0]} --table public.reports --target mystocks --confirm mystocks`;
    expect(result.message.endsWith(`To roll back: ${rollback}`)).toBe(true);
    // The safety set holds exactly the table replaced, as it was (2 rows), and verifies as such.
    const safety = manifestOf(ws, safetyIds[0]!);
    expect(safety.postgres!.only_tables).toEqual(['public.reports']);
    expect(safety.postgres!.tables.map((t) => [t.name, t.rows])).toEqual([['public.reports', 2]]);
    expect(safety.postgres!.large_objects).toBe(0);
    const verified = await run(ws, ['verify', safetyIds[0]!, '--json'], env());
    expect(verified.code, verified.stderr).toBe(0);
    expect(json<RunResult>(verified).checks.find((c) => c.name === 'postgres tables')?.detail).toContain('holds only public.reports (1 foreign key(s)');
    await pgc.psql("INSERT INTO public.trading_calendar (trade_date, day_no) SELECT max(trade_date) + 1, max(day_no) + 1 FROM public.trading_calendar;", 'mystocks');
    const back = await run(ws, rollback.split(' ').slice(1), env());
    expect(back.code, back.stderr).toBe(0);
    expect(await count('public.reports')).toBe(2);
    expect(await count('public.trading_calendar')).toBe(calendar + 1);
  });

  it('a table the target no longer has is created: not in the safety set, and the roll-back drops it', async () => {
    await pgc.psql("CREATE TABLE public.notes (id serial PRIMARY KEY, body text); INSERT INTO public.notes (body) SELECT 'n' || i FROM generate_series(1, 5) i;", 'mystocks');
    const ws = workspace(pgc, 'mystocks');
    const set = await backupSet(ws, env());
    await pgc.psql('DROP TABLE public.notes; DELETE FROM public.reports WHERE id > 1;', 'mystocks');
    const r = await run(ws, ['restore', set.id, '--table', 'public.notes', '--table', 'public.reports', '--target', 'mystocks', '--confirm', 'mystocks', '--json'], env());
    expect(r.code, r.stderr).toBe(0);
    expect(await count('public.notes')).toBe(5);
    const safetyIds = setDirs(ws, 'safety');
    expect(safetyIds).toHaveLength(1);
    expect(manifestOf(ws, safetyIds[0]!).postgres!.tables.map((t) => [t.name, t.rows])).toEqual([['public.reports', 1]]);
    const rollback = `pgtaos-backup restore ${safetyIds[0]} --table public.reports --target mystocks --confirm mystocks && psql -d mystocks -c 'DROP TABLE public.notes'`;
    expect(json<RunResult>(r).message.endsWith(`To roll back: ${rollback}`)).toBe(true);
    // The roll-back, as printed: the safety set's table first (it does not name the new one), then the drop.
    const [restoreCmd, dropCmd] = rollback.split(' && ');
    const back = await run(ws, restoreCmd!.split(' ').slice(1), env());
    expect(back.code, back.stderr).toBe(0);
    expect(dropCmd).toBe("psql -d mystocks -c 'DROP TABLE public.notes'");
    await pgc.psql('DROP TABLE public.notes;', 'mystocks');
    expect(await count('public.reports')).toBe(1);
    expect(await one("SELECT coalesce(to_regclass('public.notes')::text, 'gone') AS v")).toBe('gone');

    // Only new tables: nothing is replaced, so no safety set; the roll-back is the drop alone.
    const only = await run(ws, ['restore', set.id, '--table', 'public.notes', '--target', 'mystocks', '--confirm', 'mystocks', '--json'], env());
    expect(only.code, only.stderr).toBe(0);
    expect(setDirs(ws, 'safety')).toHaveLength(2); // the roll-back's own safety set, no new one
    expect(json<RunResult>(only).checks.find((c) => c.name === 'safety set')?.result).toBe('skipped');
    expect(json<RunResult>(only).message.endsWith("To roll back: psql -d mystocks -c 'DROP TABLE public.notes'")).toBe(true);
    await pgc.psql('DROP TABLE public.notes;', 'mystocks');
  });

  it('--as-schema: the tables beside the damaged ones in a new schema, keys between them kept, one to a table left behind named; nothing replaced; DROP SCHEMA rolls back', async () => {
    const ws = workspace(pgc, 'mystocks');
    const set = await backupSet(ws, env());
    const reports = await count('public.reports');
    await pgc.psql('DELETE FROM public.reports WHERE id > 1;', 'mystocks');
    const r = await run(ws, ['restore', set.id, '--table', 'public.reports', '--table', 'public.stocks', '--as-schema', 'side', '--target', 'mystocks', '--confirm', 'mystocks', '--json'], env());
    expect(r.code, r.stderr).toBe(0);
    const result = json<RunResult>(r);
    expect(result.checks.map((c) => [c.name, c.result])).toEqual([['set files', 'passed'], ['postgres restore', 'passed'], ['postgres row counts', 'passed']]);
    expect(await count('side.reports')).toBe(reports);
    expect(await count('side.stocks')).toBe(seeded.tables['public.stocks']);
    expect(await count('public.reports')).toBe(1);
    expect(setDirs(ws, 'safety')).toEqual([]);
    // Its key, index and owned sequence moved with it; the foreign key between the two chosen tables came along.
    expect(await shape('side.reports')).toBe((await shape('public.reports')));
    expect(await one("SELECT confrelid::regclass::text AS v FROM pg_constraint WHERE conrelid = 'side.reports'::regclass AND contype = 'f'")).toBe('side.stocks');
    expect(await one("SELECT pg_get_serial_sequence('side.reports', 'id') AS v")).toBe('side.reports_id_seq');
    expect(await one("SELECT count(*)::text AS v FROM pg_database WHERE datname LIKE 'pgtaos\\_tables\\_%'")).toBe('0');
    expect(result.message.endsWith("To roll back: psql -d mystocks -c 'DROP SCHEMA side CASCADE'")).toBe(true);
    await pgc.psql('DROP SCHEMA side CASCADE;', 'mystocks');

    // One table alone: its key to a table not restored cannot come along, and the run says so.
    const alone = await run(ws, ['restore', set.id, '--table', 'public.reports', '--as-schema', 'side', '--target', 'mystocks', '--confirm', 'mystocks', '--json'], env());
    expect(alone.code, alone.stderr).toBe(0);
    expect(alone.stderr).toContain('foreign key public.reports reports_symbol_fkey is left out of side');
    expect(json<RunResult>(alone).message).toContain('left out: foreign key public.reports reports_symbol_fkey');
    expect(await one("SELECT count(*)::text AS v FROM pg_constraint WHERE conrelid = 'side.reports'::regclass AND contype = 'f'")).toBe('0');
    expect(await count('side.reports')).toBe(reports);

    // Refused with exit 2 and nothing done: the schema exists now, a name that is not plain, two tables of one name.
    for (const [args, says] of [
      [['--table', 'public.reports', '--as-schema', 'side'], 'mystocks already has a schema side'],
      [['--table', 'public.reports', '--as-schema', 'Side-1'], 'not a plain identifier'],
      [['--table', 'public.reports', '--table', 'analytics.reports', '--as-schema', 'other'], 'public.reports and analytics.reports would have the same name there'],
      [['--as-schema', 'other'], '--as-schema goes with --table'],
      // The set's own schema of that name would land in the copy.
      [['--table', 'public.reports', '--as-schema', 'analytics'], 'has a schema analytics of its own'],
    ] as const) {
      const bad = await run(ws, ['restore', set.id, ...args, '--target', 'mystocks', '--confirm', 'mystocks'], env());
      expect(bad.code, bad.stderr).toBe(2);
      expect(bad.stderr).toContain(says);
    }
    const nodb = await run(ws, ['restore', set.id, '--table', 'public.reports', '--as-schema', 'other', '--target', 'nosuchdb', '--confirm', 'nosuchdb'], env());
    expect(nodb.code, nodb.stderr).toBe(2);
    expect(nodb.stderr).toContain('database nosuchdb does not exist');
    expect(await one("SELECT count(*)::text AS v FROM pg_namespace WHERE nspname = 'other'")).toBe('0');
    await pgc.psql('DROP SCHEMA side CASCADE;', 'mystocks');
    expect(await count('public.reports')).toBe(1);
  });

  it('restored rows that differ from the manifest: exit 1 naming the table, the hint holds the roll-back, which works', async () => {
    const ws = workspace(pgc, 'mystocks');
    const set = await backupSet(ws, env());
    // Whatever earlier cases left in it: one row fewer is the damaged state to roll back to.
    await pgc.psql('DELETE FROM public.reports WHERE id = (SELECT max(id) FROM public.reports);', 'mystocks');
    const damaged = await count('public.reports');
    // The manifest says one row more than the archive holds; the files' checksums still match.
    const file = path.join(set.path, 'manifest.json');
    const m = JSON.parse(readFileSync(file, 'utf8')) as Manifest;
    const entry = m.postgres!.tables.find((t) => t.name === 'public.reports')!;
    entry.rows += 1;
    writeFileSync(file, JSON.stringify(m, null, 2));
    const r = await run(ws, ['restore', set.id, '--table', 'public.reports', '--target', 'mystocks', '--confirm', 'mystocks', '--json'], env());
    expect(r.code, r.stderr).toBe(1);
    const error = json<RunResult>(r).error!;
    expect(error.code).toBe('restore.counts_differ');
    expect(error.message).toContain(`differ from the manifest of ${set.id}: public.reports`);
    const safetyIds = setDirs(ws, 'safety');
    const rollback = `pgtaos-backup restore ${safetyIds[0]} --table public.reports --target mystocks --confirm mystocks`;
    expect(error.hint).toContain(`To roll back: ${rollback}`);
    expect(await count('public.reports')).toBe(entry.rows - 1);
    const back = await run(ws, rollback.split(' ').slice(1), env());
    expect(back.code, back.stderr).toBe(0);
    expect(await count('public.reports')).toBe(damaged);

    // The same into a side schema: exit 1, and its roll-back is the DROP SCHEMA.
    const side = await run(ws, ['restore', set.id, '--table', 'public.reports', '--as-schema', 'side_bad', '--target', 'mystocks', '--confirm', 'mystocks', '--json'], env());
    expect(side.code, side.stderr).toBe(1);
    expect(json<RunResult>(side).error!.code).toBe('restore.counts_differ');
    expect(json<RunResult>(side).error!.message).toContain('side_bad.reports');
    expect(json<RunResult>(side).error!.hint).toContain("To roll back: psql -d mystocks -c 'DROP SCHEMA side_bad CASCADE'");
    await pgc.psql('DROP SCHEMA side_bad CASCADE;', 'mystocks');
  });

  it("README's restore by hand with stock tools works as written", async () => {
    const ws = workspace(pgc, 'mystocks');
    const set = await backupSet(ws, env());
    const rows = await count('public.reports');
    const before = await shape('public.reports');
    await pgc.psql('DELETE FROM public.reports;', 'mystocks');
    await pgc.psql('CREATE DATABASE scratch;', 'postgres');
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const block = /\*\*By hand, with stock tools:\*\*\n\n```sh\n([\s\S]*?)```/.exec(readme)![1]!;
    // A copy of the archive (the set's folder stays as written); the server through libpq's variables.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'pgtaos-byhand-'));
    copyFileSync(path.join(set.path, 'mystocks.dump'), path.join(dir, 'mystocks.dump'));
    const r = spawnSync('bash', ['-euo', 'pipefail', '-c', block], { cwd: dir, encoding: 'utf8', env: { ...pgc.env, PATH: `${pgc.binDir}:${process.env.PATH}`, PGHOST: pgc.host, PGPORT: String(pgc.port), PGUSER: pgc.user } });
    expect(r.status, r.stderr).toBe(0);
    expect(await count('public.reports')).toBe(rows);
    expect(await shape('public.reports')).toBe(before);
    expect(await one("SELECT col_description('public.reports'::regclass, 5) AS v")).toContain('Large object');
    expect((await pgc.query<{ n: string }>('SELECT count(*)::text AS n FROM public.reports', 'scratch'))[0]!.n).toBe(String(rows));
    await pgc.psql('DROP DATABASE scratch;', 'postgres');
    rmSync(dir, { recursive: true, force: true });
  });

  it('the action: tables (comma-separated) and as-schema, from workflow_dispatch', async () => {
    const ws = workspace(pgc, 'mystocks');
    const set = await backupSet(ws, env());
    const r = await runAction(ws, { command: 'restore', 'set-id': set.id, target: 'mystocks', confirm: 'mystocks', tables: 'public.reports, public.stocks', 'as-schema': 'side_action' }, { ...env(), GITHUB_EVENT_NAME: 'workflow_dispatch' });
    expect(r.code, r.stderr).toBe(0);
    expect(await count('side_action.reports')).toBe(await count('public.reports'));
    expect(await count('side_action.stocks')).toBe(seeded.tables['public.stocks']);
    expect(setDirs(ws, 'safety')).toEqual([]);
    await pgc.psql('DROP SCHEMA side_action CASCADE;', 'mystocks');
  });

  it('a table the set does not hold: exit 2 naming it, no safety set, nothing touched', async () => {
    const ws = workspace(pgc, 'mystocks');
    const set = await backupSet(ws, env());
    const before = await count('public.reports');
    const r = await run(ws, ['restore', set.id, '--table', 'public.reports', '--table', 'public.nosuch', '--target', 'mystocks', '--confirm', 'mystocks'], env());
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain('holds no table public.nosuch');
    expect(setDirs(ws, 'safety')).toEqual([]);
    expect(await count('public.reports')).toBe(before);
    const bad = await run(ws, ['restore', set.id, '--table', 'reports', '--target', 'mystocks', '--confirm', 'mystocks'], env());
    expect(bad.code, bad.stderr).toBe(2);
    expect(bad.stderr).toContain('not schema.table');
  });

  it('a table a view depends on cannot be dropped: the one transaction rolls back, its keys and rows stay (exit 1)', async () => {
    const ws = workspace(pgc, 'mystocks');
    const set = await backupSet(ws, env());
    await pgc.psql("DELETE FROM public.daily_bars WHERE symbol = 'AAA';", 'mystocks');
    const rows = await count('public.daily_bars');
    const before = await shape('public.daily_bars');
    const r = await run(ws, ['restore', set.id, '--table', 'public.daily_bars', '--target', 'mystocks', '--confirm', 'mystocks'], env());
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain('other objects depend on it');
    expect(r.stderr).toContain('one transaction was rolled back');
    expect(await count('public.daily_bars')).toBe(rows);
    expect(await shape('public.daily_bars')).toBe(before);
  });
});
