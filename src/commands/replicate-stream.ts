/**
 * The bytes that leave for a remote, and the bytes that come back. A set's file is streamed as it
 * is or age-encrypted (never the whole file in memory), hashed twice on the way: the local file as
 * read (to compare with the manifest) and what is stored (to compare with the read-back).
 */
import type { Hash } from 'node:crypto';
import type { promises as fs } from 'node:fs';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { openNoFollow } from '../catalog/set-files.js';
import type { Remote } from '../remotes/remote.js';
import { newSha256 } from '../shared/hash.js';

const CHUNK = 1 << 20;

/** Counts and hashes what flows through. */
class HashCount extends Transform {
  private readonly hash: Hash = newSha256();
  private hex: string | null = null;
  bytes = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    cb(null, chunk);
  }
  /** The SHA-256 of everything that went through (call once the stream has ended). */
  digest(): string {
    this.hex ??= this.hash.digest('hex');
    return this.hex;
  }
}

/** A file read in chunks on demand (pull), hashed on the way: flat memory whatever its size. */
function pullFile(fh: fs.FileHandle, plain: { hash: Hash; bytes: number }): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const buf = new Uint8Array(CHUNK);
      const { bytesRead } = await fh.read(buf, 0, CHUNK, null);
      if (bytesRead === 0) {
        controller.close();
        return;
      }
      const chunk = buf.subarray(0, bytesRead);
      plain.hash.update(chunk);
      plain.bytes += bytesRead;
      controller.enqueue(chunk);
    },
  });
}

export interface Source {
  /** What to store. */
  body: Readable;
  /** Size of the local file, and how much of it has been read and sent so far (for progress lines). */
  size: number;
  sent: () => number;
  /** Size and SHA-256 of what was stored (once body has ended). */
  stored: () => { bytes: number; sha256: string };
  /** Size and SHA-256 of the local file as read (once body has ended). */
  plain: () => { bytes: number; sha256: string };
  close: () => Promise<void>;
}

/**
 * The bytes to store for one local file: the file itself, or its age encryption, streamed (never
 * the whole file in memory), with the local file hashed from the same bytes that are sent.
 */
export async function copySource(file: string, recipients: string[]): Promise<Source> {
  const stored = new HashCount();
  const storedResult = () => ({ bytes: stored.bytes, sha256: stored.digest() });
  // Never through a link: a set file linked to /etc/shadow must not reach the remote.
  const fh = await openNoFollow(file);
  const size = (await fh.stat()).size;
  if (recipients.length === 0) {
    const direct = fh.createReadStream({ highWaterMark: CHUNK });
    direct.on('error', (e) => stored.destroy(e));
    return { body: direct.pipe(stored), size, sent: () => stored.bytes, stored: storedResult, plain: storedResult, close: async () => void direct.destroy() };
  }
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await fh.close().catch(() => {});
  };
  // Loaded on first use: most runs encrypt nothing, and the CLI starts faster without it.
  const { Encrypter } = await import('age-encryption');
  const enc = new Encrypter();
  for (const r of recipients) enc.addRecipient(r);
  const plain = { hash: newSha256(), bytes: 0 };
  let plainHex: string | null = null;
  // Node 20: Readable.fromWeb on age's output stays flat in memory; Writable.toWeb would buffer the file.
  const raw = Readable.fromWeb((await enc.encrypt(pullFile(fh, plain))) as import('node:stream/web').ReadableStream<Uint8Array>);
  raw.on('error', (e) => stored.destroy(e));
  return {
    body: raw.pipe(stored),
    size,
    sent: () => plain.bytes,
    stored: storedResult,
    plain: () => {
      plainHex ??= plain.hash.digest('hex');
      return { bytes: plain.bytes, sha256: plainHex };
    },
    close,
  };
}

/** Reads `key` back in full and hashes it; `got.bytes` follows the bytes read (for progress lines). */
export async function readBack(remote: Remote, key: string, signal: AbortSignal, got: { bytes: number } = { bytes: 0 }): Promise<{ bytes: number; sha256: string }> {
  const s = await remote.get(key, signal);
  const hash = newSha256();
  got.bytes = 0;
  for await (const chunk of s) {
    if (signal.aborted) {
      s.destroy();
      throw signal.reason;
    }
    const b = chunk as Buffer;
    hash.update(b);
    got.bytes += b.length;
  }
  return { bytes: got.bytes, sha256: hash.digest('hex') };
}

