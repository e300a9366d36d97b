/**
 * A folder as a remote: an NFS or CIFS share mounted on the runner (it looks like a folder), or
 * another disk. Each object is written to a hidden temporary name beside its key, fsynced, then
 * renamed (and the folder fsynced), so a reader never sees part of a file. Files are 0600 and
 * folders 0700 whatever they hold.
 *
 * Before writing, check() refuses a share that is not mounted: when a mount drops, its mount
 * point is an empty folder on the local disk, and writing there would fill the local disk with
 * copies nobody can reach. With require_mount (the default) the folder must be on a mounted
 * filesystem (read from /proc/self/mountinfo) that is
 *  - not "/",
 *  - not the filesystem holding the backup root (a copy on the same disk is no copy), and
 *  - not the parent of a mount point that /etc/fstab lists at or above the folder: then that
 *    share is the one meant, and it is not mounted (an unmounted /data/nas on a local /data).
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { z } from 'zod';
import { remoteConfigSchema, type RemoteDriver } from './driver.js';
import { RemoteError, checkKey, type Capabilities, type PutOptions, type Remote, type RemoteObject, type RemoteStat } from './remote.js';

export const TEMP_MARK = '.pgtaos-part-';

export interface MountEntry {
  mountPoint: string;
  /** major:minor of the filesystem: equal for two mounts of the same filesystem (bind mounts). */
  device: string;
  fsType: string;
  options: string[];
}

const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

/** Parses /proc/self/mountinfo (proc(5)): field 3 is major:minor, field 5 the mount point (octal escapes), the type follows " - ". */
export function parseMountInfo(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const [left, right] = line.split(' - ');
    const f = (left ?? '').split(' ');
    if (f.length < 6 || right === undefined) continue;
    out.push({ mountPoint: unescape(f[4]!), device: f[2]!, fsType: right.split(' ')[0] ?? '', options: (f[5] ?? '').split(',') });
  }
  return out;
}

/** Mount points listed in an fstab(5) text (field 2, octal escapes; swap and comments left out). */
export function parseFstab(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (!f[0] || f[0].startsWith('#') || f.length < 3 || f[2] === 'swap' || !f[1]!.startsWith('/')) continue;
    const mp = path.posix.normalize(unescape(f[1]!));
    out.push(mp.length > 1 ? mp.replace(/\/+$/, '') : mp);
  }
  return out;
}

const within = (p: string, dir: string) => dir === '/' || p === dir || p.startsWith(`${dir}/`);

export type MountVerdict = { ok: true; mount: MountEntry } | { ok: false; why: string };

/**
 * Is the folder `real` (absolute, symlink-free) on a share that is mounted? Pure: the rules in the
 * header, over the parsed mountinfo, the fstab mount points, and the backup root (when known).
 */
export function judgeMount(real: string, mounts: MountEntry[], fstab: string[], backupRoot: string | null): MountVerdict {
  const m = mountOf(real, mounts);
  if (!m || m.mountPoint === '/') return { ok: false, why: 'it is on the root filesystem "/"' };
  // The deepest fstab mount point at or above the folder that is below the mount actually holding it: the share meant, not mounted.
  const missing = fstab.filter((fp) => within(real, fp) && fp !== m.mountPoint && within(fp, m.mountPoint) && !mounts.some((x) => x.mountPoint === fp)).sort((a, b) => b.length - a.length)[0];
  if (missing) return { ok: false, why: `/etc/fstab lists ${missing} as a mount point, but nothing is mounted there: the folder is on ${m.mountPoint} (${m.fsType}) instead` };
  if (backupRoot !== null) {
    const r = mountOf(backupRoot, mounts);
    if (r && r.device === m.device) {
      return { ok: false, why: `it is on the same filesystem as the backup root ${backupRoot} (${m.mountPoint}, ${m.fsType} ${m.device}): a copy there is lost with the same disk` };
    }
  }
  return { ok: true, mount: m };
}

/** The mount holding `p` (an absolute, symlink-free path): the longest mount point that is `p` or a parent of it. */
export function mountOf(p: string, mounts: MountEntry[]): MountEntry | null {
  let best: MountEntry | null = null;
  for (const m of mounts) {
    const mp = m.mountPoint;
    if (within(p, mp) && (!best || mp.length >= best.mountPoint.length)) best = m;
  }
  return best;
}

export interface PathRemoteOptions {
  name: string;
  path: string;
  requireMount: boolean;
  /** The backup root: the remote must not be on its filesystem (require_mount). Unknown: not checked. */
  backupRoot?: string;
  /** For tests: where mount information comes from (default /proc/self/mountinfo, /etc/fstab). */
  mountInfoFile?: string;
  fstabFile?: string;
}

export class PathRemote implements Remote {
  readonly type = 'path' as const;
  readonly name: string;
  readonly location: string;
  readonly capabilities: Capabilities = { metadata: false };
  private readonly dir: string;

  constructor(private readonly opts: PathRemoteOptions) {
    this.name = opts.name;
    this.dir = path.resolve(opts.path);
    this.location = this.dir;
  }

  private fail(message: string, hint: string, cause?: unknown): RemoteError {
    return new RemoteError(this.name, message, { hint, ...(cause === undefined ? {} : { cause }) });
  }

  private file(key: string): string {
    return path.join(this.dir, ...checkKey(key).split('/'));
  }

  async check(): Promise<void> {
    let st;
    try {
      st = await fs.stat(this.dir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw this.fail(
        code === 'ENOENT' ? `${this.dir} does not exist` : `cannot reach ${this.dir}: ${(err as Error).message}`,
        'Is the NFS/CIFS share mounted? Mount it (e.g. `mount /mnt/nas`, see /etc/fstab) and create the folder, then run again. The local set is complete either way.',
        err,
      );
    }
    if (!st.isDirectory()) throw this.fail(`${this.dir} is not a folder`, 'Point the remote\'s path at a folder on the mounted share.');
    if (this.opts.requireMount) {
      let text: string;
      const info = this.opts.mountInfoFile ?? '/proc/self/mountinfo';
      try {
        text = await fs.readFile(info, 'utf8');
      } catch (err) {
        throw this.fail(`cannot read ${info} to check that ${this.dir} is mounted: ${(err as Error).message}`, 'Set `require_mount: false` on this remote to skip the check.', err);
      }
      // No fstab (containers) is fine: that rule then has nothing to say.
      const fstab = await fs.readFile(this.opts.fstabFile ?? '/etc/fstab', 'utf8').catch(() => '');
      const root = this.opts.backupRoot === undefined ? null : await existingRealpath(this.opts.backupRoot);
      const verdict = judgeMount(await fs.realpath(this.dir), parseMountInfo(text), parseFstab(fstab), root);
      if (!verdict.ok) {
        throw this.fail(
          `${this.dir} is not on a mounted filesystem of its own (${verdict.why}): the NFS/CIFS share is not mounted, so nothing was copied there`,
          'Mount the share (e.g. `mount /mnt/nas`; check /etc/fstab and the network), then run again. If this folder is meant to be on a local disk, set `require_mount: false` on this remote.',
        );
      }
    }
    // A real write: catches read-only mounts, permissions and a full share.
    const probe = path.join(this.dir, `.pgtaos-probe-${os.hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`);
    try {
      const fh = await fs.open(probe, 'wx', 0o600);
      try {
        await fh.writeFile('probe');
        await fh.sync();
      } finally {
        await fh.close();
      }
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const why =
        code === 'EROFS' ? 'is read-only (mounted ro?)' : code === 'EACCES' || code === 'EPERM' ? `is not writable by this user (uid ${process.getuid?.() ?? '?'})` : code === 'ENOSPC' || code === 'EDQUOT' ? 'is full' : `cannot be written: ${(err as Error).message}`;
      await fs.rm(probe, { force: true }).catch(() => {});
      throw this.fail(`${this.dir} ${why}`, 'Remount the share read-write, or fix its permissions or free space, then run again. The local set is complete either way.', err);
    }
    await fs.rm(probe, { force: true });
  }

  async put(key: string, body: Readable, opts: PutOptions = {}): Promise<void> {
    const target = this.file(key);
    const dir = path.dirname(target);
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    const tmp = path.join(dir, `${TEMP_MARK}${path.basename(target)}-${process.pid}-${randomBytes(4).toString('hex')}`);
    try {
      await pipeline(body, createWriteStream(tmp, { flags: 'wx', mode: 0o600, highWaterMark: 1 << 20 }), ...(opts.signal ? [{ signal: opts.signal }] : []));
      // On the disk (the share) before the rename makes it visible.
      const fh = await fs.open(tmp, 'r+');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
      await fs.rename(tmp, target);
      await syncDir(dir);
    } catch (err) {
      await fs.rm(tmp, { force: true }).catch(() => {});
      if (opts.signal?.aborted) throw opts.signal.reason;
      throw this.fail(`writing ${key} failed: ${(err as Error).message}`, 'Check the share (mounted, writable, free space) and run again.', err);
    }
  }

  async get(key: string): Promise<Readable> {
    const f = this.file(key);
    try {
      await fs.access(f);
    } catch (err) {
      throw this.fail(`${key} is not there`, 'Copy the set again.', err);
    }
    return createReadStream(f, { highWaterMark: 1 << 20 });
  }

  async stat(key: string): Promise<RemoteStat | null> {
    try {
      const st = await fs.stat(this.file(key));
      return st.isFile() ? { bytes: st.size, metadata: {} } : null;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  async list(prefix: string): Promise<RemoteObject[]> {
    const out: RemoteObject[] = [];
    const walk = async (rel: string): Promise<void> => {
      let entries;
      try {
        entries = await fs.readdir(path.join(this.dir, ...rel.split('/').filter(Boolean)), { withFileTypes: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return;
        throw err;
      }
      for (const e of entries) {
        const key = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory()) {
          if (prefix.startsWith(`${key}/`) || key.startsWith(prefix) || prefix === '') await walk(key);
        } else if (e.isFile() && !e.name.startsWith(TEMP_MARK) && !e.name.startsWith('.pgtaos-probe-') && key.startsWith(prefix)) {
          out.push({ key, bytes: (await fs.stat(path.join(this.dir, ...key.split('/')))).size });
        }
      }
    };
    await walk('');
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async delete(key: string): Promise<void> {
    await fs.rm(this.file(key), { force: true });
  }
}

const pathConfig = remoteConfigSchema('path', {
  /** A folder on an NFS/CIFS mount (or another disk). */
  path: z.string().min(1).refine((p) => p.startsWith('/'), 'must be an absolute path, such as /mnt/nas/mystocks_backup'),
  /**
   * Refuse to write unless the folder is on a mounted filesystem other than "/" (an NFS/CIFS share
   * that dropped leaves an empty folder on the local disk). false for a plain local folder.
   */
  require_mount: z.boolean().default(true),
});
export type PathRemoteConfig = z.infer<typeof pathConfig>;

/** `type: path`: no secrets; named `path:<folder>` unless given a name. */
export const pathDriver: RemoteDriver<PathRemoteConfig> = {
  type: 'path',
  configSchema: pathConfig,
  secretEnv: [],
  defaultName: (c) => `path:${c.path}`,
  create: (c, ctx) => new PathRemote({ name: ctx.name, path: c.path, requireMount: c.require_mount, ...(ctx.backupRoot === undefined ? {} : { backupRoot: ctx.backupRoot }) }),
};

/** realpath of `p`, or of its nearest existing parent with the rest appended (a root not made yet). */
async function existingRealpath(p: string): Promise<string> {
  const abs = path.resolve(p);
  try {
    return await fs.realpath(abs);
  } catch {
    const parent = path.dirname(abs);
    return parent === abs ? abs : path.join(await existingRealpath(parent), path.basename(abs));
  }
}

async function syncDir(dir: string): Promise<void> {
  const fh = await fs.open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
