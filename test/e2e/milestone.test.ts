/**
 * milestone through the built bundles against a real PostgreSQL, a mounted share (tmpfs)
 * and a local S3-compatible server (s3rver on 127.0.0.1):
 * a tag push names the milestone; the set lands locally and on both remotes, age-encrypted,
 * read back and recorded; the copies decrypt with stock `age -d` and restore with stock pg_restore;
 * bad names create nothing; --force keeps both; prune never touches milestones; a share that is
 * not mounted fails the run clearly while the local set stays complete.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type Cluster } from '../helpers/pg-cluster.js';
import { seedMarketData, type MarketDataResult } from '../helpers/market-data.js';
import { cli as runCli, json, readJson, runAction as runActionIn, userEnv, workspace, type Workspace } from '../helpers/tool.js';
import { startCorruptingProxy, startS3, type LocalS3 } from '../helpers/s3.js';
import { ageDecrypt, makeAgeKey, stockAgeRequired, type AgeKey } from '../helpers/age.js';
import { mountTmpfs, unmountAll } from '../helpers/mount.js';
import { DAY_MS, writeFakeSet } from '../helpers/fake-catalog.js';
import { mountOf, parseMountInfo } from '../../src/remotes/path.js';
import type { Manifest } from '../../src/catalog/manifest.js';
import type { RemoteCopy } from '../../src/catalog/remote-copies.js';
import type { RunResult } from '../../src/report/result.js';

let pgc: Cluster;
let seeded: MarketDataResult;
let s3: LocalS3;
let key: AgeKey;

beforeAll(async () => {
  pgc = await startCluster({ name: 'milestone' });
  await pgc.createDb('mystocks');
  seeded = await seedMarketData(pgc, 'mystocks');
  s3 = await startS3();
  key = await makeAgeKey();
});
afterAll(async () => {
  await pgc?.destroy();
  await s3?.close();
  unmountAll();
});

/**
 * The share for the path remote: a mounted tmpfs (as root or through sudo -n; under CI mounting
 * must work), else a plain folder with require_mount: false, so the S3, age, status and list
 * checks of the main test run on any machine. The mount check itself has its own tests.
 */
function shareRemote(): { share: string; remote: Record<string, unknown> } {
  const mounted = mountTmpfs({ size: '128m' });
  const share = mounted ?? mkdtempSync(path.join(os.tmpdir(), 'pgtaos-nas-'));
  return { share, remote: { type: 'path', name: 'nas', path: share, ...(mounted ? {} : { require_mount: false }) } };
}

const cli = (ws: Workspace, args: string[], extra: NodeJS.ProcessEnv = {}) => runCli(args, { env: userEnv(pgc, { ...s3.env, ...extra }), cwd: ws.dir });
/** The built action with the cluster's client binaries first on PATH. */
const runAction = (ws: Workspace, inputs: Record<string, string>, extraEnv: NodeJS.ProcessEnv) => runActionIn(ws, inputs, { PATH: userEnv(pgc).PATH, ...extraEnv });

const s3Client = () => new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: s3.env.AWS_ACCESS_KEY_ID, secretAccessKey: s3.env.AWS_SECRET_ACCESS_KEY } });
async function s3Bytes(keyName: string): Promise<Buffer> {
  const r = await s3Client().send(new GetObjectCommand({ Bucket: s3.bucket, Key: keyName }));
  return Buffer.from(await r.Body!.transformToByteArray());
}

function restoreCount(file: string, db: string): number {
  const r = spawnSync(path.join(pgc.clientBinDir, 'pg_restore'), ['-h', pgc.host, '-p', String(pgc.port), '-U', pgc.user, '-d', db, '--exit-on-error', file], { env: pgc.env, encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return Number(spawnSync(path.join(pgc.clientBinDir, 'psql'), ['-h', pgc.host, '-p', String(pgc.port), '-U', pgc.user, '-d', db, '-Atc', 'select count(*) from public.daily_bars'], { env: pgc.env, encoding: 'utf8' }).stdout.trim());
}

describe('milestone', () => {
  it('a pushed tag milestone/post_phase2 (the action): a milestone set with the git facts, on a mounted share and on S3, encrypted, verified, restorable with age -d + pg_restore', async () => {
    const { share, remote } = shareRemote();
    const ws = workspace(pgc, 'mystocks', {
      remotes: [
        remote,
        { type: 's3', name: 'oss', endpoint: s3.endpoint, bucket: s3.bucket, prefix: 'mystocks/' },
      ],
      encryption: { age_recipients: [key.recipient] },
    });
    const r = await runAction(ws, { command: 'milestone', 'postgres-password': pgc.password, 'aws-access-key-id': s3.env.AWS_ACCESS_KEY_ID, 'aws-secret-access-key': s3.env.AWS_SECRET_ACCESS_KEY }, {
      GITHUB_REF: 'refs/tags/milestone/post_phase2',
      GITHUB_REF_NAME: 'milestone/post_phase2',
      GITHUB_REF_TYPE: 'tag',
      GITHUB_SHA: 'b'.repeat(40),
      GITHUB_ACTOR: 'release-bot',
      GITHUB_SERVER_URL: 'https://github.com',
      GITHUB_REPOSITORY: 'mystocks/ops',
      GITHUB_RUN_ID: '777',
    });
    expect(r.code, r.stdout).toBe(0);
    expect(r.outputs.status).toBe('success');
    const id = r.outputs['set-id']!;
    expect(id).toMatch(/^post_phase2_\d{8}$/);
    expect(r.outputs['set-path']).toBe(path.join(ws.root, 'milestone', id));
    const m = readJson<Manifest>(path.join(r.outputs['set-path']!, 'manifest.json'));
    expect(m).toMatchObject({ id, kind: 'milestone', milestone: 'post_phase2', status: 'complete' });
    expect(m.git).toEqual({ sha: 'b'.repeat(40), ref: 'refs/tags/milestone/post_phase2', tag: 'milestone/post_phase2', actor: 'release-bot', run_id: '777', run_url: 'https://github.com/mystocks/ops/actions/runs/777' });
    expect(Object.fromEntries(m.postgres!.tables.map((x) => [x.name, x.rows]))).toEqual(seeded.tables);

    // Recorded beside the set: both remotes verified by reading back, encrypted.
    const copies = readJson<{ copies: RemoteCopy[] }>(path.join(r.outputs['set-path']!, 'remotes.json')).copies;
    expect(copies.map((c) => [c.remote, c.result, c.encrypted])).toEqual([['nas', 'verified', true], ['oss', 'verified', true]]);
    const dumpRec = copies[0]!.files.find((f) => f.path === 'mystocks.dump')!;
    expect(dumpRec.sha256).toBe(m.postgres!.files[0]!.sha256);
    expect(dumpRec.key).toBe(`milestone/${id}/mystocks.dump.age`);

    // On the share: only encrypted files, private; they decrypt (stock age when installed) to the local dump.
    const onShare = readdirSync(path.join(share, 'milestone', id)).sort();
    expect(onShare).toEqual(['globals.sql.age', 'manifest.json.age', 'mystocks.dump.age']);
    const local = readFileSync(path.join(r.outputs['set-path']!, 'mystocks.dump'));
    const fromShare = await ageDecrypt(key, readFileSync(path.join(share, 'milestone', id, 'mystocks.dump.age')));
    expect(fromShare.plain.equals(local)).toBe(true);
    // Stock `age -d` wherever /usr/bin/age exists (setup.sh installs it; CI requires it).
    if (stockAgeRequired()) expect(fromShare.tool).toBe('age -d');
    // On S3: the same, under the prefix.
    const fromS3 = await ageDecrypt(key, await s3Bytes(`mystocks/milestone/${id}/mystocks.dump.age`));
    expect(fromS3.plain.equals(local)).toBe(true);
    if (stockAgeRequired()) expect(fromS3.tool).toBe('age -d');
    expect(JSON.parse((await ageDecrypt(key, await s3Bytes(`mystocks/milestone/${id}/manifest.json.age`))).plain.toString()).id).toBe(id);
    // And the decrypted copy restores with stock pg_restore.
    const restored = path.join(ws.dir, 'from-s3.dump');
    writeFileSync(restored, fromS3.plain);
    await pgc.createDb('from_s3_copy');
    expect(restoreCount(restored, 'from_s3_copy')).toBe(seeded.tables['public.daily_bars']);

    expect(r.summary).toContain(id);
    // The secret inputs are masked, never printed.
    expect(r.stdout.split(`::add-mask::${pgc.password}`).join('')).not.toContain(pgc.password);

    // status: the milestone checklist row passes.
    const st = json<RunResult>(await cli(ws, ['status', '--json']));
    expect(st.checks.find((c) => c.name === 'milestones copied to every remote')).toMatchObject({ result: 'passed' });
    // list says where it lives (on the log).
    const l = await cli(ws, ['list']);
    expect(l.stderr).toMatch(new RegExp(`${id}: here \\+ nas \\(verified .*age-encrypted\\), oss \\(verified`));
  });

  it.each([['../x'], ['has space'], ['Upper'], ['']])('a bad name %j: exit 2, nothing created', async (bad) => {
    const ws = workspace(pgc, 'mystocks');
    const r = await cli(ws, ['milestone', bad, '--json']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(bad ? /invalid milestone name/ : /a milestone name is required/);
    expect(existsSync(ws.root)).toBe(false);
  });

  it('the action without a name and without a milestone tag: exit 2, nothing created', async () => {
    const ws = workspace(pgc, 'mystocks');
    const r = await runAction(ws, { command: 'milestone', 'postgres-password': pgc.password }, { GITHUB_REF: 'refs/heads/main', GITHUB_REF_NAME: 'main', GITHUB_REF_TYPE: 'branch' });
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/a milestone name is required/);
    expect(existsSync(ws.root)).toBe(false);
  });

  it('a second milestone of the same name on the same day is refused; --force keeps both', async () => {
    const ws = workspace(pgc, 'mystocks');
    const first = json<RunResult>(await cli(ws, ['milestone', 'mvp_complete', '--json']));
    expect(first.status).toBe('success');
    const again = await cli(ws, ['milestone', 'mvp_complete', '--json']);
    expect(again.code).toBe(2);
    expect(json<RunResult>(again).error?.code).toBe('milestone.exists');
    const forced = json<RunResult>(await cli(ws, ['milestone', 'mvp_complete', '--force', '--json']));
    expect(forced.set?.id).toBe(`${first.set!.id}-2`);
    expect(readdirSync(path.join(ws.root, 'milestone')).sort()).toEqual([first.set!.id, `${first.set!.id}-2`]);
    // No remotes configured: the milestone checklist row says the milestones exist only here.
    const st = json<RunResult>(await cli(ws, ['status', '--json']));
    expect(st.checks.find((c) => c.name === 'milestones copied to every remote')).toMatchObject({ result: 'skipped', detail: expect.stringMatching(/2 milestone set\(s\) exist only on this machine/) });
  });

  it('prune leaves milestones alone, even years old, and removes old dailies', async () => {
    const ws = workspace(pgc, 'mystocks', { retention: { daily_days: 7, keep_last: 2, config_days: 30 } });
    const old = [
      await writeFakeSet(ws.root, { kind: 'milestone', id: 'pre_arch_optimization_20200101', startedAt: new Date(Date.now() - 6 * 365 * DAY_MS) }),
      await writeFakeSet(ws.root, { kind: 'milestone', id: 'post_phase2_20220301', startedAt: new Date(Date.now() - 4 * 365 * DAY_MS) }),
    ];
    const dailies = [];
    for (let i = 0; i < 4; i++) dailies.push(await writeFakeSet(ws.root, { kind: 'daily', id: `mystocks_2020010${i + 1}_000000`, startedAt: new Date(Date.now() - (6 * 365 - i) * DAY_MS) }));
    const r = await cli(ws, ['prune', '--json']);
    expect(r.code, r.stderr).toBe(0);
    for (const m of old) expect(existsSync(path.join(m, 'manifest.json'))).toBe(true);
    expect(dailies.filter((d) => existsSync(d)).length).toBe(2);
    expect(r.stderr).toMatch(/keep pre_arch_optimization_20200101 \(milestone\): milestone: kept forever/);
  });

  it('a share that is not mounted: exit 1 with a clear message, the local set complete and listed, the failure recorded', async (t) => {
    const info = parseMountInfo(readFileSync('/proc/self/mountinfo', 'utf8'));
    const dir = mkdtempSync(path.join(os.tmpdir(), 'pgtaos-unmounted-'));
    if (mountOf(dir, info)?.mountPoint !== '/') return t.skip('the temp folder is itself on a mount here');
    const ws = workspace(pgc, 'mystocks', { remotes: [{ type: 'path', name: 'nas', path: dir }] });
    const r = await cli(ws, ['milestone', 'pre_us2_migration', '--json']);
    expect(r.code).toBe(1);
    const res = json<RunResult>(r);
    expect(res.status).toBe('failure');
    expect(res.message).toMatch(/the local set pre_us2_migration_\d{8} is complete at .*, but 1 copy to remotes failed: .*remote nas: .* is not on a mounted filesystem/);
    expect(r.stderr).toMatch(/hint: Mount the share/);
    expect(readdirSync(dir)).toEqual([]);
    const l = json<{ sets: { id: string; status: string }[] }>(await cli(ws, ['list', '--json']));
    expect(l.sets).toEqual([expect.objectContaining({ id: res.set!.id, status: 'complete' })]);
    const rec = readJson<{ copies: RemoteCopy[] }>(path.join(res.set!.path, 'remotes.json')).copies;
    expect(rec[0]).toMatchObject({ remote: 'nas', result: 'failed' });
  });
  it('an S3 remote that returns other bytes than it stored: the read-back catches it, exit 1, the copy recorded failed, the status row fails', async () => {
    const proxy = await startCorruptingProxy(s3.endpoint);
    try {
      const ws = workspace(pgc, 'mystocks', { remotes: [{ type: 's3', name: 'oss', endpoint: proxy.endpoint, bucket: s3.bucket, prefix: 'rotten/' }] });
      const r = await cli(ws, ['milestone', 'post_us3_refactor', '--json']);
      expect(r.code, r.stderr).toBe(1);
      const res = json<RunResult>(r);
      expect(res.status).toBe('failure');
      expect(proxy.corrupted).toBeGreaterThan(0);
      expect(res.message).toMatch(new RegExp(`the local set ${res.set!.id} is complete at .*, but 1 copy to remotes failed: .*milestone/${res.set!.id}/mystocks\\.dump read back as \\d+ bytes, sha256 [0-9a-f]{16}…; \\d+ bytes, [0-9a-f]{16}… were sent`));
      expect(res.checks.find((c) => c.name === `copy ${res.set!.id} to oss`)).toMatchObject({ result: 'failed', detail: expect.stringMatching(/read back as/) });
      const rec = readJson<{ copies: RemoteCopy[] }>(path.join(res.set!.path, 'remotes.json')).copies;
      expect(rec).toEqual([expect.objectContaining({ remote: 'oss', result: 'failed', error: expect.stringMatching(/read back as/) })]);
      // The manifest is copied last: a copy that failed its read-back has none on the remote.
      await expect(s3Bytes(`rotten/milestone/${res.set!.id}/manifest.json`)).rejects.toThrow();
      const st = await cli(ws, ['status', '--json']);
      expect(st.code).toBe(1);
      expect(json<RunResult>(st).checks.find((c) => c.name === 'milestones copied to every remote')).toMatchObject({ result: 'failed', detail: expect.stringMatching(new RegExp(`${res.set!.id} not on oss \\(failed: .*read back as`)) });
    } finally {
      await proxy.close();
    }
  });
});
