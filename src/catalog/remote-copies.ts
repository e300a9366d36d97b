/**
 * remotes.json beside a set's manifest: where copies of the set are, and whether each copy was
 * read back and matched. One entry per remote (the latest attempt); the manifest is never rewritten.
 *
 *   { "copies": [ { "remote": "nas", "result": "verified", "encrypted": true, "files": [
 *       { "path": "mystocks.dump", "bytes": 123, "sha256": "<plaintext, = manifest>",
 *         "key": "milestone/post_phase2_20261125/mystocks.dump.age",
 *         "stored_bytes": 456, "stored_sha256": "<of the bytes on the remote>" } ] } ] }
 */
import path from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../shared/atomic-file.js';
import { readFileNoFollow } from './set-files.js';

export const REMOTES_FILE = 'remotes.json';

const copiedFile = z.object({
  /** As in the manifest (manifest.json itself is listed too). */
  path: z.string(),
  /** Size and SHA-256 of the local file as it was read for the copy (equal to the manifest's). */
  bytes: z.number().int().min(0),
  sha256: z.string(),
  /** Where the copy is on the remote, and the size and SHA-256 of what is stored there (age-encrypted or not). */
  key: z.string(),
  stored_bytes: z.number().int().min(0),
  stored_sha256: z.string(),
});

export const remoteCopySchema = z.object({
  remote: z.string(),
  /**
   * The driver's type. Any name: a copy made by a driver registered later (or by a test) must still
   * be read, so the drivers are not listed here.
   */
  type: z.string().min(1),
  location: z.string(),
  /** verified: every file stored and read back with the same size and SHA-256; failed: see error. */
  result: z.enum(['verified', 'failed']),
  copied_at: z.string(),
  encrypted: z.boolean(),
  /** How the copy was checked: the stored bytes were read back in full and hashed. */
  check: z.literal('read-back'),
  files: z.array(copiedFile),
  error: z.string().nullable(),
});
export type RemoteCopy = z.infer<typeof remoteCopySchema>;
export type CopiedFile = z.infer<typeof copiedFile>;

export const remotesFileSchema = z.object({ copies: z.array(remoteCopySchema) });
export type RemotesFile = z.infer<typeof remotesFileSchema>;

/** The copies recorded beside a set; [] when there is no (valid) record. */
export async function readRemoteCopies(setDir: string): Promise<RemoteCopy[]> {
  try {
    const parsed = remotesFileSchema.safeParse(JSON.parse(await readFileNoFollow(path.join(setDir, REMOTES_FILE))));
    return parsed.success ? parsed.data.copies : [];
  } catch {
    return [];
  }
}

/** Records one remote's copy, replacing that remote's earlier entry. */
export async function recordRemoteCopy(setDir: string, copy: RemoteCopy): Promise<void> {
  const copies = (await readRemoteCopies(setDir)).filter((c) => c.remote !== copy.remote);
  copies.push(remoteCopySchema.parse(copy));
  copies.sort((a, b) => (a.remote < b.remote ? -1 : a.remote > b.remote ? 1 : 0));
  await writeFileAtomic(path.join(setDir, REMOTES_FILE), `${JSON.stringify({ copies }, null, 2)}\n`, 0o600);
}

/** Drops one remote's entry (its copy was removed by that remote's retention); no record left: the file goes. */
export async function forgetRemoteCopy(setDir: string, remote: string): Promise<void> {
  const had = await readRemoteCopies(setDir);
  const copies = had.filter((c) => c.remote !== remote);
  if (copies.length === had.length) return;
  await writeFileAtomic(path.join(setDir, REMOTES_FILE), `${JSON.stringify({ copies }, null, 2)}\n`, 0o600);
}
