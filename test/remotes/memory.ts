/**
 * An in-memory remote for unit tests (restic's mem backend): the same contract as the real
 * drivers, checked by the same conformance suite. Test code only: the tool never ships it, and a
 * test that wants `type: memory` in a config registers memoryDriver itself. Objects become visible only when their whole
 * stream has arrived. `failCheck` / `failPutAfter` simulate an unreachable remote or a connection
 * that drops mid-upload; `corruptGetAt` a remote that stores or returns different bytes (bit rot,
 * a broken proxy), which only reading the copy back can catch.
 */
import { Readable } from 'node:stream';
import type { z } from 'zod';
import { remoteConfigSchema, type RemoteDriver } from '../../src/remotes/driver.js';
import { RemoteError, checkKey, type Capabilities, type PutOptions, type Remote, type RemoteObject, type RemoteStat } from '../../src/remotes/remote.js';

export class MemoryRemote implements Remote {
  readonly type = 'memory' as const;
  readonly location: string;
  readonly capabilities: Capabilities = { metadata: true };
  readonly objects = new Map<string, { data: Buffer; metadata: Record<string, string> }>();
  /** When set, check() throws this message. */
  failCheck: string | null = null;
  /** When set, put() fails once this many bytes of one object have arrived. */
  failPutAfter: number | null = null;
  /** When set, get() returns the object with the byte at this offset flipped (the stored copy stays intact). */
  corruptGetAt: number | null = null;

  constructor(readonly name = 'memory') {
    this.location = `memory:${name}`;
  }

  async check(): Promise<void> {
    if (this.failCheck) throw new RemoteError(this.name, this.failCheck, { hint: 'simulated' });
  }

  async put(key: string, body: Readable, opts: PutOptions = {}): Promise<void> {
    checkKey(key);
    const chunks: Buffer[] = [];
    let n = 0;
    const onAbort = () => body.destroy(opts.signal?.reason instanceof Error ? opts.signal.reason : new Error('aborted'));
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      if (opts.signal?.aborted) throw opts.signal.reason;
      for await (const chunk of body) {
        const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
        n += b.length;
        if (this.failPutAfter !== null && n > this.failPutAfter) throw new RemoteError(this.name, `connection dropped after ${this.failPutAfter} bytes of ${key}`, { hint: 'simulated' });
        chunks.push(b);
      }
      if (opts.signal?.aborted) throw opts.signal.reason;
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
    }
    this.objects.set(key, { data: Buffer.concat(chunks), metadata: Object.fromEntries(Object.entries(opts.metadata ?? {}).map(([k, v]) => [k.toLowerCase(), v])) });
  }

  async get(key: string): Promise<Readable> {
    const o = this.objects.get(checkKey(key));
    if (!o) throw new RemoteError(this.name, `${key} is not there`, { hint: 'Copy the set again.' });
    if (this.corruptGetAt !== null && this.corruptGetAt < o.data.length) {
      const bad = Buffer.from(o.data);
      bad[this.corruptGetAt] = bad[this.corruptGetAt]! ^ 0xff;
      return Readable.from([bad]);
    }
    return Readable.from([o.data]);
  }

  async stat(key: string): Promise<RemoteStat | null> {
    const o = this.objects.get(checkKey(key));
    return o ? { bytes: o.data.length, metadata: { ...o.metadata } } : null;
  }

  async list(prefix: string): Promise<RemoteObject[]> {
    return [...this.objects.entries()]
      .filter(([k]) => k.startsWith(prefix))
      .map(([key, o]) => ({ key, bytes: o.data.length }))
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async delete(key: string): Promise<void> {
    this.objects.delete(checkKey(key));
  }
}

const memoryConfig = remoteConfigSchema('memory', {});

/** `type: memory` for configs in tests: each remote opened is a fresh, empty one. */
export const memoryDriver: RemoteDriver<z.infer<typeof memoryConfig>> = {
  type: 'memory',
  configSchema: memoryConfig,
  secretEnv: [],
  defaultName: () => 'memory',
  create: (_config, ctx) => new MemoryRemote(ctx.name),
};
