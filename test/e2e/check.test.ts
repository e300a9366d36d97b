/**
 * `check` through the built CLI and the action, against real PostgreSQL: every row passing on a
 * good setup and leaving nothing behind, then each row failing on its own cause (a stopped server,
 * a wrong password, pg_dump older than the server, a root of another user, a read-only root, a
 * read-only remote, a bad age recipient, a missing webhook variable), with the other rows unharmed.
 */
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster } from '../helpers/pg-cluster.js';
import { startPg17 } from '../helpers/embedded-pg17.js';
import type { Cluster } from '../helpers/pg-common.js';
import { makeAgeKey } from '../helpers/age.js';
import { CANNOT_MOUNT, inCi, mountTmpfs, unmountAll } from '../helpers/mount.js';
import { cli, json, runAction, userEnv, workspace, type ToolRun, type Workspace } from '../helpers/tool.js';
import { runResultSchema, type RunResult } from '../../src/report/result.js';

let pgc: Cluster;
let recipient: string;
const HOOK = 'https://hooks.example.invalid/services/T000/B000/abcdefghijklmnop';

beforeAll(async () => {
  pgc = await startCluster({ name: 'check' });
  await pgc.createDb('mystocks');
  recipient = (await makeAgeKey()).recipient;
});
afterAll(async () => {
  unmountAll();
  await pgc?.destroy();
});

/** A workspace where every row passes: the cluster, a plain-folder remote, a recipient, a webhook variable. */
function goodWorkspace(c: Cluster = pgc, extra: Record<string, unknown> = {}): Workspace & { nas: string } {
  const nas = mkdtempSync(path.join(os.tmpdir(), 'pgtaos-check-nas-'));
  const ws = workspace(c, 'mystocks', {
    remotes: [{ type: 'path', name: 'nas', path: nas, require_mount: false }],
    encryption: { age_recipients: [recipient] },
    notify: [{ kind: 'slack', url_env: 'SLACK_WEBHOOK_URL' }],
    ...extra,
  });
  return { ...ws, nas };
}

const run = (ws: Workspace, args: string[] = [], env: NodeJS.ProcessEnv = {}, c: Cluster = pgc) =>
  cli(['check', ...args], { env: userEnv(c, { SLACK_WEBHOOK_URL: HOOK, ...env }), cwd: ws.dir });

/** The rows on stdout, by name: `RESULT  name: detail`. */
function rows(r: ToolRun): Map<string, { result: string; detail: string }> {
  const out = new Map<string, { result: string; detail: string }>();
  for (const l of r.stdout.split('\n')) {
    const m = /^(PASSED|FAILED|SKIPPED) +([^:]+): (.*)$/.exec(l);
    if (m) out.set(m[2]!, { result: m[1]!, detail: m[3]! });
  }
  return out;
}

/** Every row but `except` passed (the failure is on its own row). */
function othersPassed(r: ToolRun, except: string[]): void {
  for (const [name, row] of rows(r)) if (!except.includes(name)) expect(row.result, `${name}: ${row.detail}\n${r.stdout}`).toBe('PASSED');
}

const ROWS = ['config', 'postgres tools', 'postgres login', 'postgres client version', 'backup root', 'free space', 'remote nas', 'age recipients', 'notify slack SLACK_WEBHOOK_URL'];

describe('check', () => {
  it('a good setup: every row passes, exit 0, rows on stdout only, nothing left in the root or on the remote', async () => {
    const ws = goodWorkspace();
    const r = await run(ws);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect([...rows(r).keys()]).toEqual(ROWS);
    othersPassed(r, []);
    expect(r.stdout).toMatch(/^check: 9 passed, 0 failed, 0 skipped$/m);
    expect(rows(r).get('postgres login')!.detail).toContain(`PostgreSQL ${pgc.version}`);
    // stderr holds the logs, never the rows
    expect(r.stderr).not.toMatch(/PASSED|FAILED/);
    // a root that does not exist yet is not created; the remote holds no test object
    expect(existsSync(ws.root)).toBe(false);
    expect(readdirSync(ws.dir)).toEqual(['pgtaos-backup.yml']);
    expect(readdirSync(ws.nas)).toEqual([]);
  });

  it('an existing root with logs/: no report, no log, no lock file left', async () => {
    const ws = goodWorkspace();
    mkdirSync(path.join(ws.root, 'logs'), { recursive: true });
    const r = await run(ws);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(readdirSync(ws.root)).toEqual(['logs']);
    expect(readdirSync(path.join(ws.root, 'logs'))).toEqual([]);
  });

  it('--json: the report on stdout with every row, the rows on stderr', async () => {
    const ws = goodWorkspace();
    const r = await run(ws, ['--json'], { SLACK_WEBHOOK_URL: '' });
    expect(r.code).toBe(1);
    const report = json<RunResult>(r);
    expect(runResultSchema.safeParse(report).success).toBe(true);
    expect(report.command).toBe('check');
    expect(report.report_path).toBeNull();
    expect(report.checks.map((c) => c.name)).toEqual(ROWS);
    expect(report.checks.find((c) => c.name === 'notify slack SLACK_WEBHOOK_URL')?.result).toBe('failed');
    expect(r.stderr).toContain('FAILED  notify slack SLACK_WEBHOOK_URL');
  });

  it('a wrong password: the login row fails, saying the login was refused', async () => {
    const r = await run(goodWorkspace(), [], { PGPASSWORD: 'not-the-password' });
    expect(r.code).toBe(1);
    expect(rows(r).get('postgres login')).toMatchObject({ result: 'FAILED' });
    expect(rows(r).get('postgres login')!.detail).toMatch(/refused the login postgres@127\.0\.0\.1/);
    expect(rows(r).get('postgres client version')!.result).toBe('SKIPPED');
    othersPassed(r, ['postgres login', 'postgres client version']);
    expect(r.stdout + r.stderr).not.toContain('not-the-password');
  });

  it('a bad age recipient (right shape, wrong checksum): its row fails', async () => {
    const bad = `${recipient.slice(0, -1)}${recipient.endsWith('q') ? 'p' : 'q'}`;
    const r = await run(goodWorkspace(pgc, { encryption: { age_recipients: [recipient, bad] } }));
    expect(r.code).toBe(1);
    expect(rows(r).get('age recipients')!.result).toBe('FAILED');
    expect(rows(r).get('age recipients')!.detail).toContain(bad);
    othersPassed(r, ['age recipients']);
  });

  it('a missing webhook variable: its row fails, naming the variable', async () => {
    const r = await run(goodWorkspace(pgc, { notify: [{ kind: 'slack', url_env: 'SLACK_WEBHOOK_URL' }, { kind: 'generic', url_env: 'HOOK_URL', secret_env: 'HOOK_SECRET' }] }), [], { HOOK_URL: HOOK });
    expect(r.code).toBe(1);
    expect(rows(r).get('notify generic HOOK_URL')).toMatchObject({ result: 'FAILED' });
    expect(rows(r).get('notify generic HOOK_URL')!.detail).toMatch(/^HOOK_SECRET not set in the environment/);
    othersPassed(r, ['notify generic HOOK_URL']);
  });

  it('a root owned by another user: the root row fails, naming the owner', async () => {
    if (process.getuid?.() !== 0) return;
    const ws = goodWorkspace();
    mkdirSync(ws.root);
    chownSync(ws.root, 65534, 65534);
    const r = await run(ws);
    expect(r.code).toBe(1);
    expect(rows(r).get('backup root')!.detail).toMatch(/is owned by uid 65534, not by the running user \(uid 0\)/);
    othersPassed(r, ['backup root']);
  });

  it('a read-only root and a read-only remote: each fails its own row', async (t) => {
    const root = mountTmpfs({ readOnly: true });
    const share = mountTmpfs({ readOnly: true });
    if (!root || !share) {
      if (inCi()) throw new Error(CANNOT_MOUNT);
      return t.skip(CANNOT_MOUNT);
    }
    const ws = goodWorkspace(pgc, { root, remotes: [{ type: 'path', name: 'nas', path: share }] });
    const r = await run(ws);
    expect(r.code).toBe(1);
    expect(rows(r).get('backup root')!.detail).toMatch(/read-only file system/);
    expect(rows(r).get('remote nas')!.result).toBe('FAILED');
    expect(rows(r).get('remote nas')!.detail).toMatch(/read-only|EROFS/i);
    othersPassed(r, ['backup root', 'remote nas']);
  });

  it('the action runs it: command check, the rows in the job summary, the step fails on a failed row', async () => {
    const ws = goodWorkspace();
    const ok = await runAction(ws, { command: 'check', 'postgres-password': pgc.password }, { SLACK_WEBHOOK_URL: HOOK, PATH: userEnv(pgc).PATH });
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    expect(ok.outputs.status).toBe('success');
    expect(ok.summary).toContain('postgres login');
    const bad = await runAction(ws, { command: 'check', 'postgres-password': 'wrong-password-here' }, { SLACK_WEBHOOK_URL: HOOK, PATH: userEnv(pgc).PATH });
    expect(bad.code).toBe(1);
    expect(bad.outputs.status).toBe('failure');
    expect(bad.stdout).toContain('FAILED  postgres login');
  });

  it('a stopped server: the login row fails, saying it cannot connect', async () => {
    const ws = goodWorkspace();
    await pgc.stop();
    try {
      const r = await run(ws);
      expect(r.code).toBe(1);
      expect(rows(r).get('postgres login')!.detail).toMatch(/cannot connect to PostgreSQL at postgres@127\.0\.0\.1:\d+\/mystocks/);
      othersPassed(r, ['postgres login', 'postgres client version']);
    } finally {
      await pgc.restart();
    }
  });
});

describe('check against PostgreSQL 17 with the machine\'s older pg_dump', () => {
  let pg17: Cluster;
  beforeAll(async () => {
    pg17 = await startPg17({ name: 'check-17' });
    await pg17.createDb('mystocks');
  });
  afterAll(async () => {
    await pg17?.destroy();
  });

  it('the client version row fails, naming both versions and the client to install; the login passes', async () => {
    const r = await run(goodWorkspace(pg17), [], {}, pg17);
    expect(r.code).toBe(1);
    expect(rows(r).get('postgres login')!.result).toBe('PASSED');
    const v = rows(r).get('postgres client version')!;
    expect(v.result).toBe('FAILED');
    expect(v.detail).toMatch(new RegExp(`pg_dump 1[0-6]\\.\\d+ .* is older than the PostgreSQL ${pg17.version.replace('.', '\\.')} server`));
    expect(v.detail).toContain('postgresql-client-17');
    othersPassed(r, ['postgres client version']);
  });
});
