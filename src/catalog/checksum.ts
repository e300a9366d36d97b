/** Sizes and SHA-256 of set files, streamed (a dump can be many GB). */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { FileEntry } from './manifest.js';
import { openNoFollow } from './set-files.js';

/** Set files only: a link is refused (ELOOP), never followed, and so is anything but a regular file. */
export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  // One reused 4 MiB buffer fed straight to the hash: faster than piping 1 MiB stream chunks
  // (bench/), and memory stays flat whatever the file's size.
  const buf = Buffer.allocUnsafe(4 << 20);
  const fh = await openNoFollow(file);
  try {
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      hash.update(buf.subarray(0, bytesRead));
    }
  } finally {
    await fh.close();
  }
  return hash.digest('hex');
}

/** The manifest entry for `rel` (a "/"-separated path inside the set folder). */
export async function fileEntry(dir: string, rel: string): Promise<FileEntry> {
  const abs = path.join(dir, ...rel.split('/'));
  const [st, sha256] = await Promise.all([fs.lstat(abs), sha256File(abs)]);
  return { path: rel, bytes: st.size, sha256 };
}

/** Every regular file under `dir`, as "/"-separated relative paths, sorted. */
export async function listFiles(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  const entries = await fs.readdir(path.join(dir, ...prefix.split('/').filter(Boolean)), { withFileTypes: true });
  for (const e of entries) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await listFiles(dir, rel)));
    else if (e.isFile()) out.push(rel);
  }
  return out.sort();
}
