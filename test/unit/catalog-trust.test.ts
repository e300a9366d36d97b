/**
 * The backup root as a trust boundary: the pure rules and the file-system checks behind them, on real temp folders: what a
 * manifest may name, links anywhere in a set or the catalog, deletion through links, config
 * snapshot links, the root's system-folder rule and the time zone's length cap.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { linkUnder, readFileNoFollow, refuseLinkedFolders, setFilePath, unsafeRelPath, unsafeSetFiles } from '../../src/catalog/set-files.js';
import { removeLeftovers } from '../../src/catalog/sets.js';
import { removeSet } from '../../src/commands/prune.js';
import { collectConfigFiles } from '../../src/catalog/config-files.js';
import { systemRootReason } from '../../src/inputs/config.js';
import { timeZone } from '../../src/inputs/config-schema.js';
import { acquireLock, readLock } from '../../src/catalog/lock.js';

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'pgtaos-trust-'));

/** <base>/root/daily/s1/{manifest.json, mystocks.dump}, and <base>/outside/secret. */
function catalog(): { base: string; root: string; set: string; outside: string } {
  const base = tmp();
  const root = path.join(base, 'root');
  const set = path.join(root, 'daily', 's1');
  mkdirSync(set, { recursive: true });
  writeFileSync(path.join(set, 'manifest.json'), '{}');
  writeFileSync(path.join(set, 'mystocks.dump'), 'dump');
  mkdirSync(path.join(base, 'outside'));
  writeFileSync(path.join(base, 'outside', 'secret'), 'secret');
  return { base, root, set, outside: path.join(base, 'outside') };
}

describe('what a manifest may name', () => {
  it.each([
    ['mystocks.dump', null],
    ['tdengine/taosdump.1/data0/x.avro', null],
    ['../../../outside/evil.dump', /climbs out of the set folder/],
    ['tdengine/../../x', /climbs out/],
    ['/etc/passwd', /absolute path/],
    ['a//b', /not a normalised path/],
    ['./a', /not a normalised path/],
    ['a\\..\\b', /NUL or "\\"/],
    ['a\0b', /NUL/],
    ['', /1 to 1024 characters/],
    ['x'.repeat(1025), /1 to 1024 characters/],
  ])('%j', (rel, why) => {
    const got = unsafeRelPath(rel);
    if (why === null) expect(got).toBeNull();
    else expect(got).toMatch(why);
  });
});

describe('links in a set folder', () => {
  it('a plain set passes; a listed file that is a link, or lies behind a linked sub-folder, is named', async () => {
    const { set, outside } = catalog();
    expect(await unsafeSetFiles(set, ['mystocks.dump'])).toBeNull();
    symlinkSync(path.join(outside, 'secret'), path.join(set, 'other.dump'));
    expect(await unsafeSetFiles(set, ['other.dump'])).toMatch(/other\.dump is a symbolic link to .*secret; links are not followed/);
    const { set: set2, outside: out2 } = catalog();
    symlinkSync(out2, path.join(set2, 'tdengine'));
    expect(await unsafeSetFiles(set2, ['tdengine/secret'])).toMatch(/tdengine\/secret \(at tdengine\) is a symbolic link/);
  });

  it('a link beside the listed files (taosdump reads the whole folder) is named too', async () => {
    const { set, outside } = catalog();
    mkdirSync(path.join(set, 'tdengine'));
    symlinkSync(path.join(outside, 'secret'), path.join(set, 'tdengine', 'extra.avro'));
    expect(await linkUnder(set)).toMatch(/^tdengine\/extra\.avro is a symbolic link/);
    expect(await unsafeSetFiles(set, ['mystocks.dump'])).toMatch(/holds something the tool did not write: tdengine\/extra\.avro/);
  });

  it('a fifo is not a file (opening it would hang the run)', async () => {
    const { set } = catalog();
    execFileSync('mkfifo', [path.join(set, 'pipe.dump')]);
    expect(await unsafeSetFiles(set, ['pipe.dump'])).toMatch(/pipe\.dump is not a regular file/);
  });

  it('a set folder that is a link', async () => {
    const { root, outside } = catalog();
    symlinkSync(outside, path.join(root, 'daily', 's2'));
    expect(await unsafeSetFiles(path.join(root, 'daily', 's2'), [])).toMatch(/the set folder is a symbolic link/);
  });

  it('setFilePath checks again at the moment of use; readFileNoFollow refuses a link', async () => {
    const { set, outside } = catalog();
    expect(await setFilePath(set, 'mystocks.dump', 's1')).toBe(path.join(set, 'mystocks.dump'));
    await expect(setFilePath(set, '../../x', 's1')).rejects.toMatchObject({ code: 'set.unsafe_file', message: expect.stringContaining('set s1 is damaged') });
    symlinkSync(path.join(outside, 'secret'), path.join(set, 'verification.json'));
    await expect(readFileNoFollow(path.join(set, 'verification.json'))).rejects.toMatchObject({ code: 'ELOOP' });
  });
});

describe('nothing is deleted through a link', () => {
  it('a linked .incomplete: removeLeftovers refuses and the folders behind it stay', async () => {
    const { root, outside } = catalog();
    mkdirSync(path.join(outside, 'victim'));
    symlinkSync(outside, path.join(root, '.incomplete'));
    await expect(removeLeftovers(root)).rejects.toMatchObject({ code: 'catalog.linked_folder' });
    expect(existsSync(path.join(outside, 'victim'))).toBe(true);
  });

  it('a linked kind folder is refused by name', async () => {
    const { root, outside } = catalog();
    symlinkSync(outside, path.join(root, 'milestone'));
    await expect(refuseLinkedFolders(root, ['daily', 'milestone'])).rejects.toThrow(/milestone is a symbolic link to .*outside/);
  });

  it('prune: a set folder that is a link, or one reached through a linked kind folder, is not removed', async () => {
    const { root, outside } = catalog();
    symlinkSync(outside, path.join(root, 'daily', 's2'));
    await expect(removeSet(root, { kind: 'daily', path: path.join(root, 'daily', 's2') }, false)).rejects.toThrow(/is a symbolic link; nothing is deleted through a link/);
    expect(readFileSync(path.join(outside, 'secret'), 'utf8')).toBe('secret');
    const { root: root2, outside: out2 } = catalog();
    mkdirSync(path.join(out2, 'sX'));
    symlinkSync(out2, path.join(root2, 'config'));
    await expect(removeSet(root2, { kind: 'config', path: path.join(root2, 'config', 'sX') }, false)).rejects.toThrow(/config is a symbolic link/);
    expect(existsSync(path.join(out2, 'sX'))).toBe(true);
  });
});

describe('the lock file', () => {
  it('a .lock that is a link is neither read nor removed; a fifo there does not block the run', async () => {
    const { root, outside } = catalog();
    symlinkSync(path.join(outside, 'secret'), path.join(root, '.lock'));
    await expect(acquireLock(root, 'backup')).rejects.toMatchObject({ code: 'lock.not_a_file', message: expect.stringContaining('.lock is a symbolic link') });
    await expect(readLock(root)).rejects.toMatchObject({ code: 'lock.not_a_file' });
    expect(readFileSync(path.join(outside, 'secret'), 'utf8')).toBe('secret');
    const { root: root2 } = catalog();
    execFileSync('mkfifo', [path.join(root2, '.lock')]);
    await expect(acquireLock(root2, 'backup')).rejects.toMatchObject({ code: 'lock.not_a_file', message: expect.stringContaining('not a regular file') });
  });
});

describe('config snapshots: links', () => {
  it('a link inside base_dir is taken as its target; one leading out (file or folder) is refused, exit 2, naming it', async () => {
    const { base, outside } = catalog();
    const app = path.join(base, 'app');
    mkdirSync(path.join(app, 'config'), { recursive: true });
    writeFileSync(path.join(app, '.env'), 'A=1\n');
    symlinkSync('../.env', path.join(app, 'config', 'env-link'));
    const ok = await collectConfigFiles(app, ['.env', 'config']);
    expect(ok.find((e) => e.path === 'config/env-link')).toMatchObject({ type: 'file', bytes: 4 });
    symlinkSync(path.join(outside, 'secret'), path.join(app, 'config', 'x'));
    await expect(collectConfigFiles(app, ['config'])).rejects.toMatchObject({ kind: 'usage', code: 'config_files.outside_base_dir', message: expect.stringMatching(/^config file config\/x \(a link to .*secret\) resolves to/) });
    const app2 = path.join(base, 'app2');
    mkdirSync(app2);
    symlinkSync(outside, path.join(app2, 'sub'));
    await expect(collectConfigFiles(app2, ['sub/secret'])).rejects.toMatchObject({ code: 'config_files.outside_base_dir', message: expect.stringContaining('(through a linked folder)') });
  });
});

describe('the backup root may not be a system folder', () => {
  it.each([
    ['/', /shared system folder/],
    ['/etc', /is the system folder \/etc/],
    ['/usr/local/backups', /inside the system folder \/usr/],
    ['/proc/1', /inside the system folder \/proc/],
    ['/var', /shared system folder/],
    ['/home', /shared system folder/],
    ['/var/backups/mystocks', null],
    ['/opt/claude/mystocks_backup', null],
    ['/tmp/pgtaos-ws-1/backups', null],
    ['/etcetera', null],
  ])('%s', (root, why) => {
    const got = systemRootReason(root);
    if (why === null) expect(got).toBeNull();
    else expect(got).toMatch(why);
  });
});

describe('timezone', () => {
  afterEach(() => vi.restoreAllMocks());
  it('a string longer than any IANA name is refused without asking Intl (whose work on it grows with the square of its length)', () => {
    const spy = vi.spyOn(Intl, 'DateTimeFormat');
    expect(timeZone.safeParse('A'.repeat(65)).success).toBe(false);
    expect(spy).not.toHaveBeenCalled();
    expect(timeZone.safeParse('America/Argentina/ComodRivadavia').success).toBe(true);
    expect(spy).toHaveBeenCalled();
  });
});
