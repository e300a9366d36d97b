/**
 * remotes[].retention: the pure planner with fixed clocks, the config schema, and prune applying it
 * through runCommand to a path remote on a temp dir (old daily copies gone, milestones and the newest
 * kept, local sets untouched, dry run deleting nothing).
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { registerRemoteDriver } from '../../src/remotes/registry.js';
import { remoteConfigSchema, type RemoteDriver } from '../../src/remotes/driver.js';
import { MemoryRemote } from '../remotes/memory.js';
import { planRemoteRetention, remoteSetCopies, type RemoteSetCopy } from '../../src/catalog/remote-retention.js';
import { readRemoteCopies, recordRemoteCopy } from '../../src/catalog/remote-copies.js';
import { localTime } from '../../src/catalog/time.js';
import { configSchema } from '../../src/inputs/config-schema.js';
import { loadConfig } from '../../src/inputs/config.js';
import { runCommand } from '../../src/run.js';
import { prune } from '../../src/commands/prune.js';
import { silentSink } from '../../src/report/log.js';
import { DAY_MS, writeConfigFile, writeFakeSet } from '../helpers/fake-catalog.js';
import { testCtx } from '../helpers/run-context.js';

const TZ = 'Asia/Shanghai';
const NOW = new Date('2026-12-06T12:00:00+08:00');

function daily(id: string, complete = true): RemoteSetCopy {
  return { kind: 'daily', id, keys: [`daily/${id}/mystocks.dump`, ...(complete ? [`daily/${id}/manifest.json`] : [])], complete };
}
const actions = (ds: { id: string; action: string }[]) => Object.fromEntries(ds.map((d) => [d.id, d.action]));

describe('planRemoteRetention (fixed clock)', () => {
  it('without a retention every copy stays (the default)', () => {
    const copies = [daily('mystocks_20250101_000000'), { kind: 'milestone' as const, id: 'post_phase2_20250101', keys: ['milestone/post_phase2_20250101/manifest.json'], complete: true }];
    const ds = planRemoteRetention(copies, undefined, NOW, TZ);
    expect(ds.every((d) => d.action === 'keep')).toBe(true);
    expect(ds[0]!.reason).toMatch(/no retention/);
  });

  it('daily_days: older dailies go; younger, milestones, config and safety copies stay', () => {
    const copies: RemoteSetCopy[] = [
      daily('mystocks_20261206_000003'),
      daily('mystocks_20261130_000003'), // 6.5 days
      daily('mystocks_20261129_000003'), // 7.5 days
      daily('mystocks_20250101_000003'),
      { kind: 'milestone', id: 'post_phase2_20250101', keys: ['milestone/post_phase2_20250101/manifest.json'], complete: true },
      { kind: 'config', id: 'config_20250101_000000', keys: ['config/config_20250101_000000/manifest.json.age'], complete: true },
      { kind: 'safety', id: 'safety_mystocks_20250101_000000', keys: ['safety/safety_mystocks_20250101_000000/manifest.json'], complete: true },
    ];
    const ds = planRemoteRetention(copies, { daily_days: 7 }, NOW, TZ);
    expect(actions(ds)).toEqual({
      mystocks_20261206_000003: 'keep',
      mystocks_20261130_000003: 'keep',
      mystocks_20261129_000003: 'remove',
      mystocks_20250101_000003: 'remove',
      post_phase2_20250101: 'keep',
      config_20250101_000000: 'keep',
      safety_mystocks_20250101_000000: 'keep',
    });
    expect(ds.find((d) => d.id === 'mystocks_20261129_000003')!.reason).toMatch(/older than 7 days \(daily_days\)/);
  });

  it('never removes the newest complete daily of each database, however old', () => {
    const copies = [daily('mystocks_20250101_000000'), daily('mystocks_20250102_000000'), daily('power_20250103_000000'), daily('mystocks_20250105_000000', false)];
    const ds = planRemoteRetention(copies, { daily_days: 7 }, NOW, TZ);
    expect(actions(ds)).toEqual({ mystocks_20250101_000000: 'remove', mystocks_20250102_000000: 'keep', power_20250103_000000: 'keep', mystocks_20250105_000000: 'keep' });
    expect(ds.find((d) => d.id === 'mystocks_20250102_000000')!.reason).toMatch(/newest complete daily copy of mystocks/);
    // The incomplete (interrupted) copy is newer, but does not count as the newest: it is kept for a person.
    expect(ds.find((d) => d.id === 'mystocks_20250105_000000')!.reason).toMatch(/interrupted copy/);
  });

  it('older milestone, config and safety copies of the same name stay too', () => {
    const copies: RemoteSetCopy[] = ['post_phase2_20250101', 'post_phase2_20250601'].map((id) => ({ kind: 'milestone' as const, id, keys: [`milestone/${id}/manifest.json`], complete: true }));
    copies.push(...['config_20250101_000000', 'config_20250601_000000'].map((id) => ({ kind: 'config' as const, id, keys: [`config/${id}/manifest.json.age`], complete: true })));
    copies.push(...['safety_mystocks_20250101_000000', 'safety_mystocks_20250601_000000'].map((id) => ({ kind: 'safety' as const, id, keys: [`safety/${id}/manifest.json`], complete: true })));
    expect(planRemoteRetention(copies, { daily_days: 1, keep_last: 1 }, NOW, TZ).every((d) => d.action === 'keep')).toBe(true);
  });

  it('orders by the date in the id, not by key order (a -2 of the same second is newer)', () => {
    const copies = [daily('mystocks_20250102_000000-2'), daily('mystocks_20250102_000000'), daily('mystocks_20241231_235959')];
    const ds = planRemoteRetention(copies, { keep_last: 1 }, NOW, TZ);
    expect(actions(ds)).toEqual({ 'mystocks_20250102_000000-2': 'keep', mystocks_20250102_000000: 'remove', mystocks_20241231_235959: 'remove' });
  });

  it('keep_last keeps that many newest dailies past daily_days', () => {
    const copies = ['20250101', '20250102', '20250103', '20250104'].map((d) => daily(`mystocks_${d}_000000`));
    const ds = planRemoteRetention(copies, { daily_days: 7, keep_last: 3 }, NOW, TZ);
    expect(actions(ds)).toEqual({ mystocks_20250101_000000: 'remove', mystocks_20250102_000000: 'keep', mystocks_20250103_000000: 'keep', mystocks_20250104_000000: 'keep' });
  });

  it('daily_days is judged on the wall clock of the time zone', () => {
    // 2026-11-29 12:00 in Shanghai is exactly 7 days before NOW: one second earlier goes, one later stays.
    const copies = [daily('mystocks_20261206_000000'), daily('mystocks_20261129_115959'), daily('mystocks_20261129_120001')];
    expect(actions(planRemoteRetention(copies, { daily_days: 7 }, NOW, TZ))).toEqual({ mystocks_20261206_000000: 'keep', mystocks_20261129_115959: 'remove', mystocks_20261129_120001: 'keep' });
  });
});

describe('remoteSetCopies', () => {
  it('groups keys by set; a copy is complete with its manifest; foreign keys are left out', () => {
    const got = remoteSetCopies(['daily/a_20250101_000000/x.dump', 'daily/a_20250101_000000/manifest.json.age', 'daily/b_20250101_000000/x.dump', 'README', 'other/x/y', 'daily/c_20250101_000000']);
    expect(got).toEqual([
      { kind: 'daily', id: 'a_20250101_000000', keys: ['daily/a_20250101_000000/x.dump', 'daily/a_20250101_000000/manifest.json.age'], complete: true },
      { kind: 'daily', id: 'b_20250101_000000', keys: ['daily/b_20250101_000000/x.dump'], complete: false },
    ]);
  });
});

describe('remotes[].retention in the config', () => {
  const parse = (retention: unknown) => configSchema.safeParse({ root: '/b', remotes: [{ type: 'path', path: '/mnt/nas', retention }] });
  it('takes daily_days and keep_last; refuses an empty one, zero, and unknown keys', () => {
    expect(parse({ daily_days: 30, keep_last: 5 }).success).toBe(true);
    expect(parse({ keep_last: 2 }).success).toBe(true);
    expect(parse({}).success).toBe(false);
    expect(parse({ daily_days: 0 }).success).toBe(false);
    expect(parse({ daily_dayz: 3 }).success).toBe(false);
  });
});

const temps: string[] = [];
afterEach(async () => {
  await Promise.all(temps.splice(0).map((d) => fs.rm(d, { recursive: true, force: true })));
});

/** A local catalog and a path remote (a plain temp folder) holding copies of its sets and of older, locally pruned ones. */
async function setup(retention: string): Promise<{ dir: string; root: string; nas: string; configFile: string; ids: Record<string, string> }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pgtaos-remoteret-'));
  temps.push(dir);
  const root = path.join(dir, 'catalog');
  const nas = path.join(dir, 'nas');
  await fs.mkdir(root);
  await fs.mkdir(nas);
  const configFile = await writeConfigFile(dir, `remotes:\n  - type: path\n    name: nas\n    path: ${nas}\n    require_mount: false\n    include: [daily]\n${retention}`);
  const at = (daysAgo: number) => localTime(new Date(Date.now() - daysAgo * DAY_MS), TZ);
  const id = (daysAgo: number) => `mystocks_${at(daysAgo).date}_${at(daysAgo).time}`;
  const ids = { newest: id(1), recent: id(3), oldLocal: id(20), oldGone: id(40), milestone: `post_phase1_${at(100).date}`, interrupted: id(50) };
  const remoteSet = async (kind: string, setId: string, complete = true) => {
    const d = path.join(nas, kind, setId);
    await fs.mkdir(d, { recursive: true });
    await fs.writeFile(path.join(d, 'mystocks.dump'), 'PGDMP');
    if (complete) await fs.writeFile(path.join(d, 'manifest.json'), '{}');
  };
  for (const k of ['newest', 'recent', 'oldLocal', 'oldGone'] as const) await remoteSet('daily', ids[k]);
  await remoteSet('daily', ids.interrupted, false);
  await remoteSet('milestone', ids.milestone);
  // Local sets: the three newer dailies (the oldest with a record of its copy on nas) and the milestone; oldGone was pruned locally long ago.
  for (const [k, days] of [['newest', 1], ['recent', 3], ['oldLocal', 20]] as const) {
    const setDir = await writeFakeSet(root, { kind: 'daily', id: ids[k], startedAt: new Date(Date.now() - days * DAY_MS) }, { timezone: TZ });
    await recordRemoteCopy(setDir, { remote: 'nas', type: 'path', location: nas, result: 'verified', copied_at: '2026-01-01T00:00:00+08:00', encrypted: false, check: 'read-back', files: [], error: null });
  }
  await writeFakeSet(root, { kind: 'milestone', id: ids.milestone, startedAt: new Date(Date.now() - 100 * DAY_MS) }, { timezone: TZ });
  return { dir, root, nas, configFile, ids };
}

const onNas = async (nas: string, kind: string, id: string) => fs.access(path.join(nas, kind, id, 'mystocks.dump')).then(() => true, () => false);

describe('prune applies remotes[].retention', () => {
  it('removes old daily copies from the remote (including one whose local set is gone); keeps milestones, the newest and the recent; local sets untouched', async () => {
    // A long local daily_days, so local retention removes nothing and "local sets untouched" is about the remote pass.
    const { dir, root, nas, configFile, ids } = await setup('    retention: { daily_days: 10 }\nretention:\n  daily_days: 365\n');
    const localBefore = await fs.readdir(path.join(root, 'daily'));
    const r = await runCommand({ command: 'prune', configFile }, { sink: silentSink, env: {}, cwd: dir });
    expect(r.exit_code).toBe(0);
    expect(await onNas(nas, 'daily', ids.oldLocal)).toBe(false);
    expect(await onNas(nas, 'daily', ids.oldGone)).toBe(false);
    await expect(fs.readdir(path.join(nas, 'daily', ids.oldGone))).resolves.toEqual([]);
    for (const k of ['newest', 'recent', 'interrupted'] as const) expect(await onNas(nas, 'daily', ids[k])).toBe(true);
    expect(await onNas(nas, 'milestone', ids.milestone)).toBe(true);
    expect(await fs.readdir(path.join(root, 'daily'))).toEqual(localBefore);
    expect(await fs.readdir(path.join(root, 'milestone'))).toEqual([ids.milestone]);
    // The local set's record no longer claims a copy on nas; the others still do.
    expect(await readRemoteCopies(path.join(root, 'daily', ids.oldLocal))).toEqual([]);
    expect(await readRemoteCopies(path.join(root, 'daily', ids.recent))).toHaveLength(1);
    expect(r.message).toMatch(/removed 2 copies from remotes/);
  });

  it('--dry-run shows the remote plan and deletes nothing', async () => {
    const { dir, nas, configFile, ids } = await setup('    retention: { daily_days: 10 }\nretention:\n  daily_days: 365\n');
    const lines: string[] = [];
    const r = await runCommand({ command: 'prune', configFile, dryRun: true }, { sink: { ...silentSink, output: (l) => lines.push(l) }, env: {}, cwd: dir });
    expect(r.exit_code).toBe(0);
    expect(r.message).toMatch(/would remove 2 copies from remotes/);
    expect(lines).toContain(`remove ${ids.oldGone} (daily, 2 files) on nas: older than 10 days (daily_days) and not among the newest 1 of mystocks`);
    expect(lines).toContain(`keep   ${ids.newest} (daily) on nas: the newest complete daily copy of mystocks on this remote: never removed`);
    expect(lines).toContain(`keep   ${ids.milestone} (milestone) on nas: milestone copies are kept (remote retention removes only dailies)`);
    for (const k of ['newest', 'recent', 'oldLocal', 'oldGone', 'interrupted'] as const) expect(await onNas(nas, 'daily', ids[k])).toBe(true);
  });

  it('without remotes[].retention nothing on the remote is deleted', async () => {
    const { dir, nas, configFile, ids } = await setup('retention:\n  daily_days: 365\n');
    const r = await runCommand({ command: 'prune', configFile }, { sink: silentSink, env: {}, cwd: dir });
    expect(r.exit_code).toBe(0);
    for (const k of ['newest', 'recent', 'oldLocal', 'oldGone', 'interrupted'] as const) expect(await onNas(nas, 'daily', ids[k])).toBe(true);
  });

  it('a plan that would remove a milestone copy removes nothing (backstop)', async () => {
    const { dir, nas, configFile, ids } = await setup('    retention: { daily_days: 10 }\nretention:\n  daily_days: 365\n');
    const { config, file } = loadConfig({ file: configFile, env: {}, cwd: dir });
    const ctx = testCtx({ config, configFile: file, request: { command: 'prune' } });
    const faulty: typeof planRemoteRetention = (copies) => copies.map((c) => ({ kind: c.kind, id: c.id, keys: c.keys, action: 'remove', reason: 'faulty' }));
    await expect(prune(ctx, undefined, undefined, faulty)).rejects.toThrow(/internal: remote retention planned to remove milestone copy/);
    expect(await onNas(nas, 'milestone', ids.milestone)).toBe(true);
    expect(await onNas(nas, 'daily', ids.oldGone)).toBe(true);
  });
});

/** Memory remotes kept by name, whose list() or delete() of one key fails when told. */
class FaultyRemote extends MemoryRemote {
  failList: string | null = null;
  failDelete: string | null = null;
  override async list(prefix: string) {
    if (this.failList) throw new Error(this.failList);
    return super.list(prefix);
  }
  override async delete(key: string): Promise<void> {
    if (key === this.failDelete) throw new Error(`permission denied deleting ${key}`);
    return super.delete(key);
  }
}
const faulty = new Map<string, FaultyRemote>();
const faultyConfig = remoteConfigSchema('memfault', {});
const faultyDriver: RemoteDriver<z.infer<typeof faultyConfig>> = {
  type: 'memfault',
  configSchema: faultyConfig,
  secretEnv: [],
  defaultName: () => 'memfault',
  create: (_c, ctx) => faulty.get(ctx.name) ?? faulty.set(ctx.name, new FaultyRemote(ctx.name)).get(ctx.name)!,
};
beforeAll(() => registerRemoteDriver(faultyDriver));

describe('prune: a remote that fails', () => {
  async function withFaulty(name: string): Promise<{ dir: string; configFile: string; remote: FaultyRemote; old: string; newest: string }> {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pgtaos-remoteret-'));
    temps.push(dir);
    await fs.mkdir(path.join(dir, 'catalog'));
    const configFile = await writeConfigFile(dir, `remotes:\n  - type: memfault\n    name: ${name}\n    retention: { keep_last: 1 }\n`);
    const remote = new FaultyRemote(name);
    faulty.set(name, remote);
    const [old, newest] = ['mystocks_20250101_000000', 'mystocks_20250102_000000'];
    for (const id of [old, newest]) for (const f of ['mystocks.dump', 'manifest.json']) remote.objects.set(`daily/${id}/${f}`, { data: Buffer.from('x'), metadata: {} });
    return { dir, configFile, remote, old, newest };
  }

  it('a listing that fails: exit 1, naming the remote; nothing deleted', async () => {
    const { dir, configFile, remote } = await withFaulty('down');
    remote.failList = 'connection refused';
    const r = await runCommand({ command: 'prune', configFile }, { sink: silentSink, env: {}, cwd: dir });
    expect(r.exit_code).toBe(1);
    expect(r.message).toContain('could not list the copies on down: connection refused');
    expect(remote.objects.size).toBe(4);
  });

  it('a delete that fails: exit 1, naming the copy; its manifest went first, so it reads as an interrupted copy', async () => {
    const { dir, configFile, remote, old, newest } = await withFaulty('ro');
    remote.failDelete = `daily/${old}/mystocks.dump`;
    const r = await runCommand({ command: 'prune', configFile }, { sink: silentSink, env: {}, cwd: dir });
    expect(r.exit_code).toBe(1);
    expect(r.message).toContain(`could not remove ${old} from ro: permission denied deleting daily/${old}/mystocks.dump`);
    expect([...remote.objects.keys()].sort()).toEqual([`daily/${old}/mystocks.dump`, `daily/${newest}/manifest.json`, `daily/${newest}/mystocks.dump`]);
  });
});
