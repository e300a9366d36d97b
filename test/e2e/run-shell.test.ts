/**
 * The run shell through the built CLI (dist/cli.js, or PGTAOS_TEST_DIST): bad input refused with
 * exit 2 before anything exists, the lock (stale takeover in the log file, waiting, cancel while
 * waiting), and secrets masked in the report, the log file, stdout and stderr.
 * No database is needed: every run here is refused before a connection, or is a prune.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, cli, deadLockInfo, json, liveLockInfo, readJson, start, userEnv, workspace, type Started, type ToolRun, type Workspace } from '../helpers/tool.js';
import { until } from '../helpers/faults.js';
import type { LockInfo } from '../../src/catalog/lock.js';
import { runResultSchema, type RunResult } from '../../src/report/result.js';

/** A folder (`dir`, or a new temp one) with a config file holding `config` and no other engine section; root <dir>/backups. */
const ws = (config: Record<string, unknown>, dir?: string): Workspace => workspace(null, 'mystocks', config, { dir });

/** The built CLI, the config named with --config, in the workspace, with a user's environment plus `env`. */
function launch(w: Workspace, args: string[], env: NodeJS.ProcessEnv = {}): Started {
  return start(CLI, [...args, '--config', w.configFile], { env: userEnv(null, env), cwd: w.dir });
}

const run = (w: Workspace, args: string[], env: NodeJS.ProcessEnv = {}): Promise<ToolRun> => cli([...args, '--config', w.configFile], { env: userEnv(null, env), cwd: w.dir });

const pg = { database: 'mystocks', host: '127.0.0.1', port: 5432 };

/** Only on loopback: a port nothing listens on is never needed, since every case is refused first. */
describe('bad input: exit 2, a message naming it, and nothing created (root does not exist)', () => {
  const cases: [string, Record<string, unknown>, string[], RegExp][] = [
    ['retention.daily_days 0', { postgres: pg, retention: { daily_days: 0 } }, [], /retention\.daily_days: must be at least 1 \(days\)/],
    ['retention.daily_days negative', { postgres: pg, retention: { daily_days: -3 } }, [], /retention\.daily_days: must be at least 1/],
    ['retention.keep_last 0', { postgres: pg, retention: { keep_last: 0 } }, [], /retention\.keep_last: must be at least 1 \(sets\)/],
    ['retention.keep_last negative', { postgres: pg, retention: { keep_last: -1 } }, [], /retention\.keep_last: must be at least 1/],
    ['retention.config_days negative', { postgres: pg, retention: { config_days: -1 } }, [], /retention\.config_days: must be at least 1/],
    ['retention.daily_days fractional', { postgres: pg, retention: { daily_days: 1.5 } }, [], /retention\.daily_days: must be a whole number of days/],
    ['postgres.port 0', { postgres: { ...pg, port: 0 } }, [], /postgres\.port: must be a port number from 1 to 65535/],
    ['postgres.port 70000', { postgres: { ...pg, port: 70000 } }, [], /postgres\.port: must be a port number from 1 to 65535/],
    ['postgres.port abc (wrong type)', { postgres: { ...pg, port: 'abc' } }, [], /postgres\.port: .*expected number/],
    ['--postgres-port abc', { postgres: pg }, ['--postgres-port', 'abc'], /--postgres-port \/ input postgres-port: "abc" is not a whole number/],
    ['--postgres-port 70000', { postgres: pg }, ['--postgres-port', '70000'], /postgres\.port: must be a port number/],
    ['an unknown key', { postgres: { ...pg, prot: 5432 } }, [], /postgres\.prot: unknown key/],
    ['a misspelt section', { postgres: pg, retension: { daily_days: 7 } }, [], /retension: unknown key/],
    ['a wrong type', { postgres: pg, min_free_gb: 'five' }, [], /min_free_gb: .*expected number/],
    ['--engines mysql', { postgres: pg }, ['--engines', 'mysql'], /option '--engines <which>' argument 'mysql' is invalid/],
    ['--engines tdengine without a tdengine: section', { postgres: pg }, ['--engines', 'tdengine'], /--engines tdengine was asked for, but the config has no tdengine: section/],
    ['--engines postgres without a postgres: section', { tdengine: { database: 'market_data' } }, ['--engines', 'postgres'], /--engines postgres was asked for, but the config has no postgres: section/],
    ['no engine at all', {}, [], /the config defines no database to back up/],
    ['--lock-wait abc', { postgres: pg }, ['--lock-wait', 'abc'], /lock-wait "abc" is not a whole number of seconds/],
    ['--lock-wait -5', { postgres: pg }, ['--lock-wait', '-5'], /lock-wait "-5" is not a whole number of seconds from 0 \(do not wait\) to 86400/],
  ];
  it.each(cases)('%s', async (_name, config, args, message) => {
    const w = ws(config);
    const r = await run(w, ['backup', ...args]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(existsSync(w.root), 'the backup root must not be created').toBe(false);
  });

  it('a config error names the file', async () => {
    const w = ws({ postgres: { ...pg, prot: 1 } });
    const r = await run(w, ['backup']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`invalid configuration in ${w.configFile}`);
    expect(r.stderr).toContain('hint: Fix the keys named above');
  });

  it('pg_dump missing from bin_dir: exit 2 before any connection, nothing created', async () => {
    const empty = mkdtempSync(path.join(os.tmpdir(), 'pgtaos-nobin-'));
    const w = ws({ postgres: { ...pg, bin_dir: empty } });
    for (const command of [['backup'], ['milestone', 'pre_us3_refactor']]) {
      const r = await run(w, command);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain(`pg_dump not found in bin_dir ${empty}`);
      expect(r.stderr).toContain('hint: ');
      expect(existsSync(w.root)).toBe(false);
    }
  });

  it('taosdump missing, or TDENGINE_PASSWORD unset: exit 2, nothing created', async () => {
    const empty = mkdtempSync(path.join(os.tmpdir(), 'pgtaos-nobin-'));
    const w = ws({ tdengine: { database: 'market_data', bin_dir: empty } });
    const r = await run(w, ['backup', '--engines', 'tdengine'], { TDENGINE_PASSWORD: 'td-secret-1' });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(`taosdump not found in bin_dir ${empty}`);
    expect(existsSync(w.root)).toBe(false);
    // A taosdump that exists, but no password: refused before anything exists.
    writeFileSync(path.join(empty, 'taosdump'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    const r2 = await run(w, ['backup']);
    expect(r2.code, r2.stderr).toBe(2);
    expect(r2.stderr).toContain('TDENGINE_PASSWORD is not set');
    expect(existsSync(w.root)).toBe(false);
  });

  it('restore without the exact confirmation, or verify of an unknown set: exit 2, nothing created', async () => {
    const w = ws({ postgres: pg });
    const r = await run(w, ['restore', 'mystocks_20261125_000003', '--target', 'mystocks', '--confirm', 'mystock']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain('does not repeat the target "mystocks"');
    expect(existsSync(w.root)).toBe(false);
    const v = await run(w, ['verify', 'mystocks_20261125_000003']);
    expect(v.code, v.stderr).toBe(2);
    expect(v.stderr).toContain('no set mystocks_20261125_000003');
    expect(existsSync(w.root)).toBe(false);
  });
});

describe('hostile input: exit 2 with a plain message, no stack trace, nothing created', () => {
  /** A workspace whose config file is `text` (raw YAML), root <dir>/backups. */
  const rawWs = (text: string): Workspace => {
    const w = ws({ postgres: pg });
    writeFileSync(w.configFile, text);
    return w;
  };
  const refused = (r: ToolRun, w: Workspace | null, message: RegExp) => {
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr, 'a stack trace').not.toMatch(/\n\s+at .*\(.*:\d+:\d+\)/);
    if (w) expect(existsSync(w.root), 'the backup root must not be created').toBe(false);
  };

  it('a YAML alias bomb ("billion laughs")', async () => {
    const lines = [`root: backups`, `postgres: {database: mystocks}`, `a0: &a0 [x, x, x, x, x, x, x, x, x, x]`];
    for (let i = 1; i <= 9; i++) lines.push(`a${i}: &a${i} [${Array.from({ length: 10 }, () => `*a${i - 1}`).join(', ')}]`);
    const w = rawWs(`${lines.join('\n')}\n`);
    refused(await run(w, ['backup']), w, /YAML aliases \(\*name\) there cannot be used: Excessive alias count/);
  });

  it('a 10 MB quoted timezone: refused by the config file size cap before it is parsed', async () => {
    const w = rawWs(`root: backups\npostgres: {database: mystocks}\ntimezone: "${'A'.repeat(10_000_000)}"\n`);
    refused(await run(w, ['backup']), w, /is 100000\d\d bytes; a config file may be at most 262144 bytes/);
  });

  it('a 200 KB timezone (under the size cap): refused by its length', async () => {
    const w = rawWs(`root: backups\npostgres: {database: mystocks}\ntimezone: "${'A'.repeat(200_000)}"\n`);
    refused(await run(w, ['backup']), w, /timezone: must be an IANA time zone such as Asia\/Shanghai or UTC \(at most 64 characters\)/);
  });

  it('--root / : refused, and nothing is written at /logs', async () => {
    expect(existsSync('/logs')).toBe(false);
    const w = ws({ postgres: pg });
    for (const command of ['backup', 'prune', 'list']) {
      refused(await run(w, [command, '--root', '/']), null, /the backup root \/ cannot be used: \/ is a shared system folder/);
    }
    expect(existsSync('/logs')).toBe(false);
  });

  it('a system folder as root, as given or through a link (/etc, /usr/local/x, a link to /etc)', async () => {
    const w = ws({ postgres: pg });
    refused(await run(w, ['prune', '--root', '/etc']), null, /\/etc is the system folder \/etc/);
    refused(await run(w, ['prune', '--root', '/usr/local/pgtaos']), null, /\/usr\/local\/pgtaos is inside the system folder \/usr/);
    const link = path.join(w.dir, 'looks-harmless');
    symlinkSync('/etc', link);
    refused(await run(w, ['prune', '--root', link]), null, /\/etc is the system folder \/etc/);
    expect(existsSync('/etc/logs')).toBe(false);
  });

  it('<root>/logs is a link to a folder elsewhere: refused, and no log or report is written behind it', async () => {
    const w = ws({ postgres: pg });
    const elsewhere = path.join(w.dir, 'elsewhere');
    mkdirSync(elsewhere);
    mkdirSync(w.root);
    symlinkSync(elsewhere, path.join(w.root, 'logs'));
    const r = await run(w, ['prune']);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/logs is a symbolic link to .*elsewhere; the tool does not follow links inside the backup root/);
    expect(readdirSync(elsewhere)).toEqual([]);
  });

  it('a flag value of more than 4096 characters', async () => {
    const w = ws({ postgres: pg });
    refused(await run(w, ['backup', '--postgres-host', 'h'.repeat(5000)]), w, /--postgres-host \/ input postgres-host: 5000 characters; at most 4096 are taken/);
  });
});

describe('refused by the prepare step on a root that exists', () => {
  it('the report is still written there; no lock and no log file are made', async () => {
    const w = ws({ postgres: pg });
    mkdirSync(path.join(w.root, 'logs'), { recursive: true });
    const r = await run(w, ['backup', '--engines', 'tdengine']);
    expect(r.code, r.stderr).toBe(2);
    const files = reportFiles(w);
    expect(files).toHaveLength(1);
    expect(runResultSchema.parse(readJson(files[0]!)).error?.code).toBe('engines.not_configured');
    expect(readdirSync(w.root)).toEqual(['logs']);
    expect(logFiles(w)).toEqual([]);
  });
});

function logFiles(w: Workspace): string[] {
  const d = path.join(w.root, 'logs');
  return existsSync(d) ? readdirSync(d).filter((n) => n.endsWith('.log')).map((n) => path.join(d, n)) : [];
}

function reportFiles(w: Workspace): string[] {
  const d = path.join(w.root, 'logs');
  return existsSync(d) ? readdirSync(d).filter((n) => n.endsWith('.json')).map((n) => path.join(d, n)) : [];
}

/** A root that exists, with its logs/ folder, and a lock file in it. */
function lockedRoot(w: Workspace, info: LockInfo): string {
  mkdirSync(path.join(w.root, 'logs'), { recursive: true });
  const file = path.join(w.root, '.lock');
  writeFileSync(file, JSON.stringify(info));
  return file;
}

/** Everything in the root besides what a run leaves on purpose: no lock temp files, no guard. */
function strayLockFiles(w: Workspace): string[] {
  return readdirSync(w.root).filter((n) => n.startsWith('.lock.'));
}

describe('the lock through the CLI', () => {
  it("the stale-lock warning reaches the run's log file, not only the console", async () => {
    const w = ws({});
    const holder = deadLockInfo();
    lockedRoot(w, holder);
    const dead = holder.pid;
    const r = await run(w, ['prune']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`took over a stale lock left by backup (pid ${dead}`);
    const logs = logFiles(w);
    expect(logs).toHaveLength(1);
    expect(readFileSync(logs[0]!, 'utf8')).toMatch(new RegExp(`WARN  took over a stale lock left by backup \\(pid ${dead} on .*\\): that run is gone`));
    expect(existsSync(path.join(w.root, '.lock'))).toBe(false);
    expect(strayLockFiles(w)).toEqual([]);
  });

  it('--lock-wait: a holder that finishes after about a second; the waiting run proceeds and its log says it waited', async () => {
    const w = ws({});
    const lock = lockedRoot(w, liveLockInfo());
    const started = launch(w, ['prune', '--lock-wait', '60', '--json']);
    let stderr = '';
    started.child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    await until(() => stderr.includes('waiting up to'), 'the waiting message', { started });
    await new Promise((r) => setTimeout(r, 1000));
    rmSync(lock); // the holder finishes
    const r = await started.done;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`another run holds the lock ${lock}: backup (pid ${process.pid} on ${os.hostname()}, since 2026-11-25T00:00:03.000+08:00); waiting up to 60 s (lock-wait)`);
    expect(readFileSync(logFiles(w)[0]!, 'utf8')).toContain('waiting up to 60 s (lock-wait)');
    expect(existsSync(lock)).toBe(false); // taken, and released at the end
    expect(strayLockFiles(w)).toEqual([]);
  });

  it('--lock-wait: a holder that does not finish: exit 1 after the wait, lock.held saying how long it waited', async () => {
    const w = ws({});
    const lock = lockedRoot(w, liveLockInfo());
    const r = await run(w, ['prune', '--lock-wait', '2', '--json']);
    expect(r.code, r.stderr).toBe(1);
    const report = json<RunResult>(r);
    expect(report.error?.code).toBe('lock.held');
    expect(report.error?.message).toMatch(new RegExp(`^another pgtaos-backup run holds ${lock}: backup \\(pid ${process.pid} .*\\); waited 2 s for it$`));
    expect(report.error?.hint).toContain('--lock-wait');
    expect(readJson(lock)).toMatchObject({ pid: process.pid });
    expect(strayLockFiles(w)).toEqual([]);
  });

  it('without --lock-wait a held lock is refused at once (exit 1)', async () => {
    const w = ws({});
    lockedRoot(w, liveLockInfo());
    const r = await run(w, ['prune', '--json']);
    expect(r.code).toBe(1);
    expect(json<RunResult>(r).error?.message).not.toContain('waited');
  });

  it('SIGTERM while waiting: the run stops at once, reports cancelled, and leaves the holder\'s lock alone', async () => {
    const w = ws({});
    const lock = lockedRoot(w, liveLockInfo());
    const before = readFileSync(lock, 'utf8');
    const started = launch(w, ['prune', '--lock-wait', '600', '--json']);
    let stderr = '';
    started.child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    await until(() => stderr.includes('waiting up to'), 'the waiting message', { started });
    started.child.kill('SIGTERM');
    const r = await started.done;
    expect(r.code, r.stderr).toBe(1);
    const report = json<RunResult>(r);
    expect(report.status).toBe('cancelled');
    expect(report.error?.code).toBe('run.cancelled');
    expect(readFileSync(lock, 'utf8')).toBe(before);
    expect(strayLockFiles(w)).toEqual([]);
    const files = reportFiles(w);
    expect(files).toHaveLength(1);
    expect(runResultSchema.parse(readJson(files[0]!)).status).toBe('cancelled');
  });
});

/** Every string anywhere inside a parsed JSON value. */
function strings(v: unknown): string[] {
  if (typeof v === 'string') return [v];
  if (Array.isArray(v)) return v.flatMap(strings);
  if (v && typeof v === 'object') return Object.values(v).flatMap(strings);
  return [];
}

/**
 * A prune run with `secret` as PGPASSWORD: the report file and --json stdout are valid reports, and
 * the secret is in no string of them, nor in the log file or stderr.
 */
async function secretStaysOut(w: Workspace, secret: string): Promise<RunResult> {
  const r = await run(w, ['prune', '--json'], { PGPASSWORD: secret });
  expect(r.code, r.stderr).toBe(0);
  const out = runResultSchema.parse(json(r));
  const files = reportFiles(w);
  expect(files).toHaveLength(1);
  const file = runResultSchema.parse(readJson(files[0]!));
  for (const s of [...strings(out), ...strings(file)]) expect(s).not.toContain(secret);
  expect(r.stderr).not.toContain(secret);
  const logs = logFiles(w);
  expect(logs).toHaveLength(1);
  expect(readFileSync(logs[0]!, 'utf8')).not.toContain(secret);
  return file;
}

describe('secrets in the report, the log file, stdout and stderr', () => {
  it('a numeric password that is part of a number in the report: the report stays valid JSON, numbers intact', async () => {
    // min_free_gb 1 puts min_free_bytes 1073741824 in the report; masking the JSON text cut it.
    const w = ws({ min_free_gb: 1 });
    const report = await secretStaysOut(w, '107374');
    expect(report.storage?.min_free_bytes).toBe(1073741824);
  });

  it('a password equal to a key of the report ("status"): keys stay, the report keeps its shape', async () => {
    const w = ws({});
    const report = await secretStaysOut(w, 'status');
    expect(report.status).toBe('success');
  });

  it('a password holding a quote and a backslash is masked (JSON escaping hid it from the old masking)', async () => {
    const secret = 'pw"q\\x9';
    // The secret sits in the folder the config lives in, so the report's paths and the log's lines carry it.
    const w = ws({}, path.join(mkdtempSync(path.join(os.tmpdir(), 'pgtaos-shell-')), `in-${secret}`));
    const report = await secretStaysOut(w, secret);
    expect(report.root).toContain('***');
  });
});
