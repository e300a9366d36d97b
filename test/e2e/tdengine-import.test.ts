/**
 * import -> verify -> restore of a taosdump folder from the old runbook's layout (a regression:
 * import kept the folder's own name inside the set while verify and restore read `<set>/tdengine/`,
 * so an imported TDengine set could be neither verified nor restored). The folder is written by the
 * taosdump stand-in (test/stand-ins/), as the real one writes it (`#!server_ver: ver:X`, item 7).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTdStandIn, type TdStandIn } from '../helpers/tdengine-standin.js';
import { cli, json, readJson, userEnv, workspace } from '../helpers/tool.js';
import { runTaosdump } from '../stand-ins/index.js';
import type { Manifest } from '../../src/catalog/manifest.js';
import type { RunResult } from '../../src/report/result.js';

let td: TdStandIn;
let old: string;
beforeAll(async () => {
  td = await startTdStandIn();
  old = mkdtempSync(path.join(os.tmpdir(), 'pgtaos-old-td-'));
});
afterAll(async () => {
  await td?.close();
  rmSync(old, { recursive: true, force: true });
});

describe('an imported TDengine folder', () => {
  it('is laid out like a backup (tdengine/), records the server version without "ver:", and verify and restore read it', async () => {
    const folder = path.join(old, 'tdengine', 'tdengine_20251024_010000');
    mkdirSync(folder, { recursive: true });
    const d = await runTaosdump(['-h', '127.0.0.1', '-P', String(td.nativePort), '-u', 'root', '-p', '-D', 'market_data', '-o', folder, '-r', path.join(old, 'result.txt')], {
      store: td.store,
      stdin: `${td.password}\n`,
    });
    expect(d.code, d.stderr).toBe(0);

    const ws = workspace(null, 'x', { tdengine: td.config() });
    const env = userEnv(null, td.env());
    const imp = await cli(['import', folder, '--json'], { env, cwd: ws.dir });
    expect(imp.code, imp.stderr).toBe(0);
    const [entry] = json<RunResult>(imp).sets!;
    const m = readJson<Manifest>(path.join(entry!.path, 'manifest.json'));
    expect(m.tdengine).toMatchObject({ database: 'market_data', server_version: '3.3.6.13', row_counts: 'unknown' });
    expect(m.tdengine!.files.length).toBeGreaterThan(3);
    for (const f of m.tdengine!.files) expect(f.path.startsWith('tdengine/')).toBe(true);

    const v = await cli(['verify', m.id, '--json'], { env, cwd: ws.dir });
    expect(v.code, v.stderr).toBe(0);
    const checks = Object.fromEntries(json<RunResult>(v).checks.map((c) => [c.name, c.result]));
    expect(checks['tdengine restore']).toBe('passed');
    expect(td.store.listDatabases()).not.toContain('market_data_verify');

    // production loses a table's rows; the imported set brings them back
    const db = td.store.readDatabase('market_data')!;
    const victim = td.seed.childTables[0]!;
    td.store.writeDatabase({ ...db, rows: { ...db.rows, [victim]: [] } });
    const r = await cli(['restore', m.id, '--engines', 'tdengine', '--target', 'market_data', '--confirm', 'market_data', '--json'], { env, cwd: ws.dir });
    expect(r.code, r.stderr).toBe(0);
    expect(td.store.countRows('market_data', victim, {})).toBe(td.seed.rows[victim]);
    expect(td.store.countRows('market_data', 'tick', {})).toBe(td.seed.stableRows.tick);
  });
});
