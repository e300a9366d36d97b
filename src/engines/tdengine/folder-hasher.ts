/**
 * SHA-256 of a dump folder while taosdump is still writing it, so that little is left to hash once
 * it exits (the hashing after the dump was ~0.6 s of a 4.5 M-row backup on a real server). A file is
 * hashed once its mtime is SETTLE_MS old; at the end every file is stat'ed again and hashed anew
 * unless its size, mtime and ctime are still those seen before it was hashed. taosdump only ever
 * appends (Avro blocks, dbs.sql lines) or writes a file once, so a later write changes the size,
 * and a write SETTLE_MS after the last one gets a later mtime: a stale hash cannot survive.
 * Growth of the folder also counts as taosdump's sign of life for the stall watchdog.
 */
import { promises as fs, type BigIntStats } from 'node:fs';
import path from 'node:path';
import type { FileEntry } from '../../catalog/manifest.js';
import { fileEntry, listFiles } from '../../catalog/checksum.js';
import { mapLimit } from './counts.js';
import type { Liveness } from './taosdump.js';

const POLL_MS = 250;
const SETTLE_MS = 500;
const PARALLEL = 4;

interface Hashed {
  stamp: string;
  entry: FileEntry;
}

const stampOf = (st: BigIntStats): string => `${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;

export class FolderHasher {
  private readonly hashed = new Map<string, Hashed>();
  private timer: NodeJS.Timeout | null = null;
  private pass: Promise<void> = Promise.resolve();
  private bytesSeen = -1n;
  private stopped = false;
  private early: number | null = null;

  /** `sub` is the folder inside `root` (the set folder); entries are "sub/..." paths. */
  constructor(
    private readonly root: string,
    private readonly sub: string,
    private readonly live?: Liveness,
  ) {}

  start(): this {
    const tick = () => {
      if (this.stopped) return;
      this.pass = this.sweep(false).catch(() => undefined).then(() => {
        if (!this.stopped) this.timer = setTimeout(tick, POLL_MS);
      });
    };
    this.timer = setTimeout(tick, POLL_MS);
    return this;
  }

  /** One look at the folder: hash what has settled (at the end: everything not hashed as it is now). */
  private async sweep(final: boolean): Promise<(FileEntry | null)[]> {
    const dir = path.join(this.root, this.sub);
    const rels = await listFiles(dir);
    const stats = await mapLimit(rels, PARALLEL * 4, (rel) => fs.stat(path.join(dir, ...rel.split('/')), { bigint: true }));
    const total = stats.reduce((a, st) => a + st.size, 0n);
    if (total !== this.bytesSeen) {
      this.bytesSeen = total;
      this.live?.touch();
    }
    const settledBefore = (BigInt(Date.now()) - BigInt(SETTLE_MS)) * 1_000_000n;
    return mapLimit(rels.map((rel, i) => ({ rel, st: stats[i]! })), PARALLEL, async ({ rel, st }) => {
      const full = `${this.sub}/${rel}`;
      const stamp = stampOf(st);
      const known = this.hashed.get(full);
      if (known && known.stamp === stamp) return known.entry;
      if (!final && (this.stopped || st.mtimeNs > settledBefore)) return null;
      const { sha256 } = await fileEntry(this.root, full);
      // the stamp was taken BEFORE hashing: any write during or after the hash changes it
      const entry: FileEntry = { path: full, bytes: Number(st.size), sha256 };
      this.hashed.set(full, { stamp, entry });
      return entry;
    });
  }

  /** Stops hashing in the background (also when taosdump failed: nothing will be kept). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.pass;
    this.early ??= this.hashed.size;
  }

  /** After taosdump exited: every file of the folder with size and SHA-256, sorted by path. */
  async finish(): Promise<FileEntry[]> {
    await this.stop();
    return (await this.sweep(true)).filter((e): e is FileEntry => e !== null);
  }

  /** Files hashed while taosdump was still writing (for the log). */
  get hashedEarly(): number {
    return this.early ?? this.hashed.size;
  }
}
