/**
 * Fault-suite cases: the backup root is a trust boundary. Someone who can write there
 * edits a manifest, swaps a file for a link, or links a catalog folder elsewhere; the tool must
 * refuse, and never read, copy or delete anything outside the root. Declared by faults.test.ts
 * (so they are rows of its table) with its faultCase; real PostgreSQL throughout, the TDengine
 * stand-ins for the one TDengine case.
 */
import { copyFileSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import type { Cluster } from '../helpers/pg-cluster.js';
import { CLI, json, rewriteConfig, start, workspace, type ToolRun, type Workspace } from '../helpers/tool.js';
import { backupSet, earlierIntact, filesUnder, listed, lockIsFree, noIncompleteCounted, run, sleep, verifiedSet, type EarlierSet } from '../helpers/faults.js';
import { sha256File } from '../../src/catalog/checksum.js';
import type { RunResult } from '../../src/report/result.js';

type Key = 'E' | 'I' | 'L' | 'M';
/** What faults.test.ts's faultCase hands a case (structurally its Case). */
export interface TrustCase {
  observed(r: ToolRun, ws: Workspace): void;
  check(key: Key, fn: () => void | Promise<void>): Promise<void>;
  nothingLost(s: { early?: Workspace; ws: Workspace; earlier: EarlierSet }, env: NodeJS.ProcessEnv): Promise<void>;
}
type FaultCase = (fault: string, body: (c: TrustCase) => Promise<void>, timeout?: number) => void;

interface ManifestShape {
  started_at: string;
  postgres: { files: { path: string; bytes: number; sha256: string }[] };
  tdengine?: { files: { path: string; bytes: number; sha256: string }[] };
}

/** Edits a set's manifest.json in place (as someone with write access to the root could). */
function editManifest(setDir: string, edit: (m: ManifestShape) => void): void {
  const file = path.join(setDir, 'manifest.json');
  const m = JSON.parse(readFileSync(file, 'utf8')) as ManifestShape;
  edit(m);
  writeFileSync(file, JSON.stringify(m, null, 2));
}

/** Moves `file` to `dest` (outside the root) and leaves a link to it in its place. */
function swapForLink(file: string, dest: string): void {
  mkdirSync(path.dirname(dest), { recursive: true });
  copyFileSync(file, dest);
  rmSync(file);
  symlinkSync(dest, file);
}

/** Every file and folder under `dir` (links not followed) with its permission bits. */
function modesUnder(dir: string, rel = ''): { path: string; dir: boolean; mode: number }[] {
  const out: { path: string; dir: boolean; mode: number }[] = [];
  for (const name of readdirSync(path.join(dir, rel))) {
    const r = rel ? `${rel}/${name}` : name;
    const st = lstatSync(path.join(dir, r));
    out.push({ path: r, dir: st.isDirectory(), mode: st.mode & 0o777 });
    if (st.isDirectory()) out.push(...modesUnder(dir, r));
  }
  return out;
}

/** The CLI run by a shell that first sets `umask 000` (as a careless cron line or service unit would). */
function runUnderUmask000(ws: Workspace, args: string[], env: NodeJS.ProcessEnv): Promise<ToolRun> {
  const script = 'umask 000; exec "$0" "$@"';
  return start('-c', [script, process.execPath, CLI, ...args, '--config', ws.configFile], { env, cwd: ws.dir, node: '/bin/sh' }).done;
}

/** E and L for a case that leaves a damaged set on purpose (nothingLost's I would count it). */
async function earlierAndLock(c: TrustCase, ws: Workspace, earlier: EarlierSet, env: NodeJS.ProcessEnv): Promise<void> {
  await c.check('E', () => earlierIntact(ws, env, earlier));
  await c.check('L', () => lockIsFree(ws));
}

export function catalogTrustCases(faultCase: FaultCase, pg: () => Cluster, env: (extra?: NodeJS.ProcessEnv) => NodeJS.ProcessEnv): void {
  /** An earlier verified set, and a newer one the case tampers with. */
  async function twoSets(extra: Record<string, unknown> = {}): Promise<{ ws: Workspace; earlier: EarlierSet; newer: string; newerDir: string }> {
    const ws = workspace(pg(), 'mystocks', extra);
    const earlier = await verifiedSet(ws, env());
    await sleep(1100); // a new second: a new set id
    const newer = (await backupSet(ws, env())).id;
    return { ws, earlier, newer, newerDir: path.join(ws.root, 'daily', newer) };
  }
  const databaseExists = async (name: string) => (await pg().query('SELECT 1 FROM pg_database WHERE datname = $1', 'postgres', [name])).length > 0;

  faultCase('manifest.json names a file outside the root (../../../outside/evil.dump)', async (c) => {
    const { ws, earlier, newer, newerDir } = await twoSets();
    // A whole, valid dump outside the root; its checksum is the manifest's, so only the path rule stops it.
    const evil = path.join(ws.dir, 'outside', 'evil.dump');
    mkdirSync(path.dirname(evil), { recursive: true });
    renameSync(path.join(newerDir, 'mystocks.dump'), evil);
    editManifest(newerDir, (m) => (m.postgres.files[0]!.path = '../../../outside/evil.dump'));
    const v = await run(ws, ['verify', newer, '--json'], env());
    c.observed(v, ws);
    const r = await run(ws, ['restore', newer, '--target', 'trust_evil', '--confirm', 'trust_evil', '--json'], env());
    await earlierAndLock(c, ws, earlier, env());
    await c.check('I', async () => {
      expect((await listed(ws)).find((s) => s.id === newer)).toMatchObject({ status: 'incomplete', reason: expect.stringContaining('climbs out of the set folder') });
      await noIncompleteCounted(ws, [earlier.id], [newer]);
    });
    await c.check('M', async () => {
      expect(v.code, v.stderr).toBe(1);
      expect(json<RunResult>(v).error!.message).toContain('"../../../outside/evil.dump" climbs out of the set folder');
      expect(r.code, r.stderr).toBe(1);
      expect(json<RunResult>(r).error!.message).toContain('climbs out of the set folder');
      expect(await databaseExists('trust_evil'), 'restore created or filled the target from a file outside the root').toBe(false);
    });
  });

  faultCase('manifest.json names /etc/passwd (../../../../../../etc/passwd)', async (c) => {
    const { ws, earlier, newer, newerDir } = await twoSets();
    const passwd = '/etc/passwd';
    const sha256 = await sha256File(passwd);
    editManifest(newerDir, (m) => (m.postgres.files[0] = { path: '../../../../../../etc/passwd', bytes: statSync(passwd).size, sha256 }));
    const v = await run(ws, ['verify', newer, '--json'], env());
    c.observed(v, ws);
    await earlierAndLock(c, ws, earlier, env());
    await c.check('I', () => noIncompleteCounted(ws, [earlier.id], [newer]));
    await c.check('M', () => {
      expect(v.code, v.stderr).toBe(1);
      const res = json<RunResult>(v);
      expect(res.error!.message).toContain('climbs out of the set folder');
      // Not checksummed (that would have read it), not restored.
      expect(res.checks.filter((x) => x.name.startsWith('checksum') || x.name === 'postgres restore')).toEqual([]);
    });
  });

  faultCase('a dump replaced by a symbolic link to a copy outside the root', async (c) => {
    const { ws, earlier, newer, newerDir } = await twoSets();
    swapForLink(path.join(newerDir, 'mystocks.dump'), path.join(ws.dir, 'outside', 'mystocks.dump'));
    const v = await run(ws, ['verify', newer, '--json'], env());
    c.observed(v, ws);
    await earlierAndLock(c, ws, earlier, env());
    await c.check('I', async () => {
      expect((await listed(ws)).find((s) => s.id === newer)).toMatchObject({ status: 'incomplete', reason: expect.stringContaining('mystocks.dump is a symbolic link') });
      await noIncompleteCounted(ws, [earlier.id], [newer]);
      const byDefault = json<RunResult>(await run(ws, ['verify', '--json'], env()));
      expect(byDefault).toMatchObject({ status: 'success', set: expect.objectContaining({ id: earlier.id }) });
    });
    await c.check('M', () => {
      expect(v.code, v.stderr).toBe(1);
      expect(json<RunResult>(v).error!.message).toMatch(/mystocks\.dump is a symbolic link to .*; links are not followed/);
    });
  });

  faultCase('a milestone file linked to a file outside the root is not copied to a remote', async (c) => {
    const ws = workspace(pg(), 'mystocks');
    const earlier = await verifiedSet(ws, env());
    const m = await run(ws, ['milestone', 'pre_us3_refactor', '--json'], env());
    expect(m.code, m.stderr).toBe(0);
    const ms = json<RunResult>(m).set!;
    // The same bytes (so the manifest's checksum holds), but reached through a link.
    swapForLink(path.join(ms.path, 'mystocks.dump'), path.join(ws.dir, 'secret', 'shadow'));
    const nas = path.join(ws.dir, 'nas');
    mkdirSync(nas);
    rewriteConfig(ws, (cfg) => ({ ...cfg, remotes: [{ type: 'path', name: 'nas', path: nas, require_mount: false }] }));
    await sleep(1100);
    const b = await run(ws, ['backup', '--json'], env()); // copies every milestone not yet on the remote
    c.observed(b, ws);
    const daily = json<RunResult>(b).set?.id;
    await c.check('E', () => earlierIntact(ws, env(), earlier));
    await c.check('I', async () => {
      expect((await listed(ws)).find((s) => s.id === ms.id)).toMatchObject({ status: 'incomplete', reason: expect.stringContaining('symbolic link') });
      await noIncompleteCounted(ws, [earlier.id, daily!], [ms.id]);
    });
    await c.check('L', () => lockIsFree(ws));
    await c.check('M', () => {
      expect(b.code, b.stderr).toBe(0);
      expect(filesUnder(nas).filter((f) => f.includes(ms.id)), 'nothing of the tampered milestone reached the remote').toEqual([]);
    });
  });

  faultCase('<root>/.incomplete is a symbolic link to a folder outside the root', async (c) => {
    const ws = workspace(pg(), 'mystocks');
    const earlier = await verifiedSet(ws, env());
    const victim = path.join(ws.dir, 'victim');
    mkdirSync(path.join(victim, 'keep'), { recursive: true });
    writeFileSync(path.join(victim, 'keep', 'precious.txt'), 'not the tool’s');
    const link = path.join(ws.root, '.incomplete');
    rmSync(link, { recursive: true, force: true });
    symlinkSync(victim, link);
    const b = await run(ws, ['backup', '--json'], env());
    c.observed(b, ws);
    const p = await run(ws, ['prune', '--json'], env());
    await c.check('M', () => {
      expect(b.code, b.stderr).toBe(1);
      expect(json<RunResult>(b).error!.message).toMatch(/\.incomplete is a symbolic link to .*; the tool does not follow links inside the backup root/);
      expect(p.code, p.stderr).toBe(1);
      expect(existsSync(path.join(victim, 'keep', 'precious.txt')), 'a folder behind the link was deleted').toBe(true);
    });
    unlinkSync(link); // what the hint says to do
    await c.nothingLost({ ws, earlier }, env());
  });

  faultCase('a kind folder (<root>/daily) is a symbolic link to a folder outside the root', async (c) => {
    const ws = workspace(pg(), 'mystocks');
    const earlier = await verifiedSet(ws, env());
    const elsewhere = path.join(ws.dir, 'elsewhere-daily');
    const daily = path.join(ws.root, 'daily');
    renameSync(daily, elsewhere);
    symlinkSync(elsewhere, daily);
    const l = await run(ws, ['list', '--json'], env());
    c.observed(l, ws);
    const v = await run(ws, ['verify', '--json'], env());
    const p = await run(ws, ['prune', '--json'], env());
    await c.check('M', () => {
      expect(l.code, l.stderr).toBe(1);
      expect(json<RunResult>(l).error!.message).toMatch(/daily is a symbolic link to /);
      expect([v.code, p.code]).toEqual([1, 1]);
      expect(readdirSync(elsewhere)).toEqual([earlier.id]);
    });
    unlinkSync(daily);
    renameSync(elsewhere, daily);
    await c.nothingLost({ ws, earlier }, env());
  });

  faultCase('backup under umask 000: folders 0700, files 0600', async (c) => {
    const ws = workspace(pg(), 'mystocks');
    const earlier = await verifiedSet(ws, env());
    await sleep(1100);
    const b = await runUnderUmask000(ws, ['backup', '--json'], env());
    c.observed(b, ws);
    await c.check('E', () => earlierIntact(ws, env(), earlier));
    await c.check('I', () => noIncompleteCounted(ws, [earlier.id, json<RunResult>(b).set!.id]));
    await c.check('L', () => lockIsFree(ws));
    await c.check('M', () => {
      expect(b.code, b.stderr).toBe(0);
      const open = [{ path: '.', dir: true, mode: statSync(ws.root).mode & 0o777 }, ...modesUnder(ws.root)].filter((e) => (e.mode & 0o077) !== 0);
      expect(open, 'readable or writable by group or others').toEqual([]);
    });
  });

  faultCase('config snapshot: a link leading out of base_dir (config/x -> a secret)', async (c) => {
    const ws = workspace(pg(), 'mystocks');
    const app = path.join(ws.dir, 'app');
    mkdirSync(path.join(app, 'config'), { recursive: true });
    writeFileSync(path.join(app, '.env'), 'DB_PASSWORD=x\n');
    writeFileSync(path.join(app, 'config', 'app.yaml'), 'a: 1\n');
    symlinkSync('../.env', path.join(app, 'config', 'env-link')); // inside base_dir: fine
    mkdirSync(path.join(ws.dir, 'secret'));
    writeFileSync(path.join(ws.dir, 'secret', 'shadow'), 'root:$6$secret\n');
    symlinkSync(path.join(ws.dir, 'secret', 'shadow'), path.join(app, 'config', 'x'));
    rewriteConfig(ws, (cfg) => ({ ...cfg, config_files: { base_dir: app, paths: ['.env', 'config'] } }));
    const earlier = await verifiedSet(ws, env());
    const r = await run(ws, ['config', '--json'], env());
    c.observed(r, ws);
    await c.check('M', () => {
      expect(r.code, r.stderr).toBe(2);
      expect(json<RunResult>(r).error!.message).toMatch(/^config file config\/x \(a link to .*secret\/shadow\) resolves to .*, outside config_files\.base_dir /);
      expect(existsSync(path.join(ws.root, 'config')) ? readdirSync(path.join(ws.root, 'config')) : []).toEqual([]);
    });
    await c.nothingLost({ ws, earlier }, env());
    await c.check('I', async () => {
      // Without the outside link, the snapshot is taken and the inside link is stored as its target's content.
      unlinkSync(path.join(app, 'config', 'x'));
      const ok = await run(ws, ['config', '--json'], env());
      expect(ok.code, ok.stderr).toBe(0);
    });
  });

  faultCase('a set dated in the future (clock skew, a copied set)', async (c) => {
    const { ws, earlier, newer, newerDir } = await twoSets();
    const future = new Date(Date.now() + 7 * 86_400_000).toISOString().replace('Z', '+00:00');
    editManifest(newerDir, (m) => (m.started_at = future));
    const v = await run(ws, ['verify', '--json'], env());
    c.observed(v, ws);
    // Verified on purpose, and last: a good set, but one whose date says nothing about today.
    const named = await run(ws, ['verify', newer, '--json'], env());
    expect(named.code, named.stderr).toBe(0);
    const st = json<RunResult>(await run(ws, ['status', '--json'], env()));
    await c.check('E', () => earlierIntact(ws, env(), earlier));
    await c.check('I', async () => {
      const sets = await listed(ws);
      expect(sets.find((s) => s.id === newer)).toMatchObject({ status: 'complete', suspicious: expect.stringContaining('lies in the future') });
      expect(sets.find((s) => s.id === earlier.id)).toMatchObject({ suspicious: null });
    });
    await c.check('L', () => lockIsFree(ws));
    await c.check('M', () => {
      expect(v.code, v.stderr).toBe(0);
      expect(json<RunResult>(v).set!.id, 'verify picked the set from the future').toBe(earlier.id);
      const last = st.checks.find((x) => x.name === 'last verification')!;
      expect(last.detail).toMatch(new RegExp(`^${earlier.id} verified `));
      expect(last.detail).toContain(`dated in the future not counted (suspicious: clock skew, or copied from elsewhere?): ${newer}`);
      expect(st.checks.find((x) => x.name === 'postgres backup')!.detail).toContain(`newest: ${earlier.id}`);
    });
  });

  faultCase('restore of a set whose dump was cut in half (its manifest untouched)', async (c) => {
    const { ws, earlier, newer, newerDir } = await twoSets();
    const dump = path.join(newerDir, 'mystocks.dump');
    truncateSync(dump, Math.floor(statSync(dump).size / 2));
    const rows = async () => Number((await pg().query<{ n: string }>('SELECT count(*)::text AS n FROM public.daily_bars', 'mystocks'))[0]!.n);
    const before = await rows();
    const r = await run(ws, ['restore', newer, '--target', 'mystocks', '--confirm', 'mystocks', '--json'], env());
    c.observed(r, ws);
    await earlierAndLock(c, ws, earlier, env());
    // The manifest is whole, so list still counts the set; only reading its files finds the cut.
    await c.check('I', () => noIncompleteCounted(ws, [earlier.id, newer]));
    await c.check('M', async () => {
      expect(r.code, r.stderr).toBe(1);
      expect(json<RunResult>(r).error!.message).toContain(`set ${newer} is damaged, so it was not restored`);
      expect(existsSync(path.join(ws.root, 'safety')), 'a safety set was taken for a restore that could not start').toBe(false);
      expect(await rows(), 'the target was touched').toBe(before);
    });
  });
}

/** The TDengine case: a file of the dump folder taosdump reads whole, swapped for a link. */
export function tdengineTrustCase(faultCase: FaultCase, tdWs: () => Workspace, tdEnv: (extra?: NodeJS.ProcessEnv) => NodeJS.ProcessEnv): void {
  faultCase('TDengine: a dump file replaced by a symbolic link to a copy outside the root', async (c) => {
    const ws = tdWs();
    const earlier = await verifiedSet(ws, tdEnv());
    await sleep(1100);
    const newer = await backupSet(ws, tdEnv());
    const m = JSON.parse(readFileSync(path.join(newer.path, 'manifest.json'), 'utf8')) as ManifestShape;
    const data = m.tdengine!.files.map((f) => f.path).find((p) => p.startsWith('tdengine/') && !p.endsWith('dbs.sql'))!;
    swapForLink(path.join(newer.path, ...data.split('/')), path.join(ws.dir, 'outside', path.basename(data)));
    const v = await run(ws, ['verify', newer.id, '--json'], tdEnv());
    c.observed(v, ws);
    await earlierAndLock(c, ws, earlier, tdEnv());
    await c.check('I', () => noIncompleteCounted(ws, [earlier.id], [newer.id]));
    await c.check('M', () => {
      expect(v.code, v.stderr).toBe(1);
      expect(json<RunResult>(v).error!.message).toContain(`${data} is a symbolic link`);
    });
  });
}
