/**
 * config through the built CLI: a snapshot of .env, table_config.yaml and config/ as one
 * tar.gz that stock tar reads; owner-only files; skipped (and said so) when nothing changed; a
 * missing path refused naming it; never off the machine unencrypted; age-encrypted on a remote.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli as runCli, json, readJson, userEnv, workspace, type Workspace } from '../helpers/tool.js';
import { ageDecrypt, makeAgeKey, stockAgeRequired } from '../helpers/age.js';
import type { Manifest } from '../../src/catalog/manifest.js';
import type { RemoteCopy } from '../../src/catalog/remote-copies.js';
import type { RunResult } from '../../src/report/result.js';

const cli = (ws: Workspace, args: string[]) => runCli(args, { env: userEnv(null), cwd: ws.dir });

/** An app checkout like /opt/claude/mystocks_spec. */
function app(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pgtaos-app-'));
  writeFileSync(path.join(dir, '.env'), 'POSTGRES_PASSWORD=not-a-real-one\nTDENGINE_HOST=127.0.0.1\n', { mode: 0o600 });
  writeFileSync(path.join(dir, 'table_config.yaml'), 'tables:\n  - daily_bars\n');
  mkdirSync(path.join(dir, 'config', 'sub'), { recursive: true });
  writeFileSync(path.join(dir, 'config', 'app.yaml'), 'workers: 4\n');
  writeFileSync(path.join(dir, 'config', 'sub', 'deep.toml'), 'x = 1\n');
  return dir;
}

const PATHS = ['.env', 'table_config.yaml', 'config'];

describe('config snapshot', () => {
  it('snapshots into a private tar.gz that stock tar restores; unchanged: skipped and said so; a change: a new snapshot', async () => {
    const base = app();
    const ws = workspace(null, 'x', { config_files: { base_dir: base, paths: PATHS } });
    const r1 = json<RunResult>(await cli(ws, ['config', '--json']));
    expect(r1.status, r1.message).toBe('success');
    const id = r1.set!.id;
    expect(id).toMatch(/^config_\d{8}_\d{6}$/);
    expect(r1.set!.path).toBe(path.join(ws.root, 'config', id));
    // Private: folder 0700, every file 0600.
    expect(statSync(r1.set!.path).mode & 0o777).toBe(0o700);
    for (const f of readdirSync(r1.set!.path)) expect([f, statSync(path.join(r1.set!.path, f)).mode & 0o777]).toEqual([f, 0o600]);
    const m = readJson<Manifest>(path.join(r1.set!.path, 'manifest.json'));
    expect(m.kind).toBe('config');
    expect(m.config).toMatchObject({ base_dir: base, paths: PATHS, files: [{ path: 'config.tar.gz' }] });
    expect(m.config!.content_sha256).toMatch(/^[0-9a-f]{64}$/);
    // Stock tar brings the files back, byte for byte.
    const out = mkdtempSync(path.join(os.tmpdir(), 'pgtaos-untar-'));
    expect(spawnSync('tar', ['-xzf', path.join(r1.set!.path, 'config.tar.gz'), '-C', out]).status).toBe(0);
    for (const f of ['.env', 'table_config.yaml', 'config/app.yaml', 'config/sub/deep.toml']) expect(readFileSync(path.join(out, f)).equals(readFileSync(path.join(base, f)))).toBe(true);

    // Unchanged: no new set, and the run says so.
    const r2 = json<RunResult>(await cli(ws, ['config', '--json']));
    expect(r2.status).toBe('success');
    expect(r2.message).toMatch(new RegExp(`config unchanged since ${id}.*byte-identical, no snapshot taken`));
    expect(readdirSync(path.join(ws.root, 'config'))).toEqual([id]);

    // One byte, or a permission, changed: a new snapshot each.
    await new Promise((res) => setTimeout(res, 1100));
    writeFileSync(path.join(base, 'config', 'app.yaml'), 'workers: 8\n');
    const r3 = json<RunResult>(await cli(ws, ['config', '--json']));
    expect(r3.set!.id).not.toBe(id);
    expect(readJson<Manifest>(path.join(r3.set!.path, 'manifest.json')).config!.content_sha256).not.toBe(m.config!.content_sha256);
    await new Promise((res) => setTimeout(res, 1100));
    chmodSync(path.join(base, 'table_config.yaml'), 0o600);
    const r4 = json<RunResult>(await cli(ws, ['config', '--json']));
    expect(r4.message).toMatch(/changed since/);
    expect(readdirSync(path.join(ws.root, 'config')).length).toBe(3);
  });

  it('a configured path that does not exist: exit 2, the message names it, no set', async () => {
    const base = app();
    const ws = workspace(null, 'x', { config_files: { base_dir: base, paths: ['.env', 'config/missing.yaml'] } });
    const r = await cli(ws, ['config', '--json']);
    expect(r.code).toBe(2);
    const res = json<RunResult>(r);
    expect(res.error?.code).toBe('config_files.missing');
    expect(res.message).toContain('config/missing.yaml');
    expect(res.message).toContain(path.join(base, 'config/missing.yaml'));
    expect(existsSync(path.join(ws.root, 'config'))).toBe(false);
  });

  it('without age recipients the snapshot stays on this machine, and the run says so', async () => {
    const share = mkdtempSync(path.join(os.tmpdir(), 'pgtaos-share-'));
    const ws = workspace(null, 'x', { config_files: { base_dir: app(), paths: PATHS }, remotes: [{ type: 'path', name: 'nas', path: share, require_mount: false }] });
    const r = await cli(ws, ['config', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const res = json<RunResult>(r);
    expect(res.warnings.join('\n')).toMatch(/config set config_\d{8}_\d{6} stays on this machine: encryption.age_recipients is empty/);
    expect(readdirSync(share)).toEqual([]);
  });

  it('with age recipients the snapshot goes to the remote encrypted, verified, and decrypts to the same archive', async () => {
    const key = await makeAgeKey();
    const share = mkdtempSync(path.join(os.tmpdir(), 'pgtaos-share-'));
    const ws = workspace(null, 'x', { config_files: { base_dir: app(), paths: PATHS }, remotes: [{ type: 'path', name: 'nas', path: share, require_mount: false }], encryption: { age_recipients: [key.recipient] } });
    const res = json<RunResult>(await cli(ws, ['config', '--json']));
    expect(res.status).toBe('success');
    const id = res.set!.id;
    expect(readdirSync(path.join(share, 'config', id)).sort()).toEqual(['config.tar.gz.age', 'manifest.json.age']);
    expect(statSync(path.join(share, 'config', id, 'config.tar.gz.age')).mode & 0o777).toBe(0o600);
    // Nothing readable on the share: the .env line is not there in clear.
    expect(readFileSync(path.join(share, 'config', id, 'config.tar.gz.age')).includes('POSTGRES_PASSWORD')).toBe(false);
    const plain = await ageDecrypt(key, readFileSync(path.join(share, 'config', id, 'config.tar.gz.age')));
    expect(plain.plain.equals(readFileSync(path.join(res.set!.path, 'config.tar.gz')))).toBe(true);
    // Stock `age -d` wherever /usr/bin/age exists (setup.sh installs it; CI requires it).
    if (stockAgeRequired()) expect(plain.tool).toBe('age -d');
    expect(readJson<{ copies: RemoteCopy[] }>(path.join(res.set!.path, 'remotes.json')).copies[0]).toMatchObject({ remote: 'nas', result: 'verified', encrypted: true });
  });
});
