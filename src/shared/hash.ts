/**
 * SHA-256, the one digest of the catalog: manifests, remote copies, config snapshots and imports
 * all hash through here, so a file's sum means the same thing everywhere.
 */
import { createHash, type Hash } from 'node:crypto';
import { promises as fs } from 'node:fs';

/** An incremental SHA-256, for data that passes through (uploads, tar entries). */
export function newSha256(): Hash {
  return createHash('sha256');
}

export function sha256Hex(data: string | Buffer): string {
  return newSha256().update(data).digest('hex');
}

/**
 * The hex digest of what an open file holds from its current position. One reused 4 MiB buffer
 * fed straight to the hash: faster than piping 1 MiB stream chunks (bench/), and memory stays
 * flat whatever the file's size.
 */
export async function sha256Handle(fh: fs.FileHandle): Promise<string> {
  const hash = newSha256();
  const buf = Buffer.allocUnsafe(4 << 20);
  for (;;) {
    const { bytesRead } = await fh.read(buf, 0, buf.length, null);
    if (bytesRead === 0) break;
    hash.update(buf.subarray(0, bytesRead));
  }
  return hash.digest('hex');
}

/** A file outside any set (a config file, a dump being imported); set files go through catalog/checksum. */
export async function sha256Path(file: string): Promise<string> {
  const fh = await fs.open(file, 'r');
  try {
    return await sha256Handle(fh);
  } finally {
    await fh.close();
  }
}
