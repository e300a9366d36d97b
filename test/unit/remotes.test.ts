/**
 * Remotes without any server: the in-memory driver runs the conformance suite, and replicate.ts
 * (what goes where, encryption, read-back, the record beside the set, the status row) runs
 * against memory remotes.
 */
import { mkdirSync, mkdtempSync, promises as fs, readFileSync, readdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Decrypter, generateIdentity, identityToRecipient } from 'age-encryption';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryRemote } from '../remotes/memory.js';
import { PathRemote, judgeMount, mountOf, parseFstab, parseMountInfo } from '../../src/remotes/path.js';
import { remoteName, remoteTakes } from '../../src/remotes/registry.js';
import { configSchema, type Config } from '../../src/inputs/config-schema.js';
import { readRemoteCopies } from '../../src/catalog/remote-copies.js';
import { listSets } from '../../src/catalog/sets.js';
import { milestoneCopiesRow, replicate, setToCopy } from '../../src/commands/replicate.js';
import type { RunContext } from '../../src/commands/context.js';
import { testCtx } from '../helpers/run-context.js';
import { DAY_MS, writeFakeSet } from '../helpers/fake-catalog.js';
import { remoteConformance } from '../remotes/conformance.js';

remoteConformance('memory', { make: async () => new MemoryRemote('mem'), largeBytes: 3 * 1024 * 1024 });

function ctxFor(config: Config): RunContext {
  return testCtx({ config, request: { command: 'backup' } });
}

const temps: string[] = [];
afterEach(() => {
  for (const d of temps.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tmpRoot(prefix = 'pgtaos-remotes-'): string {
  const d = mkdtempSync(path.join(os.tmpdir(), prefix));
  temps.push(d);
  return d;
}

const remotesCfg = [
  { type: 'path', name: 'nas', path: '/mnt/nas/backups' },
  { type: 's3', name: 'oss', bucket: 'mystocks-backup', include: ['daily'] },
];

describe('which sets go to which remote', () => {
  const [nas, oss] = configSchema.parse({ root: '/x', remotes: remotesCfg }).remotes;
  it.each([
    ['milestone', false, true, true],
    ['daily', false, false, true],
    ['safety', false, false, false],
    ['config', false, false, false],
    ['config', true, true, true],
  ] as const)('%s (encrypted %s): nas %s, oss %s', (kind, encrypted, toNas, toOss) => {
    expect(remoteTakes(nas!, kind, encrypted).takes).toBe(toNas);
    expect(remoteTakes(oss!, kind, encrypted).takes).toBe(toOss);
  });
  it('config snapshots never go unencrypted, and the reason says so', () => {
    const t = remoteTakes(oss!, 'config', false);
    expect(t.takes).toBe(false);
    expect(!t.takes && t.why).toMatch(/never leave the machine unencrypted/);
  });
  it('names: given, or derived from the location', () => {
    const [a, b] = configSchema.parse({ root: '/x', remotes: [{ type: 'path', path: '/mnt/nas/b' }, { type: 's3', bucket: 'bkt', prefix: '/mystocks/' }] }).remotes;
    expect(remoteName(a!)).toBe('path:/mnt/nas/b');
    expect(remoteName(b!)).toBe('s3:bkt/mystocks');
  });
  it('config refuses relative remote paths, credentials in the endpoint and non-age recipients', () => {
    expect(configSchema.safeParse({ root: '/x', remotes: [{ type: 'path', path: 'nas' }] }).success).toBe(false);
    expect(configSchema.safeParse({ root: '/x', remotes: [{ type: 's3', bucket: 'bkt', endpoint: 'https://AK:SK@oss.example.com' }] }).success).toBe(false);
    expect(configSchema.safeParse({ root: '/x', encryption: { age_recipients: ['ssh-ed25519 AAAA'] } }).success).toBe(false);
  });
});

describe('mount detection (/proc/self/mountinfo)', () => {
  const info = [
    '23 1 0:21 / / rw,relatime - overlay overlay rw',
    '40 23 0:35 / /mnt/nas rw,relatime - nfs4 192.0.2.1:/export rw',
    '41 23 0:36 / /mnt/with\\040space ro,relatime - cifs //srv/x rw',
  ].join('\n');
  const mounts = parseMountInfo(info);
  it('parses mount points (octal escapes) and types', () => {
    expect(mounts.map((m) => m.mountPoint)).toEqual(['/', '/mnt/nas', '/mnt/with space']);
    expect(mounts[1]!.fsType).toBe('nfs4');
  });
  it('finds the mount holding a path: the share, or "/" when the share is not mounted', () => {
    expect(mountOf('/mnt/nas/mystocks', mounts)?.mountPoint).toBe('/mnt/nas');
    expect(mountOf('/mnt/nas', mounts)?.mountPoint).toBe('/mnt/nas');
    expect(mountOf('/mnt/nasty/x', mounts)?.mountPoint).toBe('/');
    expect(mountOf('/mnt/other/x', mounts)?.mountPoint).toBe('/');
  });
  it('reads major:minor, and the mount points of an fstab (no swap, no comments, octal escapes)', () => {
    expect(mounts.map((m) => m.device)).toEqual(['0:21', '0:35', '0:36']);
    const fstab = ['# <fs> <mount point> <type> <options>', 'UUID=1 / ext4 defaults 0 1', '/dev/vdb none swap sw 0 0', '', '  192.0.2.1:/export  /data/nas/  nfs4  _netdev 0 0', '//srv/x /mnt/with\\040space cifs noauto 0 0'].join('\n');
    expect(parseFstab(fstab)).toEqual(['/', '/data/nas', '/mnt/with space']);
  });
});

describe('path remote with require_mount: which folders count as a mounted share', () => {
  // "/" and a second local partition /data; the share is meant to be at /data/nas (fstab).
  const base = ['27 1 254:0 / / rw,relatime - ext4 /dev/vda rw', '50 27 254:16 / /data rw,relatime - ext4 /dev/vdb rw'];
  const nasMounted = '60 50 0:77 / /data/nas rw,relatime - nfs4 192.0.2.1:/export rw';
  const bindOfRoot = '61 27 254:0 /srv/nasdata /mnt/nas rw,relatime - ext4 /dev/vda rw';
  it.each([
    ['on "/": refused', '/mnt/nas/mystocks', base, [], '/opt/claude/mystocks_backup', /root filesystem "\/"/],
    ['on a local /data whose fstab share /data/nas is not mounted: refused', '/data/nas/mystocks', base, ['/data/nas'], '/opt/claude/mystocks_backup', /\/etc\/fstab lists \/data\/nas as a mount point, but nothing is mounted there: the folder is on \/data \(ext4\)/],
    ['the fstab share mounted: accepted', '/data/nas/mystocks', [...base, nasMounted], ['/data/nas'], '/opt/claude/mystocks_backup', null],
    ['the share mounted, backup root on /data beside it: accepted', '/data/nas/mystocks', [...base, nasMounted], ['/data/nas'], '/data/backups', null],
    ['on the backup root\'s own filesystem (/data): refused', '/data/copies', base, [], '/data/backups', /same filesystem as the backup root \/data\/backups \(\/data, ext4 254:16\)/],
    ['a bind mount of the root disk, backup root on "/": refused', '/mnt/nas/mystocks', [...base, bindOfRoot], [], '/opt/claude/mystocks_backup', /same filesystem as the backup root/],
    ['another local disk, backup root elsewhere, nothing in fstab: accepted', '/data/copies', base, [], '/opt/claude/mystocks_backup', null],
    ['backup root unknown: only "/" and fstab count', '/data/copies', base, [], null, null],
  ] as const)('%s', (_label, folder, info, fstab, root, refused) => {
    const v = judgeMount(folder, parseMountInfo(info.join('\n')), [...fstab], root);
    if (refused === null) expect(v).toMatchObject({ ok: true });
    else expect(v.ok ? 'accepted' : v.why).toMatch(refused);
  });

  // The driver itself, on real folders, with fake mount tables: it refuses before writing anything.
  function layout() {
    const top = realpathSync(tmpRoot('pgtaos-mountinfo-'));
    const nas = path.join(top, 'data', 'nas');
    mkdirSync(nas, { recursive: true });
    const mountinfo = path.join(top, 'mountinfo');
    const fstab = path.join(top, 'fstab');
    writeFileSync(mountinfo, ['27 1 254:0 / / rw - ext4 /dev/vda rw', `50 27 254:16 / ${top}/data rw - ext4 /dev/vdb rw`].join('\n'));
    writeFileSync(fstab, `192.0.2.1:/export ${nas} nfs4 _netdev 0 0\n`);
    return { top, nas, mountinfo, fstab };
  }
  it('an unmounted share on another local partition is refused, and nothing is written there', async () => {
    const l = layout();
    const r = new PathRemote({ name: 'nas', path: l.nas, requireMount: true, backupRoot: path.join(l.top, 'backups'), mountInfoFile: l.mountinfo, fstabFile: l.fstab });
    const err = await r.check().then(() => null, (e: unknown) => e as { message: string; hint?: string });
    expect(err?.message).toMatch(new RegExp(`remote nas: ${l.nas} is not on a mounted filesystem of its own \\(/etc/fstab lists ${l.nas} as a mount point, but nothing is mounted there`));
    expect(err?.hint).toMatch(/Mount the share.*require_mount: false/);
    expect(readdirSync(l.nas)).toEqual([]);
    // Mounted (as the table now says): accepted, and the probe it wrote is gone again.
    writeFileSync(l.mountinfo, `${readFileSync(l.mountinfo, 'utf8')}\n60 50 0:77 / ${l.nas} rw - nfs4 192.0.2.1:/export rw\n`);
    await expect(r.check()).resolves.toBeUndefined();
    expect(readdirSync(l.nas)).toEqual([]);
  });
  it('a folder on the backup root\'s filesystem is refused; require_mount: false accepts it', async () => {
    const l = layout();
    writeFileSync(l.fstab, '');
    const opts = { name: 'nas', path: l.nas, backupRoot: path.join(l.top, 'data', 'backups'), mountInfoFile: l.mountinfo, fstabFile: l.fstab };
    await expect(new PathRemote({ ...opts, requireMount: true }).check()).rejects.toThrow(/same filesystem as the backup root/);
    await expect(new PathRemote({ ...opts, requireMount: false }).check()).resolves.toBeUndefined();
  });
});

describe('replicate to memory remotes', () => {
  it('a milestone goes to every remote, is read back, and recorded beside the set; a daily only where included', async () => {
    const root = tmpRoot();
    const config = configSchema.parse({ root, remotes: remotesCfg });
    const ctx = ctxFor(config);
    const nas = new MemoryRemote('nas');
    const oss = new MemoryRemote('oss');
    const mDir = await writeFakeSet(root, { kind: 'milestone', id: 'post_phase2_20261125', startedAt: new Date() });
    const dDir = await writeFakeSet(root, { kind: 'daily', id: 'mystocks_20261125_000003', startedAt: new Date() });
    const r = await replicate(ctx, [(await setToCopy(dDir))!, (await setToCopy(mDir))!], [nas, oss]);
    expect(r.failures).toEqual([]);
    expect([...nas.objects.keys()].sort()).toEqual(['milestone/post_phase2_20261125/manifest.json', 'milestone/post_phase2_20261125/mystocks.dump']);
    expect([...oss.objects.keys()].sort()).toEqual([
      'daily/mystocks_20261125_000003/manifest.json',
      'daily/mystocks_20261125_000003/mystocks.dump',
      'milestone/post_phase2_20261125/manifest.json',
      'milestone/post_phase2_20261125/mystocks.dump',
    ]);
    // Byte-identical copies.
    expect(nas.objects.get('milestone/post_phase2_20261125/mystocks.dump')!.data.equals(readFileSync(path.join(mDir, 'mystocks.dump')))).toBe(true);
    const copies = await readRemoteCopies(mDir);
    expect(copies.map((c) => [c.remote, c.result, c.encrypted])).toEqual([['nas', 'verified', false], ['oss', 'verified', false]]);
    expect(copies[0]!.files.map((f) => f.path)).toEqual(['mystocks.dump', 'manifest.json']);
    expect((await fs.stat(path.join(mDir, 'remotes.json'))).mode & 0o777).toBe(0o600);
    // A second run does not copy again.
    nas.objects.clear();
    await replicate(ctx, [], [nas, oss]);
    expect(nas.objects.size).toBe(0);
  });

  it('with age recipients every copy is encrypted and decrypts to the original', async () => {
    const root = tmpRoot();
    const identity = await generateIdentity();
    const config = configSchema.parse({ root, remotes: [remotesCfg[0]], encryption: { age_recipients: [await identityToRecipient(identity)] } });
    const nas = new MemoryRemote('nas');
    const mDir = await writeFakeSet(root, { kind: 'milestone', id: 'mvp_complete_20261125', startedAt: new Date() });
    const cDir = await writeFakeSet(root, { kind: 'config', id: 'config_20261125_000000', startedAt: new Date() });
    const r = await replicate(ctxFor(config), [(await setToCopy(mDir))!, (await setToCopy(cDir))!], [nas]);
    expect(r.failures).toEqual([]);
    expect([...nas.objects.keys()].every((k) => k.endsWith('.age'))).toBe(true);
    expect(nas.objects.has('config/config_20261125_000000/config.tar.age')).toBe(true);
    const d = new Decrypter();
    d.addIdentity(identity);
    const stored = nas.objects.get('milestone/mvp_complete_20261125/mystocks.dump.age')!.data;
    expect(stored.subarray(0, 21).toString()).toBe('age-encryption.org/v1');
    expect(Buffer.from(await d.decrypt(new Uint8Array(stored))).equals(readFileSync(path.join(mDir, 'mystocks.dump')))).toBe(true);
    const rec = (await readRemoteCopies(mDir))[0]!;
    expect(rec.encrypted).toBe(true);
    expect(rec.files[0]!.stored_bytes).toBe(stored.length);
    expect(rec.files[0]!.sha256).toBe((await setToCopy(mDir))!.manifest.postgres!.files[0]!.sha256);
  });

  it('without recipients a config snapshot stays local, and the run says so', async () => {
    const root = tmpRoot();
    const config = configSchema.parse({ root, remotes: [remotesCfg[0]] });
    const ctx = ctxFor(config);
    const nas = new MemoryRemote('nas');
    const cDir = await writeFakeSet(root, { kind: 'config', id: 'config_20261125_000000', startedAt: new Date() });
    const r = await replicate(ctx, [(await setToCopy(cDir))!], [nas]);
    expect(r.failures).toEqual([]);
    expect(nas.objects.size).toBe(0);
    expect(ctx.log.warnings.join('\n')).toMatch(/config set config_20261125_000000 stays on this machine.*never leave it unencrypted/);
  });

  it('a remote that cannot be written is recorded as failed; the next run catches up the milestones', async () => {
    const root = tmpRoot();
    const config = configSchema.parse({ root, remotes: [remotesCfg[0]] });
    const nas = new MemoryRemote('nas');
    nas.failCheck = '/mnt/nas is not on a mounted filesystem';
    const old = await writeFakeSet(root, { kind: 'milestone', id: 'pre_arch_optimization_20251025', startedAt: new Date(Date.now() - 400 * DAY_MS) });
    const r = await replicate(ctxFor(config), [(await setToCopy(old))!], [nas]);
    expect(r.failures.join()).toMatch(/pre_arch_optimization_20251025 was not copied to nas: remote nas: \/mnt\/nas is not on a mounted filesystem/);
    expect((await readRemoteCopies(old))[0]).toMatchObject({ remote: 'nas', result: 'failed' });
    const row = milestoneCopiesRow(['nas'], [{ id: 'pre_arch_optimization_20251025', copies: await readRemoteCopies(old) }]);
    expect(row.result).toBe('failed');
    expect(row.detail).toMatch(/pre_arch_optimization_20251025 not on nas \(failed: remote nas/);
    // The share is back: any later run copies what is due.
    nas.failCheck = null;
    const again = await replicate(ctxFor(config), [], [nas]);
    expect(again.failures).toEqual([]);
    expect((await readRemoteCopies(old))[0]).toMatchObject({ remote: 'nas', result: 'verified' });
  });

  it('a connection dropping mid-upload fails the copy and leaves no manifest on the remote', async () => {
    const root = tmpRoot();
    const config = configSchema.parse({ root, remotes: [remotesCfg[0]] });
    const nas = new MemoryRemote('nas');
    nas.failPutAfter = 100;
    const dir = await writeFakeSet(root, { kind: 'milestone', id: 'post_us2_migration_20261125', startedAt: new Date() });
    const r = await replicate(ctxFor(config), [(await setToCopy(dir))!], [nas]);
    expect(r.failures.join()).toMatch(/connection dropped/);
    expect(nas.objects.size).toBe(0);
    // The local set is untouched and complete.
    expect((await listSets(root)).find((s) => s.id === 'post_us2_migration_20261125')?.status).toBe('complete');
  });

  it.each([
    ['plain', false],
    ['age-encrypted', true],
  ])('a remote that returns other bytes than it was sent (%s): the copy is recorded failed, "read back as", and the status row fails', async (_label, encrypt) => {
    const root = tmpRoot();
    const identity = await generateIdentity();
    const config = configSchema.parse({ root, remotes: [remotesCfg[0]], encryption: { age_recipients: encrypt ? [await identityToRecipient(identity)] : [] } });
    const nas = new MemoryRemote('nas');
    nas.corruptGetAt = 40;
    const dir = await writeFakeSet(root, { kind: 'milestone', id: 'post_phase2_20261125', startedAt: new Date() });
    const r = await replicate(ctxFor(config), [(await setToCopy(dir))!], [nas]);
    const key = `milestone/post_phase2_20261125/mystocks.dump${encrypt ? '.age' : ''}`;
    expect(r.failures).toHaveLength(1);
    expect(r.failures[0]).toMatch(new RegExp(`post_phase2_20261125 was not copied to nas: ${key.replace(/\./g, '\\.')} read back as \\d+ bytes, sha256 [0-9a-f]{16}…; \\d+ bytes, [0-9a-f]{16}… were sent`));
    expect(r.checks).toEqual([expect.objectContaining({ name: 'copy post_phase2_20261125 to nas', result: 'failed' })]);
    const copies = await readRemoteCopies(dir);
    expect(copies).toEqual([expect.objectContaining({ remote: 'nas', result: 'failed', error: expect.stringMatching(/read back as/) })]);
    // The manifest goes last: a copy that failed its read-back never gets one on the remote.
    expect(nas.objects.has('milestone/post_phase2_20261125/manifest.json')).toBe(false);
    const row = milestoneCopiesRow(['nas'], [{ id: 'post_phase2_20261125', copies }]);
    expect(row).toMatchObject({ result: 'failed', detail: expect.stringMatching(/post_phase2_20261125 not on nas \(failed: .*read back as/) });
    // A remote that returns the bytes it got: the same set is then copied and verified.
    nas.corruptGetAt = null;
    expect((await replicate(ctxFor(config), [], [nas])).failures).toEqual([]);
    expect((await readRemoteCopies(dir))[0]).toMatchObject({ remote: 'nas', result: 'verified' });
  });

  it('a local file damaged since the backup is not copied', async () => {
    const root = tmpRoot();
    const config = configSchema.parse({ root, remotes: [remotesCfg[0]] });
    const nas = new MemoryRemote('nas');
    const dir = await writeFakeSet(root, { kind: 'milestone', id: 'post_us3_refactor_20261125', startedAt: new Date() });
    const f = path.join(dir, 'mystocks.dump');
    const buf = readFileSync(f);
    buf[10] = buf[10]! ^ 0xff;
    await fs.writeFile(f, buf);
    const r = await replicate(ctxFor(config), [(await setToCopy(dir))!], [nas]);
    expect(r.failures.join()).toMatch(/no longer matches the manifest/);
    expect(nas.objects.size).toBe(0);
  });
});

describe('status row: milestones copied to every remote', () => {
  const verified = (remote: string) => ({ remote, type: 'path' as const, location: '/x', result: 'verified' as const, copied_at: '2026-11-25T00:00:00.000+08:00', encrypted: false, check: 'read-back' as const, files: [], error: null });
  it.each([
    ['no milestones: skipped', ['nas'], [], 'skipped'],
    ['milestones but no remotes configured: skipped (the detail says they exist only here)', [], [{ id: 'a_20261125', copies: [] }], 'skipped'],
    ['every milestone on every remote: passed', ['nas', 'oss'], [{ id: 'a_20261125', copies: [verified('nas'), verified('oss')] }], 'passed'],
    ['one missing on one remote: failed', ['nas', 'oss'], [{ id: 'a_20261125', copies: [verified('nas')] }], 'failed'],
  ] as const)('%s', (_label, remotes, milestones, result) => {
    expect(milestoneCopiesRow([...remotes], milestones.map((m) => ({ id: m.id, copies: [...m.copies] }))).result).toBe(result);
  });
});
