import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/inputs/config.js';
import { UsageError } from '../../src/errors.js';

function withFile(text: string): { dir: string; file: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pgtaos-cfg-'));
  const file = path.join(dir, 'pgtaos-backup.yml');
  writeFileSync(file, text);
  return { dir, file };
}

function failure(fn: () => unknown): UsageError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return err as UsageError;
  }
  throw new Error('expected a UsageError');
}

const good = `root: ./backups
timezone: Asia/Shanghai
postgres:
  database: mystocks
  port: 5438
`;

describe('config file', () => {
  it('applies defaults and resolves paths against the file', () => {
    const { dir, file } = withFile(good);
    const { config, file: src } = loadConfig({ file, env: {} });
    expect(src).toBe(file);
    expect(config.root).toBe(path.join(dir, 'backups'));
    expect(config.postgres).toMatchObject({ host: '127.0.0.1', port: 5438, user: 'postgres', jobs: 2 });
    expect(config.retention).toEqual({ daily_days: 7, keep_last: 3, config_days: 30, log_days: 30 });
    expect(config.min_free_gb).toBe(5);
  });

  it('finds pgtaos-backup.yml in the working directory, or PGTAOS_BACKUP_CONFIG', () => {
    const { dir, file } = withFile(good);
    expect(loadConfig({ cwd: dir, env: {} }).file).toBe(file);
    expect(loadConfig({ cwd: os.tmpdir(), env: { PGTAOS_BACKUP_CONFIG: file } }).file).toBe(file);
  });

  it('an unknown or misspelt key is an error naming the key and the file', () => {
    const { file } = withFile(`${good}  prot: 5432\nretension: {}\n`);
    const err = failure(() => loadConfig({ file, env: {} }));
    expect(err.message).toContain(file);
    expect(err.message).toContain('postgres.prot: unknown key');
    expect(err.message).toContain('retension: unknown key');
    expect(err.hint).toBeTruthy();
  });

  it('a wrong type names the key', () => {
    const { file } = withFile(`root: /tmp/x\npostgres:\n  database: mystocks\n  port: "fifty"\n`);
    expect(failure(() => loadConfig({ file, env: {} })).message).toMatch(/postgres\.port: /);
  });

  it('a wrong type is not called missing', () => {
    const { file } = withFile(`root: /tmp/x\nmin_free_gb: five\npostgres:\n  database: mystocks\n`);
    const msg = failure(() => loadConfig({ file, env: {} })).message;
    expect(msg).toContain('min_free_gb: Invalid input: expected number, received string');
    expect(msg).not.toContain('required, but missing');
  });

  it('retention counts must be at least 1 (0 would prune every daily or protect none)', () => {
    for (const [key, v] of [['daily_days', 0], ['keep_last', 0], ['config_days', 0], ['log_days', 0], ['daily_days', -1], ['keep_last', -2]] as const) {
      const { file } = withFile(`root: /x\nretention: {${key}: ${v}}\n`);
      expect(failure(() => loadConfig({ file, env: {} })).message, `${key} ${v}`).toMatch(new RegExp(`retention\\.${key}: must be at least 1 \\((days|sets)\\); 0 or less is refused`));
    }
    const { file } = withFile('root: /x\nretention: {daily_days: 1, keep_last: 1, config_days: 1}\n');
    expect(loadConfig({ file, env: {} }).config.retention).toEqual({ daily_days: 1, keep_last: 1, config_days: 1, log_days: 30 });
    const gfs = withFile('root: /x\nretention: {keep_weekly: 8, keep_monthly: 0}\n');
    expect(loadConfig({ file: gfs.file, env: {} }).config.retention).toEqual({ daily_days: 7, keep_last: 3, config_days: 30, log_days: 30, keep_weekly: 8, keep_monthly: 0 });
  });

  it('ports: 0 and 70000 are refused with the range', () => {
    for (const port of [0, 70000]) {
      const { file } = withFile(`root: /x\npostgres: {database: a, port: ${port}}\n`);
      expect(failure(() => loadConfig({ file, env: {} })).message).toContain('postgres.port: must be a port number from 1 to 65535');
    }
  });

  it('a missing required value names the key', () => {
    const { file } = withFile(`postgres:\n  port: 5432\n`);
    const msg = failure(() => loadConfig({ file, env: {} })).message;
    expect(msg).toContain('root: required, but missing');
    expect(msg).toContain('postgres.database: required, but missing');
  });

  it.each([
    ['port out of range', 'root: /x\npostgres: {database: a, port: 70000}\n', 'postgres.port'],
    ['negative retention', 'root: /x\nretention: {daily_days: -1}\n', 'retention.daily_days'],
    ['negative keep_weekly', 'root: /x\nretention: {keep_weekly: -1}\n', 'retention.keep_weekly'],
    ['fractional keep_monthly', 'root: /x\nretention: {keep_monthly: 1.5}\n', 'retention.keep_monthly'],
    ['bad time zone', 'root: /x\ntimezone: Mars/Olympus\n', 'timezone'],
    ['database name with quotes', 'root: /x\npostgres: {database: "a; drop"}\n', 'postgres.database'],
    ['config path climbing out', 'root: /x\nconfig_files: {base_dir: /x, paths: ["../etc/passwd"]}\n', 'config_files.paths.0'],
    ['webhook URL in the file', 'root: /x\nnotify: [{kind: slack, url_env: "https://hooks.slack.com/x"}]\n', 'notify.0.url_env'],
    ['unknown remote type', 'root: /x\nremotes: [{type: ftp, path: /x}]\n', 'remotes.0'],
  ])('%s is refused', (_name, text, key) => {
    const { file } = withFile(text);
    expect(failure(() => loadConfig({ file, env: {} })).message).toContain(key);
  });

  it('scratch_database equal to a production database is refused', () => {
    const { file } = withFile('root: /x\npostgres: {database: mystocks, scratch_database: mystocks}\n');
    expect(failure(() => loadConfig({ file, env: {} })).message).toContain('postgres.scratch_database: mystocks is a production database');
    const { file: f2 } = withFile('root: /x\npostgres: {database: mystocks, scratch_database: market_data}\ntdengine: {database: market_data}\n');
    expect(failure(() => loadConfig({ file: f2, env: {} })).message).toContain('is a production database');
  });

  it('invalid YAML is a usage error', () => {
    const { file } = withFile('root: [unclosed\n');
    expect(failure(() => loadConfig({ file, env: {} })).message).toContain('not valid YAML');
  });

  it('an explicit file that does not exist is "no config file at X", not a missing key; nothing is created', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'pgtaos-cfg-'));
    const file = path.join(dir, 'nope.yml');
    for (const err of [failure(() => loadConfig({ file, env: {} })), failure(() => loadConfig({ env: { PGTAOS_BACKUP_CONFIG: 'nope.yml' }, cwd: dir }))]) {
      expect(err.code).toBe('config.missing');
      expect(err.message).toBe(`no config file at ${file} (create it from ops/pgtaos-backup.yml)`);
      expect(err.message).not.toContain('required, but missing');
    }
    expect(readdirSync(dir)).toEqual([]);
  });

  it('no pgtaos-backup.yml in the working directory and no flags: "no config file at X", not "root: required, but missing"', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'pgtaos-cfg-'));
    const err = failure(() => loadConfig({ env: {}, cwd: dir }));
    expect(err.code).toBe('config.missing');
    expect(err.message).toBe(`no config file at ${path.join(dir, 'pgtaos-backup.yml')} (create it from ops/pgtaos-backup.yml)`);
    expect(err.hint).toContain('ops/pgtaos-backup.yml');
    expect(readdirSync(dir)).toEqual([]);
  });

  it('no file but flags: the flags alone are a config when complete, and their missing keys are named when not', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'pgtaos-cfg-'));
    const { config, file } = loadConfig({ env: {}, cwd: dir, overrides: { root: '/srv/b', 'postgres-database': 'mystocks' } });
    expect(file).toBeNull();
    expect(config.postgres?.database).toBe('mystocks');
    const err = failure(() => loadConfig({ env: {}, cwd: dir, overrides: { 'postgres-database': 'mystocks' } }));
    expect(err.code).toBe('config.invalid');
    expect(err.message).toContain('(not found; settings from flags/inputs only)');
    expect(err.message).toContain('root: required, but missing');
  });

  it('a config file that exists but cannot be read is still config.unreadable', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'pgtaos-cfg-'));
    expect(failure(() => loadConfig({ file: dir, env: {} })).code).toBe('config.unreadable');
  });

  it('flags/inputs override the file, and are validated like it', () => {
    const { file } = withFile(good);
    const { config } = loadConfig({ file, env: {}, overrides: { 'postgres-port': '6543', root: '/srv/b' } });
    expect(config.postgres?.port).toBe(6543);
    expect(config.root).toBe('/srv/b');
    expect(failure(() => loadConfig({ file, env: {}, overrides: { 'postgres-port': 'abc' } })).message).toContain('postgres-port');
    expect(failure(() => loadConfig({ file, env: {}, overrides: { 'postgres-port': '99999' } })).message).toContain('postgres.port');
  });
});
