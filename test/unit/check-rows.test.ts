/**
 * check's remote row through the remote driver interface, with the in-memory remote: a remote
 * that cannot be reached, one whose upload drops, one that returns other bytes than it stored;
 * and the test object never left behind.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { registerRemoteDriver } from '../../src/remotes/registry.js';
import { remoteConfigSchema, type RemoteDriver } from '../../src/remotes/driver.js';
import { remoteRow, notifyRows, recipientsRow, rootRow } from '../../src/commands/check-rows.js';
import { MemoryRemote } from '../remotes/memory.js';

/** One memory remote per name, kept, so that a test can set its faults and look inside afterwards. */
const remotes = new Map<string, MemoryRemote>();
const memoryRemotes = { get: (name: string) => remotes.get(name) ?? remotes.set(name, new MemoryRemote(name)).get(name) };
const kept = remoteConfigSchema('memkept', {});
const keptDriver: RemoteDriver<z.infer<typeof kept>> = {
  type: 'memkept',
  configSchema: kept,
  secretEnv: [],
  defaultName: () => 'memkept',
  create: (_config, ctx) => memoryRemotes.get(ctx.name)!,
};

beforeAll(() => registerRemoteDriver(keptDriver));

const entry = (name: string) => ({ type: 'memkept', name });
const signal = new AbortController().signal;

describe('check: remote row', () => {
  it('passes when a test object goes there, comes back the same and is removed', async () => {
    const row = await remoteRow(entry('ok'), { root: '/tmp/unused' }, {}, signal);
    expect(row).toMatchObject({ name: 'remote ok', result: 'passed' });
    expect([...memoryRemotes.get('ok')!.objects.keys()]).toEqual([]);
  });

  it('fails when the remote cannot be reached', async () => {
    memoryRemotes.get('down')!.failCheck = 'no route to host';
    const row = await remoteRow(entry('down'), { root: '/tmp/unused' }, {}, signal);
    expect(row).toMatchObject({ result: 'failed', detail: expect.stringContaining('no route to host') });
  });

  it('fails when the upload drops, and leaves nothing', async () => {
    memoryRemotes.get('drops')!.failPutAfter = 4;
    const row = await remoteRow(entry('drops'), { root: '/tmp/unused' }, {}, signal);
    expect(row).toMatchObject({ result: 'failed', detail: expect.stringContaining('connection dropped') });
    expect([...memoryRemotes.get('drops')!.objects.keys()]).toEqual([]);
  });

  it('fails when what is read back differs from what was written, and removes the test object', async () => {
    memoryRemotes.get('rot')!.corruptGetAt = 3;
    const row = await remoteRow(entry('rot'), { root: '/tmp/unused' }, {}, signal);
    expect(row).toMatchObject({ result: 'failed', detail: expect.stringContaining('read back differs') });
    expect([...memoryRemotes.get('rot')!.objects.keys()]).toEqual([]);
  });
});

describe('check: notify and recipients rows', () => {
  it('a webhook variable that is not a URL fails; the value is never shown', () => {
    const [row] = notifyRows([{ kind: 'slack', url_env: 'HOOK', on: ['failure'] }], { HOOK: 'not-a-url-secretvalue' });
    expect(row).toMatchObject({ result: 'failed', detail: expect.stringContaining('not an http(s) URL') });
    expect(row!.detail).not.toContain('secretvalue');
  });

  it('no notify entries and no recipients: skipped rows', async () => {
    expect(notifyRows([], {})[0]!.result).toBe('skipped');
    expect((await recipientsRow([])).result).toBe('skipped');
  });
});

describe('check: root and recipients rows', () => {
  it('a root owned by someone else fails, naming both users; a missing root passes when its parent is writable', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'pgtaos-check-root-'));
    const me = process.getuid?.() ?? 0;
    expect((await rootRow(dir, me)).result).toBe('passed');
    expect(await rootRow(dir, me + 4242)).toMatchObject({ result: 'failed', detail: expect.stringContaining(`not by the running user (uid ${me + 4242})`) });
    expect(await rootRow(path.join(dir, 'new', 'root'), me)).toMatchObject({ result: 'passed', detail: expect.stringContaining('does not exist yet') });
  });

  it('a recipient of the right shape with a wrong checksum fails', async () => {
    const good = 'age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p';
    expect((await recipientsRow([good])).result).toBe('passed');
    const bad = `${good.slice(0, -1)}q`;
    expect(await recipientsRow([good, bad])).toMatchObject({ result: 'failed', detail: expect.stringContaining(bad) });
  });
});
