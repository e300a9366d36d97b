/**
 * A third engine, defined here and registered through the registry only: backup, list, verify,
 * status and prune handle it with no change to src/. The toy "dumps" a folder (copies its files
 * into the set), and its row count is the number of files. No database, no external tool.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { fileEntrySchema } from '../../src/catalog/file-entry.js';
import { fileEntry, listFiles } from '../../src/catalog/checksum.js';
import { readManifest } from '../../src/catalog/manifest.js';
import { defineEngine, type Engine } from '../../src/engines/plugin.js';
import { registerEngine } from '../../src/engines/registry.js';
import { JobError } from '../../src/errors.js';
import { silentSink } from '../../src/report/log.js';
import type { RunResult } from '../../src/report/result.js';
import { runCommand } from '../../src/run.js';
import type { RunRequestInput } from '../../src/inputs/options.js';

const TOY_DIR = 'toy';

const toyConfig = z.strictObject({
  /** The folder to back up. */
  source: z.string().min(1),
  /** The set name's stem. */
  name: z.string().regex(/^[a-z][a-z0-9_]*$/),
  /** Where verify copies a set back to (made and removed by each verification). */
  scratch: z.string().min(1),
});
type ToyConfig = z.infer<typeof toyConfig>;

const toySection = z.strictObject({
  database: z.string(),
  server_version: z.string(),
  client_version: z.string(),
  files: z.array(fileEntrySchema).min(1),
  file_count: z.number().int().min(0),
});
type ToySection = z.infer<typeof toySection>;

async function countFiles(dir: string): Promise<number> {
  return (await listFiles(dir)).length;
}

function toyEngine(cfg: ToyConfig): Engine<ToySection> {
  return {
    database: cfg.name,
    where: `toy ${cfg.source}`,
    findTools() {
      // Nothing to find; a folder that is not there is found missing at preflight, as a server would be.
    },
    async preflight() {
      const n = await countFiles(cfg.source).catch(() => {
        throw new JobError('internal', `cannot read ${cfg.source}`, { hint: 'Create the folder.' });
      });
      return { serverVersion: '1', clientVersion: '1', estimatedBytes: null, summary: `${n} files in ${cfg.source}` };
    },
    async dump(_ctx, stagingDir) {
      const into = path.join(stagingDir, TOY_DIR);
      await fs.cp(cfg.source, into, { recursive: true });
      const rels = await listFiles(into);
      const files = await Promise.all(rels.map((r) => fileEntry(stagingDir, `${TOY_DIR}/${r}`)));
      const section: ToySection = { database: cfg.name, server_version: '1', client_version: '1', files, file_count: rels.length };
      return { section, tables: [{ name: 'files', rows: rels.length }], uncounted: [] };
    },
    async restoreScratch(_ctx, set, section, checks) {
      const t0 = Date.now();
      await fs.rm(cfg.scratch, { recursive: true, force: true });
      try {
        await fs.cp(path.join(set.path, TOY_DIR), cfg.scratch, { recursive: true });
        checks.push({ name: 'toy restore', result: 'passed', detail: `copied into ${cfg.scratch}` });
        const n = await countFiles(cfg.scratch);
        const ok = n === section.file_count;
        checks.push({ name: 'toy file count', result: ok ? 'passed' : 'failed', detail: `${n} restored, manifest says ${section.file_count}` });
        return { failed: !ok, report: { database: cfg.scratch, server_version: '1', client_version: '1', bytes: 0, duration_ms: Date.now() - t0, tables: [{ name: 'files', rows: n }] } };
      } finally {
        await fs.rm(cfg.scratch, { recursive: true, force: true });
      }
    },
  };
}

const toyPlugin = defineEngine({
  name: 'toy',
  label: 'Toy folder',
  configSchema: toyConfig,
  manifestSchema: toySection,
  secretEnv: [],
  pathKeys: ['source', 'scratch'],
  counts: (section) => [{ name: 'files', rows: section.file_count }],
  databases: (cfg) => ({ database: cfg.name, scratch: null }),
  create: (cfg, opts) => toyEngine(opts?.database ? { ...cfg, name: opts.database } : cfg),
});

let dir = '';
let source = '';
let configFile = '';
let unregister: () => void = () => {};

function run(request: Omit<RunRequestInput, 'configFile'>): Promise<RunResult> {
  return runCommand({ configFile, ...request }, { sink: silentSink, env: {}, cwd: dir });
}

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pgtaos-toy-'));
  source = path.join(dir, 'notes');
  await fs.mkdir(path.join(source, 'sub'), { recursive: true });
  await fs.writeFile(path.join(source, 'a.txt'), 'alpha\n');
  await fs.writeFile(path.join(source, 'sub', 'b.txt'), 'beta\n');
  configFile = path.join(dir, 'pgtaos-backup.yml');
  // Relative paths: the plugin's pathKeys make them relative to this file, as bin_dir is.
  await fs.writeFile(configFile, `root: backups\nmin_free_gb: 0\ntoy:\n  source: notes\n  name: notes\n  scratch: scratch\n`);
});

afterAll(async () => {
  unregister();
  await fs.rm(dir, { recursive: true, force: true });
});

describe('an engine registered from outside src/', () => {
  it('is an unknown config key while it is not registered', async () => {
    const r = await run({ command: 'list' });
    expect(r.exit_code).toBe(2);
    expect(r.error?.message).toMatch(/toy: unknown key/);
  });

  it('is refused as an --engines value while it is not registered', async () => {
    const r = await run({ command: 'backup', engines: 'toy' });
    expect(r.exit_code).toBe(2);
    expect(r.error?.message).toMatch(/engines must be one of: postgres, tdengine, all/);
  });

  it('backs up, lists, verifies, shows in status and is pruned like the built-ins', async () => {
    unregister = registerEngine(toyPlugin);

    const b = await run({ command: 'backup', engines: 'toy' });
    expect(b.error).toBeNull();
    expect(b.exit_code).toBe(0);
    expect(b.set?.id).toMatch(/^notes_\d{8}_\d{6}$/);
    expect(b.engines.toy).toMatchObject({ database: 'notes', tables: [{ name: 'files', rows: 2 }] });
    const read = await readManifest(b.set!.path);
    expect(read.ok).toBe(true);
    const manifest = read.ok ? (read.manifest as Record<string, unknown>) : {};
    expect(manifest.toy).toMatchObject({ database: 'notes', file_count: 2 });
    expect(await fs.readFile(path.join(b.set!.path, TOY_DIR, 'sub', 'b.txt'), 'utf8')).toBe('beta\n');

    // `all` is every configured engine: here only the toy.
    const b2 = await run({ command: 'backup' });
    expect(b2.exit_code).toBe(0);
    expect(Object.keys(b2.engines)).toEqual(['toy']);

    const l = await run({ command: 'list' });
    expect(l.exit_code).toBe(0);
    expect(l.sets?.map((s) => s.engines)).toEqual([['toy'], ['toy']]);

    const v = await run({ command: 'verify', setId: b.set!.id });
    expect(v.exit_code).toBe(0);
    expect(v.checks.map((c) => [c.name, c.result])).toEqual([
      ['checksum toy/a.txt', 'passed'],
      ['checksum toy/sub/b.txt', 'passed'],
      ['toy restore', 'passed'],
      ['toy file count', 'passed'],
    ]);
    expect(v.engines.toy?.tables).toEqual([{ name: 'files', rows: 2 }]);
    // verify's default choice (the newest complete daily) counts the toy as a database dump.
    const vDefault = await run({ command: 'verify' });
    expect(vDefault.set?.id).toBe(b2.set!.id);
    expect(vDefault.exit_code).toBe(0);

    const s = await run({ command: 'status' });
    const rows = Object.fromEntries(s.checks.map((c) => [c.name, c]));
    expect(rows['toy backup']).toMatchObject({ result: 'passed' });
    expect(rows['toy backup']!.detail).toMatch(/2 complete set\(s\) hold a Toy folder dump of notes/);
    expect(rows['postgres backup']).toMatchObject({ result: 'skipped' });
    expect(rows['last verification']).toMatchObject({ result: 'passed' });

    const p = await run({ command: 'prune', dryRun: true });
    expect(p.exit_code).toBe(0);
    expect(p.prune?.decisions.map((d) => [d.id, d.action])).toEqual([
      [b2.set!.id, 'keep'],
      [b.set!.id, 'keep'],
    ]);

    // A damaged toy set fails its verification at the checksum, as a built-in's does.
    await fs.appendFile(path.join(b.set!.path, TOY_DIR, 'a.txt'), 'x');
    const bad = await run({ command: 'verify', setId: b.set!.id });
    expect(bad.exit_code).toBe(1);
    expect(bad.checks.find((c) => c.name === 'checksum toy/a.txt')?.result).toBe('failed');
  });

  it('refuses a restore when the engine has no restoreTarget, before the run log or lock is written', async () => {
    const sets = await run({ command: 'list' });
    const id = sets.sets![0]!.id;
    const logs = path.join(dir, 'backups', 'logs');
    const before = await fs.readdir(logs);
    const r = await run({ command: 'restore', setId: id, target: 'notes_copy', confirm: 'notes_copy' });
    expect(r.exit_code).toBe(2);
    expect(r.error?.code).toBe('restore.not_supported');
    // Only the run's report: no run log (the lock and the log come after the prepare step).
    const added = (await fs.readdir(logs)).filter((f) => !before.includes(f));
    expect(added).toEqual([expect.stringMatching(/-restore-\d+\.json$/)]);
  });

  it('check: an engine without a check hook gets rows of its findTools and preflight; a failing preflight fails its row only', async () => {
    const ok = await run({ command: 'check' });
    expect(ok.checks.filter((c) => c.name.startsWith('toy')).map((c) => [c.name, c.result, c.detail])).toEqual([
      ['toy tools', 'passed', 'found, secrets set'],
      ['toy server', 'passed', expect.stringMatching(/^toy .*notes: 2 files in .*notes$/)],
    ]);
    expect(ok.exit_code).toBe(0);
    await fs.rename(source, `${source}.away`);
    try {
      const bad = await run({ command: 'check' });
      expect(bad.exit_code).toBe(1);
      expect(bad.checks.find((c) => c.name === 'toy server')).toMatchObject({ result: 'failed', detail: expect.stringMatching(/cannot read .*notes \(hint: Create the folder\.\)/) });
      expect(bad.checks.filter((c) => c.result === 'failed').map((c) => c.name)).toEqual(['toy server']);
    } finally {
      await fs.rename(`${source}.away`, source);
    }
  });
});

describe('registerEngine', () => {
  it('refuses a taken, reserved or malformed name', () => {
    expect(() => registerEngine({ ...toyPlugin, name: 'postgres' })).toThrow(/already registered/);
    expect(() => registerEngine({ ...toyPlugin, name: 'retention' })).toThrow(/reserved/);
    expect(() => registerEngine({ ...toyPlugin, name: 'all' })).toThrow(/reserved/);
    expect(() => registerEngine({ ...toyPlugin, name: 'Toy-2' })).toThrow(/reserved or not a plain/);
  });
});
