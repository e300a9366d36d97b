/**
 * The remote conformance suite (restic's internal/backend/test): every driver (memory, path, s3)
 * runs these same cases against the Remote interface, so they all keep the same promises —
 * above all that put() is atomic: an interrupted put leaves no object that looks complete.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { Remote } from '../../src/remotes/remote.js';

export async function readAll(s: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** A stream of `total` bytes that fails (or calls `midway`) after `failAfter` bytes. */
export function slowStream(total: number, opts: { failAfter?: number; midway?: () => void; chunk?: number; produced?: Buffer[] } = {}): Readable {
  let sent = 0;
  const chunk = opts.chunk ?? 256 * 1024;
  let fired = false;
  return new Readable({
    read() {
      if (opts.failAfter !== undefined && sent >= opts.failAfter) {
        this.destroy(new Error('source broke mid-way'));
        return;
      }
      if (opts.midway && !fired && sent >= total / 2) {
        fired = true;
        opts.midway();
      }
      if (sent >= total) {
        this.push(null);
        return;
      }
      const n = Math.min(chunk, total - sent);
      sent += n;
      const b = randomBytes(n);
      opts.produced?.push(b);
      setTimeout(() => this.push(b), 1);
    },
  });
}

export interface ConformanceOptions {
  /** A fresh, empty remote for each case. */
  make: () => Promise<Remote>;
  /** Bytes for the "large" case: big enough to need more than one part where the driver has parts. */
  largeBytes: number;
}

export function remoteConformance(label: string, opts: ConformanceOptions): void {
  describe(`remote conformance: ${label}`, () => {
    it('check() passes on a usable remote', async () => {
      const r = await opts.make();
      await expect(r.check()).resolves.toBeUndefined();
    });

    it('put then get returns the same bytes; stat gives the size; nested keys work', async () => {
      const r = await opts.make();
      const data = randomBytes(100_000);
      await r.put('milestone/post_phase2_20261125/mystocks.dump', Readable.from([data]));
      expect(sha(await readAll(await r.get('milestone/post_phase2_20261125/mystocks.dump')))).toBe(sha(data));
      expect((await r.stat('milestone/post_phase2_20261125/mystocks.dump'))?.bytes).toBe(data.length);
      expect(await r.stat('milestone/post_phase2_20261125/nothing')).toBeNull();
    });

    it('an empty object is an object', async () => {
      const r = await opts.make();
      await r.put('daily/x_20261125_000000/empty', Readable.from([]));
      expect((await r.stat('daily/x_20261125_000000/empty'))?.bytes).toBe(0);
      expect((await readAll(await r.get('daily/x_20261125_000000/empty'))).length).toBe(0);
    });

    it('a large object (several parts) arrives whole', async () => {
      const r = await opts.make();
      const chunks: Buffer[] = [];
      // (Recorded as produced: a 'data' listener would start the flow before the driver reads.)
      await r.put('milestone/big_20261125/big.dump', slowStream(opts.largeBytes, { chunk: 1 << 20, produced: chunks }));
      const want = sha(Buffer.concat(chunks));
      const got = await readAll(await r.get('milestone/big_20261125/big.dump'));
      expect(got.length).toBe(opts.largeBytes);
      expect(sha(got)).toBe(want);
    });

    it('overwrite replaces the object', async () => {
      const r = await opts.make();
      await r.put('a/b', Readable.from([Buffer.from('one')]));
      await r.put('a/b', Readable.from([Buffer.from('two!')]));
      expect((await readAll(await r.get('a/b'))).toString()).toBe('two!');
    });

    it('list gives whole objects under a prefix, sorted; delete removes; deleting nothing is fine', async () => {
      const r = await opts.make();
      for (const k of ['milestone/m_20261125/b', 'milestone/m_20261125/a', 'milestone/m2_20261125/a', 'daily/d_20261125_000000/a']) await r.put(k, Readable.from([Buffer.from(k)]));
      expect((await r.list('milestone/m_20261125/')).map((o) => o.key)).toEqual(['milestone/m_20261125/a', 'milestone/m_20261125/b']);
      expect((await r.list('milestone/')).length).toBe(3);
      expect((await r.list('')).length).toBe(4);
      expect((await r.list('milestone/m_20261125/'))[0]!.bytes).toBe('milestone/m_20261125/a'.length);
      await r.delete('milestone/m_20261125/a');
      await r.delete('milestone/m_20261125/never-there');
      expect((await r.list('milestone/m_20261125/')).map((o) => o.key)).toEqual(['milestone/m_20261125/b']);
    });

    it('a put whose source breaks mid-way leaves no object and keeps the old one', async () => {
      const r = await opts.make();
      await expect(r.put('milestone/x_20261125/broken.dump', slowStream(opts.largeBytes, { failAfter: Math.floor(opts.largeBytes / 2) }))).rejects.toThrow();
      expect(await r.stat('milestone/x_20261125/broken.dump')).toBeNull();
      expect(await r.list('milestone/x_20261125/')).toEqual([]);
      await r.put('milestone/x_20261125/kept', Readable.from([Buffer.from('old')]));
      await expect(r.put('milestone/x_20261125/kept', slowStream(opts.largeBytes, { failAfter: 1 << 20 }))).rejects.toThrow();
      expect((await readAll(await r.get('milestone/x_20261125/kept'))).toString()).toBe('old');
    });

    it('a put aborted mid-way (cancel) leaves no object', async () => {
      const r = await opts.make();
      const ac = new AbortController();
      const p = r.put('milestone/y_20261125/aborted.dump', slowStream(opts.largeBytes, { midway: () => ac.abort(new Error('cancelled by test')) }), { signal: ac.signal });
      await expect(p).rejects.toThrow();
      // Give a driver's background abort a moment, then look.
      await new Promise((res) => setTimeout(res, 300));
      expect(await r.stat('milestone/y_20261125/aborted.dump')).toBeNull();
      expect(await r.list('milestone/y_20261125/')).toEqual([]);
    });

    it('keys that climb out are refused', async () => {
      const r = await opts.make();
      await expect(r.put('../escape', Readable.from([Buffer.from('x')]))).rejects.toThrow(/bad remote key/);
      await expect(r.put('/abs', Readable.from([Buffer.from('x')]))).rejects.toThrow(/bad remote key/);
    });
  });
}
