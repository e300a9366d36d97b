/**
 * The fault suite: break things on purpose and prove nothing is lost. Every case checks the same
 * invariants where they apply: earlier sets still complete and verifying, no incomplete set
 * counted as a backup, the lock free, and a message that says what happened. The table of cases
 * and outcomes is printed at the end (and copied into the README).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type Cluster } from '../helpers/pg-cluster.js';
import { seedLarge, seedMarketData } from '../helpers/market-data.js';
import { CLI, cli, incompleteDirs, json, readJson, setDirs, start, userEnv, workspace, type Workspace } from '../helpers/tool.js';
import { sha256File } from '../../src/catalog/checksum.js';
import { startS3 } from '../helpers/s3.js';
import type { RunResult } from '../../src/report/result.js';

const table: { fault: string; outcome: string }[] = [];
function record(fault: string, outcome: string): void {
  table.push({ fault, outcome });
}
afterAll(() => {
  const lines = ['| fault | outcome |', '|---|---|', ...table.map((r) => `| ${r.fault} | ${r.outcome} |`)];
  console.log(`\nFault suite: ${table.length} cases\n${lines.join('\n')}\n`);
});

let pgc: Cluster;
beforeAll(async () => {
  pgc = await startCluster({ name: 'faults' });
  await pgc.createDb('mystocks');
  await seedMarketData(pgc, 'mystocks');
});
afterAll(async () => {
  await pgc?.destroy();
});

async function listed(ws: Workspace): Promise<{ id: string; status: string; kind: string; reason: string | null }[]> {
  return json<{ sets: { id: string; status: string; kind: string; reason: string | null }[] }>(await cli(['list', '--json'], { env: userEnv(null), cwd: ws.dir })).sets;
}
/** The earlier set still verifies (checksums, restore, counts). */
async function verifies(ws: Workspace, id: string, cluster: Cluster): Promise<void> {
  const v = await cli(['verify', id], { env: userEnv(cluster), cwd: ws.dir });
  expect(v.code, v.stderr).toBe(0);
}

describe('faults during a dump', () => {
  let big: Cluster;
  beforeAll(async () => {
    big = await startCluster({ name: 'killme' });
    await big.createDb('mystocks');
    await seedMarketData(big, 'mystocks');
    await seedLarge(big, 'mystocks', 200);
  });
  afterAll(async () => {
    await big?.destroy();
  });

  async function waitForDump(ws: Workspace, run?: { done: Promise<{ code: number | null; stderr: string }> }): Promise<void> {
    let ended: { code: number | null; stderr: string } | null = null;
    void run?.done.then((r) => (ended = r));
    for (let i = 0; i < 600; i++) {
      if (ended) throw new Error(`the run ended before its dump started:\n${(ended as { stderr: string }).stderr}`);
      for (const d of incompleteDirs(ws)) {
        const f = path.join(ws.root, '.incomplete', d, 'mystocks.dump');
        if (existsSync(f) && readFileSync(f).length > 0) return;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('the dump never started');
  }

  function pgDumpsOf(ws: Workspace): string[] {
    return readdirSync('/proc')
      .filter((p) => /^\d+$/.test(p))
      .map((p) => {
        try {
          return readFileSync(`/proc/${p}/cmdline`, 'utf8').replace(/\0/g, ' ');
        } catch {
          return '';
        }
      })
      .filter((c) => c.includes('pg_dump') && c.includes(ws.root));
  }

  it('the server killed mid-dump: exit 1, no new set, lock released, the earlier set intact', async () => {
    const ws = workspace(big, 'mystocks');
    const first = json<RunResult>(await cli(['backup', '--json'], { env: userEnv(big), cwd: ws.dir }));
    expect(first.status).toBe('success');
    const firstSum = await sha256File(path.join(first.set!.path, 'mystocks.dump'));

    const run = start(path.join(process.cwd(), 'dist', 'cli.js'), ['backup'], { env: userEnv(big), cwd: ws.dir });
    await waitForDump(ws);
    await big.kill();
    const r = await run.done;
    await big.restart();
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/pg_dump failed|counting rows failed|server closed|terminat/i);
    expect(r.stderr).toContain('Earlier sets are untouched');
    expect(setDirs(ws)).toEqual([first.set!.id]);
    expect(incompleteDirs(ws)).toEqual([]);
    expect(existsSync(path.join(ws.root, '.lock'))).toBe(false);
    expect(await sha256File(path.join(first.set!.path, 'mystocks.dump'))).toBe(firstSum);
    const l = json<{ sets: { id: string; status: string }[] }>(await cli(['list', '--json'], { env: userEnv(null), cwd: ws.dir }));
    expect(l.sets).toEqual([expect.objectContaining({ id: first.set!.id, status: 'complete' })]);
    await verifies(ws, first.set!.id, big);
    record('PostgreSQL server killed mid-dump', 'exit 1 "pg_dump failed ... server closed the connection"; no new set, partial files removed, lock released; the earlier set unchanged and verifies');
  });

  it('the disk fills up during the dump: exit 1 saying so, partial files removed, the earlier set intact', async (t) => {
    // A real small filesystem (tmpfs) for the backup root; filled up once pg_dump has started.
    const mnt = mkdtempSync(path.join(os.tmpdir(), 'pgtaos-full-'));
    const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=96m', 'tmpfs', mnt], { encoding: 'utf8' });
    if (m.status !== 0) t.skip(`cannot mount a tmpfs here (${m.stderr.trim()}); the free-space floor is tested above`);
    try {
      const ws = workspace(big, 'mystocks', { root: path.join(mnt, 'backups') });
      // An earlier (small) set on the same disk, which must survive.
      const small = workspace(pgc, 'mystocks', { root: path.join(mnt, 'backups') });
      const first = json<RunResult>(await cli(['backup', '--json'], { env: userEnv(pgc), cwd: small.dir }));
      expect(first.status).toBe('success');
      const firstSum = await sha256File(path.join(first.set!.path, 'mystocks.dump'));
      const run = start(path.join(process.cwd(), 'dist', 'cli.js'), ['backup'], { env: userEnv(big), cwd: ws.dir });
      await waitForDump(ws, run);
      spawnSync('dd', ['if=/dev/zero', `of=${path.join(mnt, 'filler')}`, 'bs=1M'], { encoding: 'utf8' }); // until ENOSPC
      const r = await run.done;
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/No space left on device/);
      expect(r.stderr).toContain('Earlier sets are untouched');
      expect(setDirs(ws)).toEqual([first.set!.id]);
      expect(incompleteDirs(ws)).toEqual([]);
      expect(existsSync(path.join(ws.root, '.lock'))).toBe(false);
      expect(await sha256File(path.join(first.set!.path, 'mystocks.dump'))).toBe(firstSum);
      record('disk full during the dump (tmpfs filled mid-dump)', 'exit 1 "No space left on device"; partial files removed, lock released; the earlier set unchanged');
    } finally {
      spawnSync('umount', ['-l', mnt]);
      rmSync(mnt, { recursive: true, force: true });
    }
  });

  it('SIGTERM mid-dump (the runner cancelling): pg_dump stopped, partial files gone, lock released, exit non-zero', async () => {
    const ws = workspace(big, 'mystocks');
    const run = start(path.join(process.cwd(), 'dist', 'cli.js'), ['backup'], { env: userEnv(big), cwd: ws.dir });
    await waitForDump(ws);
    expect(pgDumpsOf(ws).length).toBeGreaterThan(0);
    const t0 = Date.now();
    run.child.kill('SIGTERM');
    const r = await run.done;
    expect(Date.now() - t0).toBeLessThan(7500); // the runner's SIGKILL follows SIGINT by 10 s
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('received SIGTERM');
    expect(pgDumpsOf(ws)).toEqual([]);
    expect(setDirs(ws)).toEqual([]);
    expect(incompleteDirs(ws)).toEqual([]);
    expect(existsSync(path.join(ws.root, '.lock'))).toBe(false);
    const reports = readdirSync(path.join(ws.root, 'logs')).filter((f) => f.endsWith('-backup-' + run.child.pid + '.json'));
    expect(reports).toHaveLength(1);
    expect(readJson<RunResult>(path.join(ws.root, 'logs', reports[0]!)).status).toBe('cancelled');
    record('the tool gets SIGTERM mid-dump (runner cancel/timeout)', 'pg_dump stopped, partial files removed, lock released, report says cancelled, exit 1, in well under 7.5 s');
  });

  it('the tool is SIGKILLed mid-dump (no chance to clean up): the next run takes over the stale lock and proceeds; prune removes the leftovers', async () => {
    const ws = workspace(big, 'mystocks');
    const run = start(CLI, ['backup'], { env: userEnv(big), cwd: ws.dir });
    await waitForDump(ws, run);
    run.child.kill('SIGKILL');
    await run.done;
    // pg_dump outlives a SIGKILLed parent (nothing can forward that signal); wait for it to end.
    for (let i = 0; i < 1200 && pgDumpsOf(ws).length > 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(existsSync(path.join(ws.root, '.lock'))).toBe(true);
    expect(incompleteDirs(ws)).toHaveLength(1);
    expect((await listed(ws)).filter((s) => s.status === 'complete')).toEqual([]);

    const next = await cli(['backup', '--json'], { env: userEnv(big), cwd: ws.dir });
    expect(next.code, next.stderr).toBe(0);
    expect(next.stderr).toContain('took over a stale lock');
    const pruned = await cli(['prune'], { env: userEnv(big), cwd: ws.dir });
    expect(pruned.code, pruned.stderr).toBe(0);
    expect(incompleteDirs(ws)).toEqual([]);
    expect(existsSync(path.join(ws.root, '.lock'))).toBe(false);
    await verifies(ws, json<RunResult>(next).set!.id, big);
    record('the tool gets SIGKILL mid-dump', 'lock and a partial set left (nothing can run on SIGKILL); the leftover is listed as incomplete, never as a backup; the next run takes over the stale lock with a warning and succeeds; prune removes the leftover');
  });

  it('the tool gets SIGTERM mid-upload to S3: the local set stays complete and verifies; nothing on the remote looks complete', async () => {
    const s3 = await startS3();
    try {
      const ws = workspace(big, 'mystocks', { remotes: [{ type: 's3', name: 'oss', endpoint: s3.endpoint, bucket: s3.bucket, prefix: 'mystocks/' }] });
      const env = userEnv(big, { ...s3.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' });
      const run = start(CLI, ['milestone', 'pre_upload_cut'], { env, cwd: ws.dir });
      // The local milestone set is committed before its copy starts: wait for it, then for bytes on the remote.
      const setDir = () => setDirs(ws, 'milestone')[0];
      const onRemote = () => spawnSync('find', [s3.directory, '-type', 'f'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
      for (let i = 0; i < 1200 && !setDir(); i++) await new Promise((r) => setTimeout(r, 25));
      expect(setDir()).toBeDefined();
      for (let i = 0; i < 400 && onRemote().length === 0; i++) await new Promise((r) => setTimeout(r, 10));
      expect(run.child.exitCode).toBeNull(); // still copying
      run.child.kill('SIGTERM');
      const r = await run.done;
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain('received SIGTERM');
      expect(onRemote().filter((f) => f.includes('manifest.json'))).toEqual([]);
      expect(existsSync(path.join(ws.root, '.lock'))).toBe(false);
      const id = setDir()!;
      expect((await listed(ws)).find((s) => s.id === id)).toMatchObject({ status: 'complete', kind: 'milestone' });
      await verifies(ws, id, big);
      record('the tool gets SIGTERM mid-upload to S3', 'upload aborted; no manifest.json on the remote, so no copy looks complete; the local milestone set stays complete and verifies; lock released; the next milestone/backup run copies it again');
    } finally {
      await s3.close();
    }
  });

  it('two runs at once: one backs up, the other is refused naming the holder; one set, lock free', async () => {
    const ws = workspace(big, 'mystocks');
    const a = start(CLI, ['backup'], { env: userEnv(big), cwd: ws.dir });
    const b = start(CLI, ['backup'], { env: userEnv(big), cwd: ws.dir });
    const [ra, rb] = await Promise.all([a.done, b.done]);
    expect([ra.code, rb.code].sort()).toEqual([0, 1]);
    expect((ra.code === 1 ? ra : rb).stderr).toContain('another pgtaos-backup run holds');
    expect(setDirs(ws)).toHaveLength(1);
    expect(incompleteDirs(ws)).toEqual([]);
    expect(existsSync(path.join(ws.root, '.lock'))).toBe(false);
    record('two runs on one root at once', 'one runs; the other exits 1 "another pgtaos-backup run holds <root>/.lock: backup (pid N on host, since T)"; one set');
  });
});

describe('faults in the catalog', () => {
  async function twoSets(ws: Workspace): Promise<[string, string]> {
    const a = json<RunResult>(await cli(['backup', '--json'], { env: userEnv(pgc), cwd: ws.dir })).set!;
    await new Promise((r) => setTimeout(r, 1100));
    const b = json<RunResult>(await cli(['backup', '--json'], { env: userEnv(pgc), cwd: ws.dir })).set!;
    return [a.id, b.id];
  }

  it('a manifest truncated by hand: the set is incomplete, not a backup; verify refuses it; prune keeps it for a person; status fails', async () => {
    const ws = workspace(pgc, 'mystocks');
    const [older, newer] = await twoSets(ws);
    const mf = path.join(ws.root, 'daily', newer, 'manifest.json');
    writeFileSync(mf, readFileSync(mf, 'utf8').slice(0, 200));
    const sets = await listed(ws);
    expect(sets.find((s) => s.id === newer)).toMatchObject({ status: 'incomplete', reason: expect.stringContaining('not valid JSON') });
    const v = await cli(['verify', newer], { env: userEnv(pgc), cwd: ws.dir });
    expect(v.code).toBe(1);
    expect(v.stderr).toContain('incomplete');
    const vDefault = json<RunResult>(await cli(['verify', '--json'], { env: userEnv(pgc), cwd: ws.dir }));
    expect(vDefault.set?.id).toBe(older); // the newest *complete* set
    expect(vDefault.status).toBe('success');
    expect((await cli(['prune'], { env: userEnv(pgc), cwd: ws.dir })).code).toBe(0);
    expect(existsSync(path.join(ws.root, 'daily', newer, 'mystocks.dump'))).toBe(true);
    const st = await cli(['status', '--json'], { env: userEnv(pgc), cwd: ws.dir });
    expect(st.code).toBe(1);
    expect(json<RunResult>(st).checks.find((c) => c.name === 'incomplete sets')).toMatchObject({ result: 'failed', detail: expect.stringContaining(newer) });
    record('manifest.json truncated by hand', 'set listed as incomplete ("not valid JSON"), never counted; verify of it exits 1; verify picks the newest complete set; prune keeps it for a person; status fails naming it');
  });

  it('a manifest edited by hand into another shape: incomplete as well', async () => {
    const ws = workspace(pgc, 'mystocks');
    const [, newer] = await twoSets(ws);
    const mf = path.join(ws.root, 'daily', newer, 'manifest.json');
    const m = JSON.parse(readFileSync(mf, 'utf8')) as { postgres: { files: { sha256: string }[] } };
    m.postgres.files[0]!.sha256 = 'not-a-checksum';
    writeFileSync(mf, JSON.stringify(m));
    expect((await listed(ws)).find((s) => s.id === newer)).toMatchObject({ status: 'incomplete', reason: expect.stringContaining('does not match the format') });
    record('manifest.json edited by hand (invalid)', 'set listed as incomplete ("does not match the format: postgres.files.0.sha256"); not a backup');
  });

  it('a set folder deleted by hand: gone from list; verify and status use the remaining sets', async () => {
    const ws = workspace(pgc, 'mystocks');
    const [older, newer] = await twoSets(ws);
    rmSync(path.join(ws.root, 'daily', newer), { recursive: true, force: true });
    expect((await listed(ws)).map((s) => s.id)).toEqual([older]);
    const v = json<RunResult>(await cli(['verify', '--json'], { env: userEnv(pgc), cwd: ws.dir }));
    expect(v).toMatchObject({ status: 'success', set: expect.objectContaining({ id: older }) });
    const st = json<RunResult>(await cli(['status', '--json'], { env: userEnv(pgc), cwd: ws.dir }));
    expect(st.checks.find((c) => c.name === 'postgres backup')).toMatchObject({ result: 'passed', detail: expect.stringContaining(older) });
    record('a set folder deleted by hand', 'gone from list; verify and status go on with the remaining sets');
  });

  it('the backup root not writable (read-only file system): exit 1 saying so, nothing written', async (t) => {
    const mnt = mkdtempSync(path.join(os.tmpdir(), 'pgtaos-ro-'));
    const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=8m,ro', 'tmpfs', mnt], { encoding: 'utf8' });
    if (m.status !== 0) t.skip(`cannot mount a tmpfs here (${m.stderr.trim()})`);
    try {
      const ws = workspace(pgc, 'mystocks', { root: path.join(mnt, 'backups') });
      const r = await cli(['backup'], { env: userEnv(pgc), cwd: ws.dir });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`cannot write to the backup root ${path.join(mnt, 'backups')}: it is on a read-only file system`);
      expect(readdirSync(mnt)).toEqual([]);
      record('backup root not writable (read-only mount)', 'exit 1 "cannot write to the backup root ...: it is on a read-only file system (EROFS)" with what to check');
    } finally {
      spawnSync('umount', ['-l', mnt]);
      rmSync(mnt, { recursive: true, force: true });
    }
  });

  it('a wrong password and a missing pg_dump: exit 1 / exit 2 with the fix named, no set', async () => {
    const ws = workspace(pgc, 'mystocks');
    const bad = await cli(['backup'], { env: userEnv(pgc, { PGPASSWORD: 'wrong' }), cwd: ws.dir });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('PostgreSQL refused the login');
    const nobin = workspace(pgc, 'mystocks', { postgres: { host: '127.0.0.1', port: pgc.port, database: 'mystocks', bin_dir: mkdtempSync(path.join(os.tmpdir(), 'nobin-')) } });
    const missing = await cli(['backup'], { env: userEnv(pgc), cwd: nobin.dir });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('pg_dump not found in bin_dir');
    expect(setDirs(ws)).toEqual([]);
    expect(setDirs(nobin)).toEqual([]);
    record('wrong password', 'exit 1 "PostgreSQL refused the login ...", hint names PGPASSWORD / postgres-password; no set');
    record('pg_dump missing', 'exit 2 "pg_dump not found in bin_dir ...", before any connection; nothing written');
  });
});
