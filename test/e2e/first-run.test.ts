/**
 * A first run as a new user meets it, through the built CLI and the built action: no config file
 * is reported as "no config file at X (create it from ops/pgtaos-backup.yml)" with exit 2 and
 * nothing created, not as the keys it lacks; and the shipped sample, in a copy of the repository's
 * layout, is loaded by the action as the shipped workflows name it (config: ops/pgtaos-backup.yml).
 * No database is needed: `list` reads only the catalog.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, REPO, runAction, userEnv, type Workspace } from '../helpers/tool.js';

const SAMPLE = 'ops/pgtaos-backup.yml';
const empty = (): Workspace => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pgtaos-first-'));
  return { dir, root: path.join(dir, 'backups'), configFile: path.join(dir, 'pgtaos-backup.yml') };
};
const missing = (file: string) => `no config file at ${file} (create it from ${SAMPLE})`;

describe('no config file: said as such, exit 2, nothing created', () => {
  it('the CLI in a folder without pgtaos-backup.yml', async () => {
    const ws = empty();
    const r = await cli(['status'], { env: userEnv(null), cwd: ws.dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(missing(path.join(ws.dir, 'pgtaos-backup.yml')));
    expect(r.stderr).not.toContain('required, but missing');
    expect(readdirSync(ws.dir)).toEqual([]);
  });

  it('the CLI with --config naming a file that does not exist', async () => {
    const ws = empty();
    const r = await cli(['backup', '--config', SAMPLE], { env: userEnv(null), cwd: ws.dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(missing(path.join(ws.dir, SAMPLE)));
    expect(readdirSync(ws.dir)).toEqual([]);
  });

  it('the action with config: ops/pgtaos-backup.yml in a repository that lacks it (the shipped workflows before setup)', async () => {
    const ws = empty();
    const r = await runAction(ws, { command: 'backup', config: SAMPLE });
    expect(r.code).not.toBe(0);
    expect(r.stdout).toContain(`::error::${missing(path.join(ws.dir, SAMPLE))}`);
    expect(r.stdout).not.toContain('required, but missing');
    expect(r.outputs.status).toBe('failure');
    expect(r.summary).toContain(missing(path.join(ws.dir, SAMPLE)));
  });
});

describe('the shipped sample in a copy of the repository layout', () => {
  it('the action loads ops/pgtaos-backup.yml as the workflows name it (root overridden to a temp folder)', async () => {
    const ws = empty();
    mkdirSync(path.join(ws.dir, 'ops'));
    copyFileSync(path.join(REPO, SAMPLE), path.join(ws.dir, SAMPLE));
    const r = await runAction(ws, { command: 'list', config: SAMPLE, root: ws.root });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.outputs.status).toBe('success');
    expect(r.stdout + r.stderr).toContain(`config ${path.join(ws.dir, SAMPLE)}`);
  });
});
