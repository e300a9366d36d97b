/**
 * tmpfs mounts for tests that need a real mount point (a share for the path remote, a small or
 * read-only disk for fault tests). As root: `mount` directly. Otherwise `sudo -n mount` (GitHub's
 * ubuntu-latest runs tests as a user with passwordless sudo); the tmpfs is then given to the
 * test's uid/gid so the user can write to it.
 *
 * When neither works, mountTmpfs() returns null and the caller skips with CANNOT_MOUNT as the
 * reason; but with CI set (GitHub sets CI=true) it throws instead: CI must run these tests, so
 * a machine that cannot mount fails the suite rather than skipping it.
 *
 *   const share = mountTmpfs({ size: '64m' });          // a fresh folder under os.tmpdir()
 *   if (!share) return t.skip(CANNOT_MOUNT);
 *   mountTmpfs({ at: dir, size: '8m', readOnly: true });  // an existing folder
 *   remountReadOnly(share);
 *   afterAll(unmountAll);                                 // or unmount(dir) for one
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export type MountVia = 'root' | 'sudo';

let access: { via: MountVia } | { via: null; why: string } | null = null;

/** How this process can mount (memoised): as root, through passwordless sudo, or not (and why). */
export function mountAccess(): { via: MountVia } | { via: null; why: string } {
  if (access) return access;
  if (process.getuid?.() === 0) {
    access = { via: 'root' };
  } else {
    const s = spawnSync('sudo', ['-n', 'true'], { encoding: 'utf8' });
    access = s.status === 0 ? { via: 'sudo' } : { via: null, why: `not root and no passwordless sudo (${(s.error?.message ?? s.stderr).trim() || `sudo exit ${s.status}`})` };
  }
  return access;
}

/** CI is set (GitHub Actions sets CI=true): tests that need a mount must run, not skip. */
export function inCi(): boolean {
  const v = process.env.CI;
  return v !== undefined && v !== '' && v !== 'false' && v !== '0';
}

/** The skip reason for a test that needs a mount on a machine that cannot mount. */
export const CANNOT_MOUNT = 'cannot mount a tmpfs here (needs root or passwordless sudo)';

function privileged(args: string[]): { status: number | null; stderr: string } {
  const a = mountAccess();
  if (a.via === null) return { status: null, stderr: a.why };
  const [cmd, argv] = a.via === 'root' ? [args[0]!, args.slice(1)] : ['sudo', ['-n', ...args]];
  const r = spawnSync(cmd, argv, { encoding: 'utf8' });
  return { status: r.status, stderr: (r.error?.message ?? r.stderr).trim() };
}

const mounted: { dir: string; created: boolean }[] = [];

export interface TmpfsOptions {
  /** Mount here (an existing, empty folder); default: a new folder under os.tmpdir(). */
  at?: string;
  /** tmpfs size, e.g. "64m" (default 64m). */
  size?: string;
  readOnly?: boolean;
}

/**
 * Mounts a tmpfs and returns its folder; null when this machine cannot mount (skip then).
 * Throws when CI is set and mounting is impossible, or when mount itself fails.
 */
export function mountTmpfs(opts: TmpfsOptions = {}): string | null {
  const a = mountAccess();
  if (a.via === null) {
    if (inCi()) throw new Error(`CI is set but this machine cannot mount a tmpfs: ${a.why}. Run the tests as root or with passwordless sudo.`);
    return null;
  }
  const dir = opts.at ?? mkdtempSync(path.join(os.tmpdir(), 'pgtaos-mnt-'));
  // tmpfs's default mode (1777) as before; through sudo the root of it also belongs to the test's user.
  const o = [`size=${opts.size ?? '64m'}`];
  if (a.via === 'sudo') o.push(`uid=${process.getuid?.() ?? 0}`, `gid=${process.getgid?.() ?? 0}`);
  if (opts.readOnly) o.push('ro');
  const r = privileged(['mount', '-t', 'tmpfs', '-o', o.join(','), 'tmpfs', dir]);
  if (r.status !== 0) {
    if (!opts.at) rmSync(dir, { recursive: true, force: true });
    throw new Error(`mount -t tmpfs at ${dir} failed (via ${a.via}): ${r.stderr}`);
  }
  mounted.push({ dir, created: !opts.at });
  return dir;
}

/** Remounts a tmpfs from mountTmpfs() read-only. Throws when that fails. */
export function remountReadOnly(dir: string): void {
  const r = privileged(['mount', '-o', 'remount,ro', dir]);
  if (r.status !== 0) throw new Error(`remount,ro of ${dir} failed: ${r.stderr}`);
}

/** Remounts a tmpfs from mountTmpfs() read-write again. Throws when that fails. */
export function remountReadWrite(dir: string): void {
  const r = privileged(['mount', '-o', 'remount,rw', dir]);
  if (r.status !== 0) throw new Error(`remount,rw of ${dir} failed: ${r.stderr}`);
}

/** Unmounts one folder from mountTmpfs() (lazily, so an open file cannot block it); removes the folder when mountTmpfs made it. */
export function unmount(dir: string): void {
  privileged(['umount', '-l', dir]);
  const i = mounted.findIndex((m) => m.dir === dir);
  if (i >= 0) {
    if (mounted[i]!.created) rmSync(dir, { recursive: true, force: true });
    mounted.splice(i, 1);
  }
}

/** Unmounts everything this process mounted (for afterAll). */
export function unmountAll(): void {
  for (const m of [...mounted].reverse()) unmount(m.dir);
}
