/**
 * A remote driver from outside src/: a toy driver (a folder of flat files, one per key) is defined
 * and registered here, in the test's own module, and then goes through the config, the
 * conformance suite, a replicate, the status row and the list view with no change to the tool's
 * source. Also the registry's own rules, and remotes.json records of drivers it does not know.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, mkdtempSync, promises as fs, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { UsageError, exitCodeOf } from '../../src/errors.js';
import { configSchema, type Config } from '../../src/inputs/config-schema.js';
import { loadConfig } from '../../src/inputs/config.js';
import { SECRET_ENV } from '../../src/inputs/options.js';
import { REMOTES_FILE, readRemoteCopies, recordRemoteCopy, type RemoteCopy } from '../../src/catalog/remote-copies.js';
import { listSets } from '../../src/catalog/sets.js';
import { milestoneCopiesCheck, openRemotes, replicate, setToCopy, whereSetsLive, withRemotes } from '../../src/commands/replicate.js';
import { remoteConfigSchema, type RemoteDriver } from '../../src/remotes/driver.js';
import { openRemote, registerRemoteDriver, remoteDriverTypes, remoteName, remoteSecretEnv } from '../../src/remotes/registry.js';
import { RemoteError, checkKey, type Capabilities, type PutOptions, type Remote, type RemoteObject, type RemoteStat } from '../../src/remotes/remote.js';
import { pathDriver } from '../../src/remotes/path.js';
import { s3Driver } from '../../src/remotes/s3.js';
import { testCtx } from '../helpers/run-context.js';
import { writeFakeSet } from '../helpers/fake-catalog.js';
import { remoteConformance } from '../remotes/conformance.js';
import { MemoryRemote, memoryDriver } from '../remotes/memory.js';

/** A folder holding one file per key (the key URI-encoded), written under a temporary name and renamed. */
class FlatFolderRemote implements Remote {
  readonly type = 'toy';
  readonly capabilities: Capabilities = { metadata: false };
  readonly location: string;
  constructor(readonly name: string, private readonly folder: string) {
    this.location = `toy:${folder}`;
  }
  private file(key: string): string {
    return path.join(this.folder, encodeURIComponent(checkKey(key)));
  }
  async check(): Promise<void> {
    await fs.access(this.folder, fs.constants.W_OK).catch((e: unknown) => {
      throw new RemoteError(this.name, `${this.folder} cannot be written`, { hint: 'Create the folder.', cause: e });
    });
  }
  async put(key: string, body: Readable, opts: PutOptions = {}): Promise<void> {
    const target = this.file(key);
    const tmp = path.join(this.folder, `.part-${randomBytes(4).toString('hex')}`);
    try {
      await pipeline(body, createWriteStream(tmp, { flags: 'wx' }), ...(opts.signal ? [{ signal: opts.signal }] : []));
      await fs.rename(tmp, target);
    } catch (err) {
      await fs.rm(tmp, { force: true });
      throw err;
    }
  }
  async get(key: string): Promise<Readable> {
    const f = this.file(key);
    await fs.access(f).catch(() => {
      throw new RemoteError(this.name, `${key} is not there`, { hint: 'Copy the set again.' });
    });
    return createReadStream(f);
  }
  async stat(key: string): Promise<RemoteStat | null> {
    const st = await fs.stat(this.file(key)).catch(() => null);
    return st ? { bytes: st.size, metadata: {} } : null;
  }
  async list(prefix: string): Promise<RemoteObject[]> {
    const out: RemoteObject[] = [];
    for (const f of readdirSync(this.folder)) {
      if (f.startsWith('.part-')) continue;
      const key = decodeURIComponent(f);
      if (key.startsWith(prefix)) out.push({ key, bytes: (await fs.stat(path.join(this.folder, f))).size });
    }
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }
  async delete(key: string): Promise<void> {
    await fs.rm(this.file(key), { force: true });
  }
}

const toyConfig = remoteConfigSchema('toy', { folder: z.string().refine((f) => path.isAbsolute(f), 'must be an absolute folder') });

/** The toy driver: its secret is TOY_REMOTE_TOKEN (only required to be set, as keys are). */
const toyDriver: RemoteDriver<z.infer<typeof toyConfig>> = {
  type: 'toy',
  configSchema: toyConfig,
  secretEnv: ['TOY_REMOTE_TOKEN'],
  defaultName: (c) => `toy:${c.folder}`,
  create: (c, ctx) => {
    if (!ctx.env.TOY_REMOTE_TOKEN) throw new UsageError('remote.no_keys', `remote ${ctx.name} needs TOY_REMOTE_TOKEN in the environment`, { hint: 'Set TOY_REMOTE_TOKEN.' });
    return new FlatFolderRemote(ctx.name, c.folder);
  },
};
registerRemoteDriver(toyDriver);
registerRemoteDriver(memoryDriver);

const env = { TOY_REMOTE_TOKEN: 'toy-token-1234' };
const temps: string[] = [];
afterEach(() => {
  for (const d of temps.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tmp(prefix: string): string {
  const d = mkdtempSync(path.join(os.tmpdir(), prefix));
  temps.push(d);
  return d;
}
const toyConfigFor = (root: string, folder: string): Config => configSchema.parse({ root, remotes: [{ type: 'toy', name: 'box', folder }] });

remoteConformance('toy (a driver registered by the test, opened from a config entry)', {
  make: async () => openRemote(toyConfigFor('/x', tmp('pgtaos-toy-')).remotes[0]!, env),
  largeBytes: 3 * 1024 * 1024,
});

describe('a driver registered from a test', () => {
  it('a milestone is replicated through it, recorded with its type, and status and list see it', async () => {
    const root = tmp('pgtaos-toy-root-');
    const folder = tmp('pgtaos-toy-box-');
    const config = toyConfigFor(root, folder);
    const ctx = testCtx({ config, request: { command: 'milestone', milestone: 'post_phase2' }, env });
    const dir = await writeFakeSet(root, { kind: 'milestone', id: 'post_phase2_20261125', startedAt: new Date() });
    // The remotes come from the config, through the registry (no remote handed in).
    const r = await replicate(ctx, [(await setToCopy(dir))!]);
    expect(r.failures).toEqual([]);
    expect(r.checks).toEqual([expect.objectContaining({ name: 'copy post_phase2_20261125 to box', result: 'passed' })]);
    expect(readdirSync(folder).sort()).toEqual(['milestone%2Fpost_phase2_20261125%2Fmanifest.json', 'milestone%2Fpost_phase2_20261125%2Fmystocks.dump']);
    const copies = await readRemoteCopies(dir);
    expect(copies).toEqual([expect.objectContaining({ remote: 'box', type: 'toy', location: `toy:${folder}`, result: 'verified' })]);
    const sets = await listSets(root);
    expect(await milestoneCopiesCheck(config, sets)).toMatchObject({ result: 'passed' });
    expect((await whereSetsLive(sets)).join('\n')).toMatch(/^post_phase2_20261125: here \+ box \(verified /);
  });

  it('withRemotes opens it before the command runs: a missing secret is exit 2 and the command never starts', async () => {
    const root = tmp('pgtaos-toy-root-');
    const ctx = testCtx({ config: toyConfigFor(root, tmp('pgtaos-toy-box-')), request: { command: 'milestone', milestone: 'post_phase2' }, env: {} });
    let ran = false;
    const err = await withRemotes(ctx, async () => {
      ran = true;
      return { message: 'made' };
    }).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect(exitCodeOf(err)).toBe(2);
    expect((err as Error).message).toBe('remote box needs TOY_REMOTE_TOKEN in the environment');
    expect(ran).toBe(false);
  });

  it('its config entry is checked by its own schema, with the same wording as the built-in ones', () => {
    const dir = tmp('pgtaos-toy-cfg-');
    const file = path.join(dir, 'pgtaos-backup.yml');
    writeFileSync(file, 'root: /x\nremotes:\n  - {type: toy, folder: box, colour: red}\n  - {type: toy}\n  - {type: ftp}\n  - {type: toy, folder: 5}\n');
    const err = (() => {
      try {
        loadConfig({ file, env: {} });
        return null;
      } catch (e) {
        return e as UsageError;
      }
    })();
    expect(err?.code).toBe('config.invalid');
    expect(err?.message.split('\n').slice(1)).toEqual([
      '  remotes.0.folder: must be an absolute folder',
      '  remotes.0.colour: unknown key',
      '  remotes.1.folder: required, but missing',
      `  remotes.2.type: Invalid discriminator value. Expected ${remoteDriverTypes().map((t) => `'${t}'`).join(' | ')}`,
      '  remotes.3.folder: Invalid input: expected string, received number',
    ]);
    // Asked without reportInput, the issues carry no input (as zod's own schemas' issues do not).
    const plain = configSchema.safeParse({ root: '/x', remotes: [{ type: 'toy', folder: 5 }] });
    expect(plain.error?.issues).toEqual([expect.objectContaining({ path: ['remotes', 0, 'folder'], code: 'invalid_type' })]);
    expect(plain.error?.issues[0]).not.toHaveProperty('input');
    expect(remoteDriverTypes().slice(0, 2)).toEqual(['path', 's3']);
    expect(remoteDriverTypes()).toContain('toy');
  });

  it('its default name comes from the driver, and its secret is among the registered ones', () => {
    const c = configSchema.parse({ root: '/x', remotes: [{ type: 'toy', folder: '/srv/box' }, { type: 'memory' }] });
    expect(c.remotes.map(remoteName)).toEqual(['toy:/srv/box', 'memory']);
    expect(remoteSecretEnv()).toEqual(expect.arrayContaining(['TOY_REMOTE_TOKEN', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN']));
  });

  it('the in-memory test remote, registered from test code, opens from a config entry', () => {
    const remotes = openRemotes(testCtx({ config: configSchema.parse({ root: '/x', remotes: [{ type: 'memory', name: 'mem' }] }), request: { command: 'backup' } }));
    expect(remotes).toHaveLength(1);
    expect(remotes[0]).toBeInstanceOf(MemoryRemote);
    expect(remotes[0]!.name).toBe('mem');
  });
});

describe('the registry', () => {
  it('registering the same driver again changes nothing; another driver under a taken type is refused', () => {
    const before = remoteDriverTypes();
    registerRemoteDriver(toyDriver);
    registerRemoteDriver(pathDriver);
    expect(remoteDriverTypes()).toEqual(before);
    expect(() => registerRemoteDriver({ ...pathDriver })).toThrow(/two remote drivers register type "path"/);
    expect(() => registerRemoteDriver({ ...toyDriver, create: () => new MemoryRemote() })).toThrow(/two remote drivers register type "toy"/);
    // The first one stays: a path entry still opens a path remote.
    expect(openRemote(configSchema.parse({ root: '/x', remotes: [{ type: 'path', path: '/mnt/nas' }] }).remotes[0]!, {}).type).toBe('path');
  });

  it('an entry whose type no driver has (built by hand, not parsed) is an internal error, not a remote', () => {
    expect(() => openRemote({ type: 'ftp', name: 'f' }, {})).toThrow(/internal: no remote driver for type "ftp"/);
    expect(() => remoteName({ type: 'ftp' })).toThrow(/internal: no remote driver for type "ftp"/);
  });

  it('the built-in drivers\' secrets are masked by the tool (SECRET_ENV lists them)', () => {
    for (const d of [pathDriver, s3Driver]) for (const k of d.secretEnv) expect(SECRET_ENV).toContain(k);
  });
});

describe('remotes.json does not depend on which drivers are registered', () => {
  const copy = (remote: string, type: string): RemoteCopy => ({ remote, type, location: `${type}:somewhere`, result: 'verified', copied_at: '2026-11-25T00:00:03.000+08:00', encrypted: false, check: 'read-back', files: [], error: null });

  it('a copy made by a driver this run has not registered is still read (and kept when another remote is recorded)', async () => {
    const dir = tmp('pgtaos-toy-set-');
    writeFileSync(path.join(dir, REMOTES_FILE), `${JSON.stringify({ copies: [copy('far', 'ftp')] }, null, 2)}\n`);
    expect((await readRemoteCopies(dir)).map((c) => [c.remote, c.type])).toEqual([['far', 'ftp']]);
    await recordRemoteCopy(dir, copy('box', 'toy'));
    expect((await readRemoteCopies(dir)).map((c) => [c.remote, c.type])).toEqual([['box', 'toy'], ['far', 'ftp']]);
  });

  it.each(['path', 's3', 'memory'])('today\'s records of type %s are read', async (type) => {
    const dir = tmp('pgtaos-toy-set-');
    writeFileSync(path.join(dir, REMOTES_FILE), JSON.stringify({ copies: [copy('nas', type)] }));
    expect(await readRemoteCopies(dir)).toEqual([copy('nas', type)]);
  });
});
