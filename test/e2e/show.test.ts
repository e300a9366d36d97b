/**
 * show <SET_ID> and list's filters against real PostgreSQL: `show --json` gives the manifest exactly
 * as written and the state beside it (verification.json, remotes.json); the text form names every
 * table with its row count; a wrong id is exit 2 with nothing on stdout; `list --kind/--engine/--last`
 * filter and the table ends with a totals line.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backupSet as backupSetIn } from '../helpers/faults.js';
import { startCluster, type Cluster } from '../helpers/pg-cluster.js';
import { seedMarketData } from '../helpers/market-data.js';
import { cli, json, readJson, userEnv, workspace, type Workspace } from '../helpers/tool.js';
import type { Manifest } from '../../src/catalog/manifest.js';
import type { RunResult } from '../../src/report/result.js';

let pgc: Cluster;
let ws: Workspace;
let daily: NonNullable<RunResult['set']>;
let milestone: NonNullable<RunResult['set']>;

beforeAll(async () => {
  pgc = await startCluster({ name: 'show' });
  await pgc.createDb('mystocks');
  await seedMarketData(pgc, 'mystocks');
  const share = mkdtempSync(path.join(os.tmpdir(), 'pgtaos-show-nas-'));
  ws = workspace(pgc, 'mystocks', { remotes: [{ type: 'path', name: 'nas', path: share, require_mount: false, include: ['daily'] }] });
  daily = await backupSetIn(ws, userEnv(pgc));
  // Verified twice: show lists the first as an earlier verification.
  for (let i = 0; i < 2; i++) {
    const v = await cli(['verify', daily.id, '--json'], { env: userEnv(pgc), cwd: ws.dir });
    expect(v.code, v.stderr).toBe(0);
  }
  const m = await cli(['milestone', 'post_phase2', '--json'], { env: userEnv(pgc), cwd: ws.dir });
  expect(m.code, m.stderr).toBe(0);
  milestone = json<RunResult>(m).set!;
});
afterAll(async () => {
  await pgc?.destroy();
});

describe('show', () => {
  it('--json gives the manifest exactly as written, and its verification and remote copies', async () => {
    const r = await cli(['show', daily.id, '--json'], { env: userEnv(null), cwd: ws.dir });
    expect(r.code, r.stderr).toBe(0);
    const result = json<RunResult>(r);
    const manifest = readJson<Manifest>(path.join(daily.path, 'manifest.json'));
    expect(result.show?.manifest).toEqual(manifest);
    expect(result.show?.state).toEqual({
      id: daily.id,
      kind: 'daily',
      status: 'complete',
      path: daily.path,
      reason: null,
      suspicious: null,
      verification: readJson(path.join(daily.path, 'verification.json')),
      remotes: readJson<{ copies: unknown[] }>(path.join(daily.path, 'remotes.json')).copies,
    });
    expect(result.show?.state.remotes).toHaveLength(1);
  });

  it('the text form names the engine, versions, files with sizes, every table with its row count, verification and copies', async () => {
    const r = await cli(['show', daily.id], { env: userEnv(null), cwd: ws.dir });
    expect(r.code, r.stderr).toBe(0);
    const manifest = readJson<Manifest>(path.join(daily.path, 'manifest.json'));
    const pg = manifest.postgres!;
    const out = r.stdout;
    expect(out).toContain(`set       ${daily.id} (daily, complete)`);
    expect(out).toContain(`postgres: database mystocks on ${pg.host}:${pg.port}, server ${pg.server_version}, client ${pg.client_version}`);
    expect(pg.tables.length).toBeGreaterThan(0);
    const ver = readJson<{ history: { verified_at: string }[] }>(path.join(daily.path, 'verification.json'));
    expect(ver.history).toHaveLength(1);
    expect(out).toContain(`earlier   1 verification(s), newest first\n  passed  ${ver.history[0]!.verified_at}`);
    for (const t of pg.tables) expect(out).toMatch(new RegExp(`^ {4}${t.name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} +${t.rows.toLocaleString('en-US')} rows`, 'm'));
    for (const f of pg.files) expect(out).toMatch(new RegExp(`^ {4}${f.path.replace('.', '\\.')} +\\d`, 'm'));
    expect(out).toContain('  extensions: ');
    expect(out).toMatch(/^verified {2}PASSED at /m);
    expect(out).toMatch(/^ {2}nas \(path .*\): verified .*, \d+ files/m);
    // Logs stay on stderr.
    expect(out).not.toMatch(/^\d{4}-\d{2}-\d{2}T.*(info|INFO)/m);
  });

  it('a milestone shows its name; an unknown id is exit 2 with nothing on stdout', async () => {
    const ok = await cli(['show', milestone.id], { env: userEnv(null), cwd: ws.dir });
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('milestone post_phase2');
    const bad = await cli(['show', 'nosuch_20261125'], { env: userEnv(null), cwd: ws.dir });
    expect(bad.code).toBe(2);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toMatch(/no set nosuch_20261125/);
    const missing = await cli(['show'], { env: userEnv(null), cwd: ws.dir });
    expect(missing.code).toBe(2);
  });
});

describe('list filters', () => {
  const ids = async (args: string[]) => {
    const r = await cli(['list', ...args, '--json'], { env: userEnv(null), cwd: ws.dir });
    expect(r.code, r.stderr).toBe(0);
    return json<RunResult>(r).sets!.map((s) => s.id);
  };

  it('--kind, --engine and --last filter; the storage estimate still counts the whole catalog', async () => {
    expect(await ids(['--kind', 'milestone'])).toEqual([milestone.id]);
    expect(await ids(['--kind', 'daily'])).toEqual([daily.id]);
    expect(await ids(['--engine', 'postgres'])).toEqual([milestone.id, daily.id]);
    expect(await ids(['--engine', 'tdengine'])).toEqual([]);
    expect(await ids(['--last', '1'])).toEqual([milestone.id]);
    expect(await ids(['--kind', 'daily', '--last', '5'])).toEqual([daily.id]);
    const r = json<RunResult>(await cli(['list', '--kind', 'milestone', '--json'], { env: userEnv(null), cwd: ws.dir }));
    expect(r.storage?.sets).toMatchObject({ daily: 1, milestone: 1 });
  });

  it('the table ends with a totals line; bad filters are exit 2', async () => {
    const r = await cli(['list'], { env: userEnv(null), cwd: ws.dir });
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines.at(-1)).toMatch(/^total: 2 sets \(1 daily, 1 milestone\), 2 complete, [\d.]+ (B|KiB|MiB)$/);
    for (const bad of [['--last', '0'], ['--last', 'x'], ['--kind', 'weekly'], ['--engine', 'mysql']]) {
      const b = await cli(['list', ...bad], { env: userEnv(null), cwd: ws.dir });
      expect(b.code, bad.join(' ')).toBe(2);
      expect(b.stdout).toBe('');
    }
  });
});

// The manifest's bytes are what show --json reproduces: read once more to be sure nothing rewrote it.
describe('show reads only', () => {
  it('leaves the set folder as it was', async () => {
    const before = readFileSync(path.join(daily.path, 'manifest.json'));
    await cli(['show', daily.id, '--json'], { env: userEnv(null), cwd: ws.dir });
    expect(readFileSync(path.join(daily.path, 'manifest.json')).equals(before)).toBe(true);
  });
});
