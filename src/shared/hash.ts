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

const MAX_BUFFER = 4 << 20;

/**
 * The hex digest of what an open file holds from its current position. One reused buffer of up
 * to 4 MiB fed straight to the hash: faster than piping 1 MiB stream chunks (bench/), and memory
 * stays flat whatever the file's size. No bigger than the file (+1, so that one read reaches its
 * end): a TDengine dump is hundreds of small files, and a fresh 4 MiB for each cost more in
 * garbage collection than the hashing itself (bench/README.md, "TDengine"). A file that grows
 * meanwhile is still read to its end, in more reads.
 */
export async function sha256Handle(fh: fs.FileHandle): Promise<string> {
  const hash = newSha256();
  const { size } = await fh.stat();
  const buf = Buffer.allocUnsafe(Math.min(MAX_BUFFER, size + 1));
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
