/**
 * The real remote drivers: `path` on a real mounted filesystem (a tmpfs we mount, as an NFS/CIFS
 * share would be; helpers/mount.ts mounts as root or through `sudo -n`, and never skips under CI)
 * and `s3` against a local S3-compatible server (s3rver on 127.0.0.1). Both run the
 * conformance suite; then the ways a remote fails: not mounted, read-only, missing, bucket or keys
 * wrong, and an upload interrupted half-way.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PathRemote, mountOf, parseMountInfo } from '../../src/remotes/path.js';
import { S3Remote } from '../../src/remotes/s3.js';
import { UsageError } from '../../src/errors.js';
import { configSchema } from '../../src/inputs/config-schema.js';
import { RunLog, silentSink } from '../../src/report/log.js';
import { runRequestSchema } from '../../src/inputs/options.js';
import { setToCopy } from '../../src/commands/replicate.js';
import { copySetTo } from '../../src/commands/replicate-copy.js';
import { MANIFEST_FILE, writeManifest } from '../../src/catalog/manifest.js';
import { fileEntry } from '../../src/catalog/checksum.js';
import { remoteConformance } from '../remotes/conformance.js';
import { CANNOT_MOUNT, mountTmpfs, remountReadOnly, unmountAll } from '../helpers/mount.js';
import { startS3, type LocalS3 } from '../helpers/s3.js';
import { fakeManifest } from '../helpers/fake-catalog.js';
import { CancelledError } from '../../src/errors.js';
import type { PutOptions, Remote } from '../../src/remotes/remote.js';
import { Transform, type Readable } from 'node:stream';

afterAll(unmountAll);

/** A folder on the root filesystem "/": where an unmounted share's mount point lives. */
function folderOnRootFs(): string | null {
  const info = parseMountInfo(readFileSync('/proc/self/mountinfo', 'utf8'));
  for (const base of [os.tmpdir(), '/var/tmp', path.resolve('.')]) {
    const dir = mkdtempSync(path.join(base, 'pgtaos-unmounted-'));
    if (mountOf(dir, info)?.mountPoint === '/') return dir;
    rmSync(dir, { recursive: true, force: true });
  }
  return null;
}

const share = mountTmpfs({ size: '64m' });
let n = 0;
remoteConformance('path (on a mounted tmpfs)', {
  make: async () => {
    const base = share ?? mkdtempSync(path.join(os.tmpdir(), 'pgtaos-path-'));
    const dir = path.join(base, `case-${++n}`);
    mkdirSync(dir);
    return new PathRemote({ name: 'nas', path: dir, requireMount: share !== null });
  },
  largeBytes: 12 * 1024 * 1024,
});

let s3: LocalS3;
beforeAll(async () => {
  s3 = await startS3();
});
afterAll(async () => {
  await s3?.close();
});
const s3Remote = (prefix: string, env: NodeJS.ProcessEnv = s3.env, bucket = s3.bucket) =>
  new S3Remote({ name: 'oss', endpoint: s3.endpoint, bucket, prefix, region: 'us-east-1', forcePathStyle: true, partSizeMb: 5, env });

remoteConformance('s3 (s3rver on 127.0.0.1, 5 MiB parts)', {
  make: async () => s3Remote(`mystocks/case-${randomBytes(4).toString('hex')}/`),
  largeBytes: 12 * 1024 * 1024,
});

describe('path remote: refuses what it cannot trust', () => {
  it('a share that is not mounted (its folder is on "/") is refused with a message, and nothing is written', async (t) => {
    const dir = folderOnRootFs();
    if (!dir) return t.skip('no folder on the root filesystem here');
    const r = new PathRemote({ name: 'nas', path: dir, requireMount: true });
    await expect(r.check()).rejects.toThrow(/remote nas: .* is not on a mounted filesystem .*the NFS\/CIFS share is not mounted/);
    const err = await failureOf(r.check());
    expect(err.hint).toMatch(/Mount the share.*require_mount: false/);
    expect(readdir(dir)).toEqual([]);
    // The same folder is fine when it is meant to be local.
    await expect(new PathRemote({ name: 'nas', path: dir, requireMount: false }).check()).resolves.toBeUndefined();
  });

  it('a mounted folder on the same filesystem as the backup root is refused (real mountinfo)', async (t) => {
    const disk = mountTmpfs({ size: '8m' });
    if (!disk) return t.skip(CANNOT_MOUNT);
    const copies = path.join(disk, 'copies');
    mkdirSync(copies);
    const r = new PathRemote({ name: 'nas', path: copies, requireMount: true, backupRoot: path.join(disk, 'backups') });
    await expect(r.check()).rejects.toThrow(/remote nas: .* is not on a mounted filesystem of its own \(it is on the same filesystem as the backup root/);
    expect(readdir(copies)).toEqual([]);
    // The same mount with the backup root elsewhere is a share like any other.
    await expect(new PathRemote({ name: 'nas', path: copies, requireMount: true, backupRoot: os.tmpdir() }).check()).resolves.toBeUndefined();
  });

  it('a missing folder is refused', async () => {
    await expect(new PathRemote({ name: 'nas', path: '/nonexistent/pgtaos/nas', requireMount: false }).check()).rejects.toThrow(/remote nas: \/nonexistent\/pgtaos\/nas does not exist/);
  });

  it('a read-only mount is refused', async (t) => {
    const ro = mountTmpfs({ size: '8m' });
    if (!ro) return t.skip(CANNOT_MOUNT);
    remountReadOnly(ro);
    await expect(new PathRemote({ name: 'nas', path: ro, requireMount: true }).check()).rejects.toThrow(/remote nas: .* is read-only/);
  });
});

describe('s3 remote: errors a person can act on', () => {
  it('keys missing from the environment: a usage error before anything connects', () => {
    expect(() => s3Remote('x/', {})).toThrow(UsageError);
    expect(() => s3Remote('x/', {})).toThrow(/needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment/);
  });
  it('a bucket that does not exist', async () => {
    const err = await failureOf(s3Remote('x/', s3.env, 'no-such-bucket').check());
    expect(err.message).toMatch(/remote oss: bucket no-such-bucket cannot be reached/);
    expect(err.hint).toMatch(/Create the bucket/);
  });
  it('wrong keys', async () => {
    const err = await failureOf(s3Remote('x/', { AWS_ACCESS_KEY_ID: 'WRONG', AWS_SECRET_ACCESS_KEY: 'WRONG-SECRET' }).check());
    expect(err.message).toMatch(/remote oss:/);
    expect(err.message).not.toContain('WRONG-SECRET');
  });
  it('nothing listens at the endpoint', async () => {
    const r = new S3Remote({ name: 'oss', endpoint: 'http://127.0.0.1:9', bucket: 'b-b-b', prefix: '', region: 'us-east-1', forcePathStyle: true, partSizeMb: 5, env: s3.env });
    await expect(r.check()).rejects.toThrow(/remote oss: bucket b-b-b cannot be reached/);
  });
});

describe('a set copy interrupted half-way leaves nothing that looks complete', () => {
  it('cancel during a multipart upload to s3: no dump object, no manifest; the local set stays', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'pgtaos-int-'));
    const id = 'post_phase2_20261125';
    const dir = path.join(root, 'milestone', id);
    mkdirSync(dir, { recursive: true });
    const big = randomBytes(24 * 1024 * 1024);
    const { writeFileSync } = await import('node:fs');
    writeFileSync(path.join(dir, 'mystocks.dump'), big);
    const m = fakeManifest({ kind: 'milestone', id, startedAt: new Date() }, { postgres: [await fileEntry(dir, 'mystocks.dump')] }, 'Asia/Shanghai');
    await writeManifest(dir, m);
    const ac = new AbortController();
    const config = configSchema.parse({ root, remotes: [{ type: 's3', name: 'oss', bucket: s3.bucket, endpoint: s3.endpoint }] });
    const ctx = { config, configFile: null, request: runRequestSchema.parse({ command: 'milestone', milestone: 'post_phase2' }), log: new RunLog(silentSink, []), signal: ac.signal, env: s3.env, now: () => new Date() };
    const inner = s3Remote('interrupted/');
    // Cancel (as SIGTERM does) once 8 MiB of the 24 MiB dump have gone out: mid-way through the multipart upload.
    const remote: Remote = Object.assign(Object.create(inner) as Remote, {
      put(key: string, body: Readable, opts?: PutOptions) {
        let sent = 0;
        const watch = new Transform({
          transform(chunk: Buffer, _e, cb) {
            sent += chunk.length;
            if (sent > 8 * 1024 * 1024 && !ac.signal.aborted) ac.abort(new CancelledError('SIGTERM'));
            cb(null, chunk);
          },
        });
        return inner.put(key, body.pipe(watch), opts);
      },
    });
    await expect(copySetTo(ctx, (await setToCopy(dir))!, remote)).rejects.toBeInstanceOf(CancelledError);
    expect(ac.signal.aborted).toBe(true);
    await new Promise((r) => setTimeout(r, 500));
    const left = await inner.list('');
    expect(left.filter((o) => o.key.endsWith(MANIFEST_FILE))).toEqual([]);
    expect(left.filter((o) => o.key.endsWith('mystocks.dump'))).toEqual([]);
    expect(readFileSync(path.join(dir, 'mystocks.dump')).equals(big)).toBe(true);
  });
});

function readdir(dir: string): string[] {
  return spawnSync('ls', ['-A', dir], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
}

async function failureOf(p: Promise<unknown>): Promise<{ message: string; hint?: string }> {
  try {
    await p;
  } catch (err) {
    return err as { message: string; hint?: string };
  }
  throw new Error('expected a failure');
}
