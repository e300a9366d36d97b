/**
 * The CLI as a cron host installs it: `npm pack` of the built bundle (dist/, or PGTAOS_TEST_DIST)
 * gives a small tarball holding only the CLI bundle, with no dependencies; it installs into a
 * temporary prefix offline from an empty npm cache (so nothing is fetched), runs `--version` and a
 * real command, and runs through `npx` the same way. The tarball's size and the install time are
 * printed (measurements, never asserted on).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { DIST, REPO } from '../helpers/dist.js';
import { userEnv, workspace } from '../helpers/tool.js';
import { startCluster } from '../helpers/pg-cluster.js';
import { TOOL_VERSION } from '../../src/version.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'pgtaos-install-'));
/** npm with its own empty cache and config: nothing from this machine's npm setup helps it. */
const npmEnv = (): NodeJS.ProcessEnv => ({
  ...userEnv(null),
  npm_config_cache: path.join(tmp, 'npm-cache'),
  npm_config_userconfig: path.join(tmp, 'npmrc'),
  npm_config_update_notifier: 'false',
  npm_config_fund: 'false',
  npm_config_audit: 'false',
});
const npm = (args: string[], cwd: string) => spawnSync('npm', args, { cwd, env: npmEnv(), encoding: 'utf8' });

let tarball = '';
let files: string[] = [];

beforeAll(() => {
  // The package as the repository describes it (package.json, README) around the bundle under test.
  const stage = path.join(tmp, 'stage');
  mkdirSync(stage);
  copyFileSync(path.join(REPO, 'package.json'), path.join(stage, 'package.json'));
  copyFileSync(path.join(REPO, 'README.md'), path.join(stage, 'README.md'));
  cpSync(DIST, path.join(stage, 'dist'), { recursive: true });
  const packed = npm(['pack', '--ignore-scripts', '--json', '--pack-destination', tmp], stage);
  expect(packed.status, packed.stderr).toBe(0);
  const [info] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
  tarball = path.join(tmp, info!.filename);
  files = info!.files.map((f) => f.path).sort();
  console.log(`[measure] ${info!.filename}: ${statSync(tarball).size} bytes packed, ${files.length} files`);
}, 120_000);

describe('npm pack', () => {
  it('the tarball holds the CLI bundle and nothing else (no sources, no action bundle, no node_modules)', () => {
    expect(path.basename(tarball)).toBe(`pgtaos-backup-${TOOL_VERSION}.tgz`);
    const outside = files.filter((f) => !(f === 'dist/cli.js' || f.startsWith('dist/cli/')));
    expect(outside.sort()).toEqual(['README.md', 'package.json']);
    expect(files).toContain('dist/cli/index.js');
    expect(files).toContain('dist/cli/licenses.txt');
    expect(files.filter((f) => /^src\/|^test\/|node_modules|^dist\/index\.js$/.test(f))).toEqual([]);
  });
  it('package.json declares no dependencies: everything the CLI needs is in the bundle', () => {
    const pkg = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as Record<string, unknown>;
    expect(pkg.dependencies).toBeUndefined();
    expect(pkg.optionalDependencies).toBeUndefined();
    expect(pkg.peerDependencies).toBeUndefined();
    expect(pkg.bin).toEqual({ 'pgtaos-backup': 'dist/cli.js' });
  });
  it('the bundle relocated no file of the source tree into itself (ncc rewrites paths to files it finds at build time)', () => {
    for (const f of ['cli/index.js', 'index.js']) expect(readFileSync(path.join(DIST, f), 'utf8'), f).not.toMatch(/__nccwpck_require__\.ab\s*\+/);
    const chunk = /^(\d+\.)?index\.js$|^cli(\.js)?$|^licenses\.txt$|^package\.json$/;
    expect(readdirSync(DIST).filter((f) => !chunk.test(f))).toEqual([]);
  });
});

describe('installed from the tarball, offline', () => {
  const prefix = path.join(tmp, 'prefix');
  const bin = path.join(prefix, 'bin', 'pgtaos-backup');
  beforeAll(() => {
    const started = Date.now();
    const r = npm(['install', '--global', '--offline', '--prefix', prefix, tarball], tmp);
    console.log(`[measure] npm install -g --offline of the tarball: ${Date.now() - started} ms`);
    expect(r.status, r.stdout + r.stderr).toBe(0);
  }, 120_000);

  it('pgtaos-backup --version', () => {
    expect(execFileSync(bin, ['--version'], { env: userEnv(null), encoding: 'utf8' }).trim()).toBe(TOOL_VERSION);
  });

  it('a real command: list on a fresh root, with pgtaos-backup.yml found in the working directory', () => {
    const ws = workspace(null, 'mystocks');
    const r = spawnSync(bin, ['list', '--json'], { cwd: ws.dir, env: userEnv(null), encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ sets: [] });
    expect(r.stderr).toContain(`config ${ws.configFile}`);
  });

  it('check, as the setup checklist ends: every row passes against a reachable server', async () => {
    const pgc = await startCluster({ name: 'install-check' });
    try {
      const ws = workspace(pgc, 'postgres'); // a database every cluster has
      const r = spawnSync(bin, ['check'], { cwd: ws.dir, env: userEnv(pgc), encoding: 'utf8' });
      expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
      expect(r.stdout).toMatch(/^PASSED +postgres login: /m);
      expect(r.stdout).not.toMatch(/^FAILED/m);
    } finally {
      await pgc.destroy();
    }
  }, 120_000);

  it('no config file: exit 2 and the sample to start from', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'pgtaos-install-empty-'));
    const r = spawnSync(bin, ['status'], { cwd: dir, env: userEnv(null), encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('(create it from ops/pgtaos-backup.yml)');
  });
});

describe('npx', () => {
  it('npx --package ./pgtaos-backup-<v>.tgz pgtaos-backup --version, offline', () => {
    const r = spawnSync('npx', ['--offline', '--yes', '--package', tarball, 'pgtaos-backup', '--version'], { cwd: tmp, env: npmEnv(), encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(TOOL_VERSION);
  }, 120_000);
});
