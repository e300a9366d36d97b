/**
 * restore of a TDengine set (the stand-ins of test/stand-ins/): the safety set holds the
 * damaged state, the target is dropped only after that safety dump, the printed roll-back brings
 * the damaged state back, and a restore that stops after the drop says the target may be partly
 * restored and how to roll back. A set whose files do not match their checksums is refused first.
 */
import { appendFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTdStandIn, type TaosdumpSwitches, type TdStandIn } from '../helpers/tdengine-standin.js';
import { incompleteDirs, json, readJson, setDirs, userEnv, workspace } from '../helpers/tool.js';
import { backupSet, interrupt, lastHint, launch, lockFiles, reportOf, run } from '../helpers/faults.js';
import type { Manifest } from '../../src/catalog/manifest.js';
import type { RunResult } from '../../src/report/result.js';

let td: TdStandIn;
let pristine: string;
let victim: string;
beforeAll(async () => {
  td = await startTdStandIn();
  pristine = JSON.stringify(td.store.readDatabase('market_data'));
  victim = Object.keys(td.seed.rows).find((t) => t.startsWith('tick_'))!;
});
afterAll(async () => {
  await td?.close();
});
beforeEach(() => {
  // Every test starts from the seeded database and no faults.
  td.store.writeDatabase(JSON.parse(pristine));
  td.store.updateServer({ faults: { failDumpTable: null, corruptOnRestore: null } });
});

const env = (switches: TaosdumpSwitches = {}) => userEnv(null, td.env({}, switches));
const tdOnly = (extra: Record<string, unknown> = {}) => workspace(null, 'unused', { tdengine: td.config(), ...extra });
const victimRows = () => td.store.countRows('market_data', victim, {});
const tickRows = () => td.seed.stableRows['tick']!;

/** One child table loses all its rows. */
function damage(): void {
  const db = td.store.readDatabase('market_data')!;
  td.store.writeDatabase({ ...db, rows: { ...db.rows, [victim]: [] } });
  expect(victimRows()).toBe(0);
}
const restoreArgs = (id: string) => ['restore', id, '--engines', 'tdengine', '--target', 'market_data', '--confirm', 'market_data'];

describe('restore with TDengine', () => {
  it('the safety set holds the damaged state; the restore puts the rows back; the printed roll-back brings the damage back', async () => {
    const ws = tdOnly();
    const set = await backupSet(ws, env(), ['--engines', 'tdengine']);
    damage();
    const r = await run(ws, [...restoreArgs(set.id), '--json'], env());
    expect(r.code, r.stderr).toBe(0);
    expect(victimRows()).toBe(td.seed.rows[victim]);

    const [safety] = setDirs(ws, 'safety');
    const m = readJson<Manifest>(path.join(ws.root, 'safety', safety!, 'manifest.json'));
    expect(m.kind).toBe('safety');
    expect(m.tdengine!.database).toBe('market_data');
    // The damaged state: tick lost exactly the victim's rows (the manifest counts super tables).
    expect(m.tdengine!.stables.find((s) => s.name === 'tick')!.rows).toBe(tickRows() - td.seed.rows[victim]!);
    // Dropped only after the safety dump: the log says the safety set was complete before the drop's restore.
    const lines = r.stderr.split('\n');
    const safetyDone = lines.findIndex((l) => l.startsWith(`set ${safety} complete`));
    const restoreStart = lines.findIndex((l) => l.includes(`TDengine: restore ${set.id} into market_data`));
    expect(safetyDone).toBeGreaterThan(-1);
    expect(restoreStart).toBeGreaterThan(safetyDone);

    const rollback = `pgtaos-backup restore ${safety} --engines tdengine --target market_data --confirm market_data`;
    expect(json<RunResult>(r).message.endsWith(`To roll back: ${rollback}`)).toBe(true);
    const back = await run(ws, rollback.split(' ').slice(1), env());
    expect(back.code, back.stderr).toBe(0);
    expect(victimRows()).toBe(0);
    expect(td.store.countRows('market_data', Object.keys(td.seed.rows).find((t) => t.startsWith('tick_') && t !== victim)!, {})).toBeGreaterThan(0);
  });

  it('a dump folder whose file no longer matches its checksum (manifest untouched): exit 1 before the safety set, the target never dropped', async () => {
    const ws = tdOnly();
    const set = await backupSet(ws, env(), ['--engines', 'tdengine']);
    damage();
    const m = readJson<Manifest>(path.join(set.path, 'manifest.json'));
    const spoilt = m.tdengine!.files.find((f) => f.path.startsWith('tdengine/') && f.bytes > 0)!;
    appendFileSync(path.join(set.path, ...spoilt.path.split('/')), 'x');
    const r = await run(ws, [...restoreArgs(set.id), '--json'], env());
    expect(r.code).toBe(1);
    const err = json<RunResult>(r).error!;
    expect(err.code).toBe('restore.damaged_set');
    expect(err.message).toContain(`set ${set.id} is damaged, so it was not restored: ${spoilt.path}: `);
    expect(err.message).toContain(`the restore of ${set.id} had not started: market_data was not touched`);
    expect(td.store.listDatabases()).toContain('market_data');
    expect(victimRows()).toBe(0); // had the target been dropped and restored, the rows would be back
    expect(setDirs(ws, 'safety')).toEqual([]);
    expect(lockFiles(ws.root)).toEqual([]);
  });

  it('a safety dump that fails: the target is never dropped (its damaged state is still there), exit 1, "not touched"', async () => {
    const ws = tdOnly();
    const set = await backupSet(ws, env(), ['--engines', 'tdengine']);
    damage();
    const other = Object.keys(td.seed.rows).find((t) => t.startsWith('minute_bar_'))!;
    td.store.updateServer({ faults: { failDumpTable: other } });
    const r = await run(ws, restoreArgs(set.id), env());
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`the restore of ${set.id} had not started: market_data was not touched`);
    expect(td.store.listDatabases()).toContain('market_data');
    expect(victimRows()).toBe(0); // had the target been dropped and restored, the rows would be back
    expect(td.store.countRows('market_data', other, {})).toBe(td.seed.rows[other]);
    expect(setDirs(ws, 'safety')).toEqual([]);
    expect(lockFiles(ws.root)).toEqual([]);
  });

  it('a restore that fails after the drop: exit 1, "may be partly restored", ends with the roll-back, which brings the damaged state back', async () => {
    const ws = tdOnly();
    const set = await backupSet(ws, env(), ['--engines', 'tdengine']);
    damage();
    const corrupt = Object.keys(td.seed.rows).find((t) => t.startsWith('minute_bar_'))!;
    td.store.updateServer({ faults: { corruptOnRestore: corrupt } });
    const r = await run(ws, [...restoreArgs(set.id), '--json'], env());
    expect(r.code).toBe(1);
    const [safety] = setDirs(ws, 'safety');
    expect(safety).toBeDefined();
    const rollback = `pgtaos-backup restore ${safety} --engines tdengine --target market_data --confirm market_data`;
    const result = json<RunResult>(r);
    expect(result.error!.message.split('\n')[0]).toContain(`market_data may be partly restored (the restore of ${set.id} into it had begun); what it held before is in the safety set ${safety}`);
    expect(result.error!.hint!.endsWith(`To roll back: ${rollback}`)).toBe(true);
    expect(lastHint(r.stderr).endsWith(`To roll back: ${rollback}`)).toBe(true);
    expect(r.stderr).not.toContain('no partial set was kept');

    td.store.updateServer({ faults: { corruptOnRestore: null } });
    const back = await run(ws, rollback.split(' ').slice(1), env());
    expect(back.code, back.stderr).toBe(0);
    expect(victimRows()).toBe(0);
    expect(td.store.countRows('market_data', corrupt, {})).toBe(td.seed.rows[corrupt]);
  });

  it('SIGTERM while taosdump restores (after the drop): taosdump stopped, cancelled, the roll-back command at the end', async () => {
    const ws = tdOnly();
    const set = await backupSet(ws, env(), ['--engines', 'tdengine']);
    damage();
    const started = launch(ws, restoreArgs(set.id), env({ slowMs: 150 }));
    const { r } = await interrupt(started, 'SIGTERM', (cmd) => / -i tdengine( |$)/.test(cmd), { what: 'taosdump -i to be running', timeoutMs: 120_000 });
    expect(r.code).toBe(1);
    const [safety] = setDirs(ws, 'safety');
    expect(safety).toBeDefined();
    const rollback = `pgtaos-backup restore ${safety} --engines tdengine --target market_data --confirm market_data`;
    expect(r.stderr).toMatch(/cancelled by SIGTERM; market_data may be partly restored/);
    expect(lastHint(r.stderr).endsWith(`To roll back: ${rollback}`)).toBe(true);
    expect(reportOf(ws, 'restore', started.child.pid!)).toMatchObject({ status: 'cancelled' });
    expect(lockFiles(ws.root)).toEqual([]);
    expect(incompleteDirs(ws)).toEqual([]);
    const back = await run(ws, rollback.split(' ').slice(1), env());
    expect(back.code, back.stderr).toBe(0);
    expect(victimRows()).toBe(0);
  });
});
