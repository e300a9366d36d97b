/**
 * Logs do not grow forever, through the built CLI: prune --dry-run lists the run logs and reports
 * past retention.log_days and removes nothing, prune removes them and nothing else; status and list
 * write no report file unless asked (--report). No database is needed: prune, list and status of an
 * empty catalog do not connect.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli, json, userEnv, workspace, type Workspace } from '../helpers/tool.js';
import type { RunResult } from '../../src/report/result.js';

const DAY_MS = 86_400_000;
const made: Workspace[] = [];
afterAll(async () => {
  await Promise.all(made.map((w) => fs.rm(w.dir, { recursive: true, force: true })));
});

async function aged(logs: string, name: string, days: number): Promise<string> {
  const p = path.join(logs, name);
  await fs.writeFile(p, 'x'.repeat(1000));
  const t = new Date(Date.now() - days * DAY_MS);
  await fs.utimes(p, t, t);
  return p;
}

describe('log retention through the CLI', () => {
  it('prune --dry-run lists old logs, prune removes exactly those; status and list leave no report unless asked', async () => {
    const ws = workspace(null, 'mystocks', { postgres: { database: 'mystocks', host: '127.0.0.1', port: 1 }, retention: { log_days: 14 } });
    made.push(ws);
    const logs = path.join(ws.root, 'logs');
    await fs.mkdir(logs, { recursive: true });
    const old = [await aged(logs, '20260101_000003-backup-4001.log', 20), await aged(logs, '20260101_000003-backup-4001.json', 20)];
    const young = await aged(logs, '20260110_000003-backup-4002.log', 13);
    const env = userEnv(null);

    const dry = await cli(['prune', '--dry-run', '--json'], { env, cwd: ws.dir });
    expect(dry.code, dry.stderr).toBe(0);
    const dryOut = json<RunResult>(dry);
    expect(dryOut.prune?.logs?.removed.map((r) => r.name).sort()).toEqual(old.map((o) => path.basename(o)).sort());
    expect(dryOut.message).toMatch(/would remove 2 log files older than 14 days \(2\.0 KiB\)/);
    expect(dry.stderr).toMatch(/would remove log 20260101_000003-backup-4001\.log \(1000 B\): last written .*, more than log_days 14 ago/);
    for (const o of old) await expect(fs.access(o)).resolves.toBeUndefined();

    const real = await cli(['prune'], { env, cwd: ws.dir });
    expect(real.code, real.stderr).toBe(0);
    expect(real.stderr).toMatch(/removed log 20260101_000003-backup-4001\.json/);
    for (const o of old) await expect(fs.access(o), o).rejects.toThrow();
    await expect(fs.access(young)).resolves.toBeUndefined();

    const before = (await fs.readdir(logs)).sort();
    await cli(['list'], { env, cwd: ws.dir });
    await cli(['status'], { env, cwd: ws.dir });
    expect((await fs.readdir(logs)).sort()).toEqual(before);
    const asked = await cli(['status', '--report', '--json'], { env, cwd: ws.dir });
    const path_ = json<RunResult>(asked).report_path;
    expect(path_).toMatch(/-status-\d+\.json$/);
    expect((await fs.readdir(logs)).sort()).toEqual([...before, path.basename(path_!)].sort());
  });
});
