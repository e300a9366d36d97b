/** Sizes and SHA-256 of set files, streamed (a dump can be many GB). */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { FileEntry } from './manifest.js';
import { openNoFollow } from './set-files.js';
import { sha256Handle } from '../shared/hash.js';

/** Set files only: a link is refused (ELOOP), never followed, and so is anything but a regular file. */
export async function sha256File(file: string): Promise<string> {
  const fh = await openNoFollow(file);
  try {
    return await sha256Handle(fh);
  } finally {
    await fh.close();
  }
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
