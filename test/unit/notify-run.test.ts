/**
 * Notifications through runCommand, as the CLI and the action run them: a failed nightly backup
 * (nothing listens on the PostgreSQL port) and a stale catalog each reach the local chat webhooks
 * with the right content; a webhook that fails or never answers leaves the run's result alone;
 * webhook URLs never appear in output, log or report.
 */
import { createHmac } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { afterEach, describe, expect, it } from 'vitest';
import { runCommand } from '../../src/run.js';
import { runResultSchema, type RunResult } from '../../src/report/result.js';
import type { Sink } from '../../src/report/log.js';
import { findPgBinDir, freePort } from '../helpers/pg-common.js';
import { DAY_MS, writeFakeSet } from '../helpers/fake-catalog.js';
import { OK_BY_KIND, startWebhookServer, type WebhookServer } from '../helpers/webhook-server.js';

const temps: string[] = [];
const servers: WebhookServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
  await Promise.all(temps.splice(0).map((d) => fs.rm(d, { recursive: true, force: true })));
});

const FAST = { timeoutMs: 2000, tries: 3, backoffMs: 5 };
const GITHUB = { GITHUB_SERVER_URL: 'https://github.com', GITHUB_REPOSITORY: 'mystocks/ops', GITHUB_RUN_ID: '4242' };
const RUN_LINK = 'https://github.com/mystocks/ops/actions/runs/4242';

/** Tokens as real webhook URLs carry them: none may ever be printed. */
const TOKENS = {
  wecom: 'wecomkey-693a91f6-7aoc-4bc4-97a0-0ec2sifa5aaa',
  dingtalk: 'dingtoken0123456789abcdef0123456789abcdef',
  feishu: 'feishuhook-0b2c3d4e-5f60-7182-93a4-b5c6d7e8f900',
  slack: 'T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX',
  generic: 'generictoken-abcdefghijklmnop',
};
const DING_SECRET = 'SECdingtalk-signing-secret-0123456789';
const FEISHU_SECRET = 'feishu-signing-secret-abcdef';

function capture(): Sink & { text: () => string } {
  const lines: string[] = [];
  return {
    text: () => lines.join('\n'),
    info: (l) => lines.push(l),
    warn: (l) => lines.push(`WARN ${l}`),
    error: (l) => lines.push(`ERROR ${l}`),
    startGroup: (t) => lines.push(`== ${t}`),
    endGroup: () => {},
  };
}

async function workspace(config: Record<string, unknown>): Promise<{ dir: string; root: string; configFile: string }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pgtaos-notify-'));
  temps.push(dir);
  const root = path.join(dir, 'backups');
  const configFile = path.join(dir, 'pgtaos-backup.yml');
  await fs.writeFile(configFile, stringify({ root, timezone: 'Asia/Shanghai', min_free_gb: 0, ...config }));
  return { dir, root, configFile };
}

async function hooks(): Promise<WebhookServer> {
  const s = await startWebhookServer((req) => OK_BY_KIND[req.path.split('/')[1] as keyof typeof OK_BY_KIND] ?? { status: 404 });
  servers.push(s);
  return s;
}

function hookEnv(s: WebhookServer): NodeJS.ProcessEnv {
  return {
    WECOM_URL: s.url(`/wecom/cgi-bin/webhook/send?key=${TOKENS.wecom}`),
    DINGTALK_URL: s.url(`/dingtalk/robot/send?access_token=${TOKENS.dingtalk}`),
    DING_SECRET,
    FEISHU_URL: s.url(`/feishu/open-apis/bot/v2/hook/${TOKENS.feishu}`),
    FEISHU_SECRET,
    SLACK_URL: s.url(`/slack/services/${TOKENS.slack}`),
    GENERIC_URL: s.url(`/generic/${TOKENS.generic}`),
  };
}

const ALL_KINDS = [
  { kind: 'wecom', url_env: 'WECOM_URL', on: ['failure'] },
  { kind: 'dingtalk', url_env: 'DINGTALK_URL', secret_env: 'DING_SECRET', on: ['failure'] },
  { kind: 'feishu', url_env: 'FEISHU_URL', secret_env: 'FEISHU_SECRET', on: ['failure', 'stale'] },
  { kind: 'slack', url_env: 'SLACK_URL', on: ['success'] },
  { kind: 'generic', url_env: 'GENERIC_URL', on: ['always'] },
];

async function expectNoTokens(result: RunResult, sinkText: string): Promise<void> {
  const texts = [sinkText, JSON.stringify(result)];
  if (result.report_path) texts.push(await fs.readFile(result.report_path, 'utf8'));
  if (result.log_path) texts.push(await fs.readFile(result.log_path, 'utf8'));
  for (const t of texts) for (const token of [...Object.values(TOKENS), DING_SECRET, FEISHU_SECRET]) expect(t).not.toContain(token);
}

async function expectValidReport(result: RunResult): Promise<void> {
  expect(runResultSchema.parse(result)).toEqual(result);
  expect(result.report_path).not.toBeNull();
  const onDisk = JSON.parse(await fs.readFile(result.report_path!, 'utf8')) as RunResult;
  expect(runResultSchema.parse(onDisk)).toEqual(onDisk);
  expect(onDisk).toEqual(result);
}

describe('a failed nightly backup reaches the chat', () => {
  it('nothing listens on the PostgreSQL port: every failure webhook gets the error, the hint and the run link', async () => {
    const port = await freePort();
    const s = await hooks();
    const ws = await workspace({ postgres: { host: '127.0.0.1', port, database: 'mystocks', bin_dir: findPgBinDir() }, notify: ALL_KINDS });
    const sink = capture();
    const result = await runCommand({ command: 'backup', configFile: ws.configFile }, { sink, env: { ...hookEnv(s), ...GITHUB, PGPASSWORD: 'never-used-pw-123' }, cwd: ws.dir, notify: FAST });

    expect(result.exit_code).toBe(1);
    expect(result.error?.code).toBe('postgres.unreachable');
    expect(result.events).toEqual(['failure']);
    expect(result.notifications.map((n) => [n.kind, n.trigger, n.delivered])).toEqual([
      ['wecom', 'failure', true],
      ['dingtalk', 'failure', true],
      ['feishu', 'failure', true],
      ['generic', 'always', true],
    ]);
    expect(s.to('/slack')).toEqual([]);

    const where = `cannot connect to PostgreSQL at postgres@127.0.0.1:${port}/mystocks`;
    const wecom = (s.to('/wecom')[0]!.json() as { markdown: { content: string } }).markdown.content;
    for (const text of [wecom]) {
      expect(text).toContain(`pgtaos-backup backup FAILED on ${os.hostname()}`);
      expect(text).toContain(where);
      expect(text).toContain('[postgres.unreachable]');
      expect(text).toContain(`pg_isready -h 127.0.0.1 -p ${port}`);
      expect(text).toContain(`[Open the run](${RUN_LINK})`);
    }
    const ding = s.to('/dingtalk')[0]!;
    const ts = ding.query.get('timestamp')!;
    expect(ding.query.get('sign')).toBe(createHmac('sha256', DING_SECRET).update(`${ts}\n${DING_SECRET}`).digest('base64'));
    expect((ding.json() as { markdown: { text: string } }).markdown.text).toContain(where);
    const feishu = s.to('/feishu')[0]!.json() as { timestamp: string; sign: string; card: { elements: { text: { content: string } }[] } };
    expect(feishu.sign).toBe(createHmac('sha256', `${feishu.timestamp}\n${FEISHU_SECRET}`).update('').digest('base64'));
    expect(feishu.card.elements[0]!.text.content).toContain(where);
    const generic = s.to('/generic')[0]!.json() as RunResult;
    expect(runResultSchema.parse(generic)).toEqual(generic);
    expect(generic.error?.code).toBe('postgres.unreachable');
    expect(generic.notifications).toEqual([]);

    await expectValidReport(result);
    await expectNoTokens(result, sink.text());
  });
});

describe('a stale catalog reaches the chat', () => {
  it('status with old sets: on [stale] and [failure, stale] entries fire, naming the stale rows; a [success] entry stays quiet', async () => {
    const s = await hooks();
    const ws = await workspace({
      postgres: { database: 'mystocks' },
      notify: [
        { kind: 'wecom', url_env: 'WECOM_URL', on: ['stale'] },
        { kind: 'feishu', url_env: 'FEISHU_URL', secret_env: 'FEISHU_SECRET' }, // default on: [failure, stale]
        { kind: 'slack', url_env: 'SLACK_URL', on: ['success'] },
      ],
    });
    await fs.mkdir(path.join(ws.root, 'logs'), { recursive: true });
    const now = Date.now();
    await writeFakeSet(ws.root, { kind: 'daily', id: 'mystocks_20261120_000003', startedAt: new Date(now - 3 * DAY_MS), verification: { result: 'passed', at: new Date(now - 10 * DAY_MS) } });
    await writeFakeSet(ws.root, { kind: 'daily', id: 'mystocks_20261119_000003', startedAt: new Date(now - 4 * DAY_MS) });
    const sink = capture();
    const result = await runCommand({ command: 'status', configFile: ws.configFile, report: true }, { sink, env: { ...hookEnv(s), ...GITHUB }, cwd: ws.dir, notify: FAST });

    expect(result.exit_code).toBe(1);
    expect(result.stale).toEqual(['postgres backup', 'last verification']);
    expect(result.events).toEqual(['failure', 'stale']);
    expect(result.notifications.map((n) => [n.kind, n.trigger, n.delivered])).toEqual([
      ['wecom', 'stale', true],
      ['feishu', 'stale', true],
    ]);
    expect(s.to('/slack')).toEqual([]);
    const wecom = (s.to('/wecom')[0]!.json() as { markdown: { content: string } }).markdown.content;
    expect(wecom).toContain('pgtaos-backup status FAILED: backups are stale');
    expect(wecom).toMatch(/stale: postgres backup:\*\* newest: mystocks_20261120_000003 \(daily\), started \S+, 72\.\d h old > 26 h/);
    expect(wecom).toMatch(/stale: last verification:\*\* mystocks_20261120_000003 verified \S+: passed, 10\.0 days ago > 8 days/);
    expect(wecom).toContain(RUN_LINK);
    const card = s.to('/feishu')[0]!.json() as { card: { header: { template: string } } };
    expect(card.card.header.template).toBe('orange');
    await expectValidReport(result);
    expect(result.storage).toMatchObject({ sets: { daily: 2, milestone: 0, config: 0, safety: 0 }, sample_days: 2 });
    await expectNoTokens(result, sink.text());
  });

  it('status with fresh sets and a recent passed verification raises no stale event', async () => {
    const s = await hooks();
    const ws = await workspace({ postgres: { database: 'mystocks' }, notify: [{ kind: 'wecom', url_env: 'WECOM_URL', on: ['stale'] }, { kind: 'slack', url_env: 'SLACK_URL', on: ['success'] }] });
    const now = Date.now();
    await writeFakeSet(ws.root, { kind: 'daily', id: 'mystocks_20261125_000003', startedAt: new Date(now - 2 * 3_600_000), verification: { result: 'passed', at: new Date(now - 3_600_000) } });
    const result = await runCommand({ command: 'status', configFile: ws.configFile, report: true }, { sink: capture(), env: hookEnv(s), cwd: ws.dir, notify: FAST });
    expect(result.stale).toEqual([]);
    expect(result.exit_code, JSON.stringify(result.checks)).toBe(0);
    expect(result.notifications.map((n) => n.kind)).toEqual(['slack']);
    expect(s.to('/wecom')).toEqual([]);
  });

  it('a failed verification is stale too', async () => {
    const s = await hooks();
    const ws = await workspace({ postgres: { database: 'mystocks' }, notify: [{ kind: 'wecom', url_env: 'WECOM_URL', on: ['stale'] }] });
    const now = Date.now();
    await writeFakeSet(ws.root, { kind: 'daily', id: 'mystocks_20261125_000003', startedAt: new Date(now - 2 * 3_600_000), verification: { result: 'failed', at: new Date(now - 3_600_000) } });
    const result = await runCommand({ command: 'status', configFile: ws.configFile, report: true }, { sink: capture(), env: hookEnv(s), cwd: ws.dir, notify: FAST });
    expect(result.stale).toEqual(['last verification']);
    expect((s.to('/wecom')[0]!.json() as { markdown: { content: string } }).markdown.content).toContain('verified');
  });
});

describe('a webhook never changes the run', () => {
  it('a good run stays good when its webhook answers 500 every time (3 tries, then a warning in the report)', async () => {
    const s = await startWebhookServer(() => ({ status: 500, body: 'internal error' }));
    servers.push(s);
    const ws = await workspace({ postgres: { database: 'mystocks' }, notify: [{ kind: 'wecom', url_env: 'WECOM_URL', on: ['always'] }] });
    await fs.mkdir(path.join(ws.root, 'logs'), { recursive: true });
    const sink = capture();
    const result = await runCommand({ command: 'list', configFile: ws.configFile, report: true }, { sink, env: hookEnv(s), cwd: ws.dir, notify: FAST });
    expect(result.exit_code).toBe(0);
    expect(result.status).toBe('success');
    expect(s.requests).toHaveLength(3);
    expect(result.notifications).toEqual([{ kind: 'wecom', url_env: 'WECOM_URL', trigger: 'always', delivered: false, attempts: 3, error: 'HTTP 500: internal error (after 3 tries)' }]);
    expect(result.warnings).toEqual([expect.stringContaining('notification not sent: wecom webhook (WECOM_URL): HTTP 500')]);
    await expectValidReport(result);
    await expectNoTokens(result, sink.text());
  });

  it('a webhook that never answers: the run finishes, with a warning', async () => {
    const s = await startWebhookServer(() => 'hang');
    servers.push(s);
    const ws = await workspace({ postgres: { database: 'mystocks' }, notify: [{ kind: 'dingtalk', url_env: 'DINGTALK_URL', on: ['always'] }] });
    const result = await runCommand({ command: 'list', configFile: ws.configFile, report: true }, { sink: capture(), env: hookEnv(s), cwd: ws.dir, notify: { timeoutMs: 400, tries: 2, backoffMs: 5 } });
    expect(result.exit_code).toBe(0);
    expect(s.requests).toHaveLength(2);
    expect(result.notifications[0]).toMatchObject({ delivered: false, attempts: 2, error: 'no answer within 400 ms (after 2 tries)' });
    expect(result.warnings[0]).toContain('no answer within 400 ms');
  });

  it('a rate limit in a 200 (WeCom errcode 45009) and a refusal (DingTalk errcode 310000): both warnings, the exit code unchanged', async () => {
    const s = await startWebhookServer((req) =>
      req.path.startsWith('/wecom') ? { status: 200, body: '{"errcode":45009,"errmsg":"api freq out of limit"}' } : { status: 200, body: '{"errcode":310000,"errmsg":"keywords not in content"}' },
    );
    servers.push(s);
    const ws = await workspace({
      postgres: { database: 'mystocks' },
      notify: [
        { kind: 'wecom', url_env: 'WECOM_URL', on: ['always'] },
        { kind: 'dingtalk', url_env: 'DINGTALK_URL', on: ['always'] },
      ],
    });
    await fs.mkdir(path.join(ws.root, 'logs'), { recursive: true });
    const result = await runCommand({ command: 'list', configFile: ws.configFile, report: true }, { sink: capture(), env: hookEnv(s), cwd: ws.dir, notify: FAST });
    expect([result.exit_code, result.status]).toEqual([0, 'success']);
    expect(s.to('/wecom')).toHaveLength(3); // retried: a rate limit passes
    expect(s.to('/dingtalk')).toHaveLength(1); // a refusal does not
    expect(result.notifications.map((n) => [n.kind, n.delivered, n.attempts])).toEqual([
      ['wecom', false, 3],
      ['dingtalk', false, 1],
    ]);
    // Warnings come in the order the deliveries finish.
    expect([...result.warnings].sort()).toEqual([
      expect.stringContaining('dingtalk webhook (DINGTALK_URL): errcode 310000: keywords not in content'),
      expect.stringContaining('wecom webhook (WECOM_URL): rate limited (errcode 45009'),
    ]);
    await expectValidReport(result);
  });

  it('a missing env var: a warning naming it, the exit code unchanged', async () => {
    const ws = await workspace({ postgres: { database: 'mystocks' }, notify: [{ kind: 'wecom', url_env: 'OPS_WECOM_WEBHOOK', on: ['always'] }] });
    const result = await runCommand({ command: 'list', configFile: ws.configFile, report: true }, { sink: capture(), env: {}, cwd: ws.dir, notify: FAST });
    expect(result.exit_code).toBe(0);
    expect(result.warnings).toEqual([expect.stringContaining('the environment variable OPS_WECOM_WEBHOOK is not set or empty')]);
  });

  it('an answer that echoes the URL back is masked in the warning, the report and the log', async () => {
    let echoed = '';
    const s = await startWebhookServer((req) => {
      echoed = `bad request to http://127.0.0.1${req.path}?key=${req.query.get('key')}`;
      return { status: 400, body: echoed };
    });
    servers.push(s);
    const ws = await workspace({ postgres: { database: 'mystocks' }, notify: [{ kind: 'wecom', url_env: 'WECOM_URL', on: ['always'] }] });
    await fs.mkdir(path.join(ws.root, 'logs'), { recursive: true });
    const sink = capture();
    const result = await runCommand({ command: 'list', configFile: ws.configFile, report: true }, { sink, env: hookEnv(s), cwd: ws.dir, notify: FAST });
    expect(echoed).toContain(TOKENS.wecom);
    expect(result.notifications[0]?.error).toContain('bad request to http://127.0.0.1/wecom/cgi-bin/webhook/send?key=***');
    await expectNoTokens(result, sink.text());
  });
});
