/**
 * The one place that turns a file a manifest names into a path on disk. The backup root can be
 * changed by anyone who can write there, so a manifest is data, not a promise: a name must be
 * relative, normalised and inside its set folder, and nothing on the way to it (the kind folder,
 * the set folder, sub-folders, the file) may be a symbolic link. A set that breaks the rule is
 * damaged; nothing outside the set is ever read because a manifest said so.
 */
import { constants, promises as fs } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { JobError } from '../errors.js';

/** Longest file name a manifest may list (the tool writes short ones; taosdump's are under 200). */
const MAX_REL_LENGTH = 1024;

/** Why `rel` is not a plain "/"-separated path inside a set folder, or null when it is. */
export function unsafeRelPath(rel: string): string | null {
  if (rel.length === 0 || rel.length > MAX_REL_LENGTH) return `${JSON.stringify(rel.slice(0, 80))} is not a file name of 1 to ${MAX_REL_LENGTH} characters`;
  if (rel.includes('\0') || rel.includes('\\')) return `${JSON.stringify(rel)} holds a NUL or "\\"`;
  if (rel.startsWith('/')) return `${JSON.stringify(rel)} is an absolute path`;
  const parts = rel.split('/');
  if (parts.some((p) => p === '..')) return `${JSON.stringify(rel)} climbs out of the set folder ("..")`;
  if (parts.some((p) => p === '' || p === '.')) return `${JSON.stringify(rel)} is not a normalised path (empty or "." part)`;
  return null;
}

/**
 * Why the path from `dir` down to `rel` is not plain folders ending in a regular file, or null.
 * lstat never follows a link, so a link anywhere on the way is seen as one.
 */
export async function unsafeOnDisk(dir: string, rel: string): Promise<string | null> {
  const parts = rel.split('/');
  let cur = dir;
  for (const [i, part] of parts.entries()) {
    cur = path.join(cur, part);
    let st;
    try {
      st = await fs.lstat(cur);
    } catch (err) {
      // Missing files are the checksum's business (it says "missing"); only links and odd types are refused here.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    const last = i === parts.length - 1;
    if (st.isSymbolicLink()) return `${rel}${last ? '' : ` (at ${parts.slice(0, i + 1).join('/')})`} is a symbolic link${await linkTarget(cur)}; links are not followed`;
    if (last ? !st.isFile() : !st.isDirectory()) return `${parts.slice(0, i + 1).join('/')} is not a ${last ? 'regular file' : 'folder'}`;
  }
  return null;
}

async function linkTarget(p: string): Promise<string> {
  return fs.readlink(p).then(
    (t) => ` to ${t}`,
    () => '',
  );
}

/** The set folder itself must be a real folder (a link there would lead every read elsewhere). */
export async function unsafeSetDir(dir: string): Promise<string | null> {
  const st = await fs.lstat(dir);
  if (st.isSymbolicLink()) return `the set folder is a symbolic link${await linkTarget(dir)}; links are not followed`;
  if (!st.isDirectory()) return 'the set folder is not a folder';
  return null;
}

/**
 * The first link (or socket, fifo, device) anywhere under a set folder, or null. A TDengine set is
 * a folder taosdump reads whole, so a link beside the listed files would be followed by it.
 */
export async function linkUnder(dir: string, prefix = ''): Promise<string | null> {
  const entries = await fs.readdir(path.join(dir, ...prefix.split('/').filter(Boolean)), { withFileTypes: true });
  for (const e of entries) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) {
      const inner = await linkUnder(dir, rel);
      if (inner) return inner;
    } else if (e.isSymbolicLink()) return `${rel} is a symbolic link${await linkTarget(path.join(dir, ...rel.split('/')))}; links are not followed`;
    else if (!e.isFile()) return `${rel} is not a regular file`;
  }
  return null;
}

/** Everything wrong with the files a manifest lists, checked by name and on disk; null when all are plain. */
export async function unsafeSetFiles(dir: string, rels: string[]): Promise<string | null> {
  const bad = (await unsafeSetDir(dir)) ?? rels.map(unsafeRelPath).find((r) => r !== null);
  if (bad) return `manifest.json names a file the tool will not open: ${bad}`;
  // One walk of the folder finds any link; only then are the listed files looked at one by one,
  // to name the one a manifest points through (the catalog reads 1,000 sets per `list`).
  const link = await linkUnder(dir);
  if (!link) return null;
  for (const rel of rels) {
    const why = await unsafeOnDisk(dir, rel);
    if (why) return `manifest.json names a file the tool will not open: ${why}`;
  }
  return `the set folder holds something the tool did not write: ${link}`;
}

/**
 * The absolute path of `rel` in the set folder `dir`, checked again just before use (the catalog
 * was read earlier and the root can change in between). Throws a JobError naming the set.
 */
export async function setFilePath(dir: string, rel: string, setId: string): Promise<string> {
  const why = unsafeRelPath(rel) ?? (await unsafeSetDir(dir)) ?? (await unsafeOnDisk(dir, rel));
  if (why) {
    throw new JobError('set.unsafe_file', `set ${setId} is damaged: manifest.json names a file the tool will not open: ${why}`, {
      hint: 'Someone or something changed the set folder after it was written. Nothing outside the set was read. Inspect it by hand, and verify or restore another set.',
    });
  }
  return path.join(dir, ...rel.split('/'));
}

/** Opens a set file for reading without following a link at its last part, and only if it is a regular file. */
export async function openNoFollow(abs: string): Promise<FileHandle> {
  const fh = await fs.open(abs, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    if (!(await fh.stat()).isFile()) throw new Error(`${abs} is not a regular file`);
  } catch (err) {
    await fh.close();
    throw err;
  }
  return fh;
}

/** Reads a small catalog file (manifest.json, verification.json, ...) without following a link to it. */
export async function readFileNoFollow(file: string): Promise<string> {
  const fh = await openNoFollow(file);
  try {
    return await fh.readFile('utf8');
  } finally {
    await fh.close();
  }
}

/**
 * The folders of the catalog itself (kind folders, .incomplete) must be real folders: through a
 * link, listing would read sets elsewhere and cleaning would delete whatever is behind it. The
 * root itself may be a link the operator made.
 */
export async function refuseLinkedFolders(root: string, names: readonly string[]): Promise<void> {
  for (const name of names) {
    const p = path.join(root, name);
    const st = await fs.lstat(p).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return null;
      throw err;
    });
    if (st && !st.isDirectory()) {
      const what = st.isSymbolicLink() ? `a symbolic link${await linkTarget(p)}` : 'not a folder';
      throw new JobError('catalog.linked_folder', `${p} is ${what}; the tool does not follow links inside the backup root, so it reads, writes and deletes nothing through it`, {
        hint: `Someone or something replaced ${name} in the backup root. Look at what it points to, remove the link (rm ${p}, not rm -r), and run again.`,
      });
    }
  }
}

/** Before a tool reads a whole set folder (taosdump -i): the catalog's check, made again now. */
export async function assertSetSafe(dir: string, rels: string[], setId: string): Promise<void> {
  const why = await unsafeSetFiles(dir, rels);
  if (why) {
    throw new JobError('set.unsafe_file', `set ${setId} is damaged: ${why}`, {
      hint: 'Someone or something changed the set folder after it was written. Nothing outside the set was read. Inspect it by hand, and verify or restore another set.',
    });
  }
}
