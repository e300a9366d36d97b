/**
 * replicate.ts fault paths on memory remotes (no server): a local file damaged since the backup
 * whose already-stored copy cannot be removed, and no secret in remotes.json whatever a remote's
 * error says.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryRemote } from '../remotes/memory.js';
import { configSchema, type Config } from '../../src/inputs/config-schema.js';
import { readRemoteCopies } from '../../src/catalog/remote-copies.js';
import { replicate, setToCopy } from '../../src/commands/replicate.js';
import { copySetTo } from '../../src/commands/replicate-copy.js';
import type { RunContext } from '../../src/commands/context.js';
import { testCtx } from '../helpers/run-context.js';
import { writeFakeSet } from '../helpers/fake-catalog.js';
import type { Readable } from 'node:stream';

function ctxFor(config: Config, secrets: string[] = []): RunContext {
  return testCtx({ config, request: { command: 'milestone', milestone: 'post_phase2' }, secrets });
}

const temps: string[] = [];
afterEach(() => {
  for (const d of temps.splice(0)) rmSync(d, { recursive: true, force: true });
});

function setup(): { root: string; config: Config } {
  const root = mkdtempSync(path.join(os.tmpdir(), 'pgtaos-replicate-'));
  temps.push(root);
  return { root, config: configSchema.parse({ root, remotes: [{ type: 'path', name: 'nas', path: '/mnt/nas/backups' }] }) };
}

/** A memory remote whose delete() fails (a share gone read-only, keys without delete rights). */
class NoDeleteRemote extends MemoryRemote {
  override async delete(key: string): Promise<void> {
    throw new Error(`permission denied deleting ${key}`);
  }
}

/** Damages the local dump after its manifest was written, keeping its size. */
function damageDump(dir: string): void {
  const file = path.join(dir, 'mystocks.dump');
  const buf = readFileSync(file);
  buf[3] = buf[3]! ^ 0xff;
  writeFileSync(file, buf);
}

describe('a local file that no longer matches its manifest', () => {
  it('its stored copy is removed, and the copy is recorded failed', async () => {
    const { root, config } = setup();
    const dir = await writeFakeSet(root, { kind: 'milestone', id: 'post_phase2_20261125', startedAt: new Date() });
    damageDump(dir);
    const nas = new MemoryRemote('nas');
    const rec = await copySetTo(ctxFor(config), (await setToCopy(dir))!, nas);
    expect(rec.result).toBe('failed');
    expect(rec.error).toMatch(/the local mystocks\.dump no longer matches the manifest .*: not copied/);
    expect(rec.error).not.toMatch(/could not be removed/);
    expect(nas.objects.has('milestone/post_phase2_20261125/mystocks.dump')).toBe(false);
  });

  it('when that copy cannot be removed: logged as an error, and the failure says so and what to do', async () => {
    const { root, config } = setup();
    const dir = await writeFakeSet(root, { kind: 'milestone', id: 'post_phase2_20261125', startedAt: new Date() });
    damageDump(dir);
    const nas = new NoDeleteRemote('nas');
    const ctx = ctxFor(config);
    const r = await replicate(ctx, [(await setToCopy(dir))!], [nas]);
    const key = 'milestone/post_phase2_20261125/mystocks.dump';
    // The bad object is still there, with metadata that claims the manifest's hash.
    expect(nas.objects.get(key)!.metadata['plaintext-sha256']).toBe((await setToCopy(dir))!.manifest.postgres!.files[0]!.sha256);
    const said = `and ${key}, stored from it with the manifest's sha256 in its metadata, could not be removed (permission denied deleting ${key}): delete it by hand`;
    expect(ctx.log.errors).toContain(`nas: ${said}`);
    expect(r.failures).toEqual([expect.stringContaining(said)]);
    const rec = (await readRemoteCopies(dir))[0]!;
    expect(rec).toMatchObject({ remote: 'nas', result: 'failed' });
    expect(rec.error).toContain(said);
  });
});

describe('remotes.json holds no secret', () => {
  const secret = 'AKIDsecretKey42';

  it('when a remote cannot be reached and its error quotes the secret', async () => {
    const { root, config } = setup();
    const dir = await writeFakeSet(root, { kind: 'milestone', id: 'post_phase2_20261125', startedAt: new Date() });
    const nas = new MemoryRemote('nas');
    nas.failCheck = `credentials ${secret} refused`;
    const r = await replicate(ctxFor(config, [secret]), [(await setToCopy(dir))!], [nas]);
    expect(r.failures).toHaveLength(1);
    const text = readFileSync(path.join(dir, 'remotes.json'), 'utf8');
    expect(text).toContain('credentials *** refused');
    expect(text).not.toContain(secret);
  });

  it('when a copy fails half-way with an error that quotes the secret', async () => {
    class LeakyRemote extends MemoryRemote {
      override async put(key: string, body: Readable): Promise<void> {
        body.resume();
        throw new Error(`upload of ${key} refused for ${secret}`);
      }
    }
    const { root, config } = setup();
    const dir = await writeFakeSet(root, { kind: 'milestone', id: 'post_phase2_20261125', startedAt: new Date() });
    const rec = await copySetTo(ctxFor(config, [secret]), (await setToCopy(dir))!, new LeakyRemote('nas'));
    expect(rec.result).toBe('failed');
    const text = readFileSync(path.join(dir, 'remotes.json'), 'utf8');
    expect(text).toContain('refused for ***');
    expect(text).not.toContain(secret);
  });
});
