/**
 * Webhook notifications against a local HTTP server on 127.0.0.1: the exact payload of each kind,
 * DingTalk and Feishu signatures recomputed here from their documented recipes, retries on 500,
 * a server that never answers, refusals (errcode), a missing env var, and masking of the URLs.
 */
import { createHmac } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { notify, triggerFor, type NotifyLog } from '../../src/report/notify.js';
import { runResultSchema, type RunResult } from '../../src/report/result.js';
import type { NotifyConfig } from '../../src/inputs/config-schema.js';
import { OK_BY_KIND, startWebhookServer, type Received, type WebhookServer } from '../helpers/webhook-server.js';

const servers: WebhookServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function server(...args: Parameters<typeof startWebhookServer>): Promise<WebhookServer> {
  const s = await startWebhookServer(...args);
  servers.push(s);
  return s;
}

/** A failed nightly backup as run.ts would report it. */
function failedBackup(over: Partial<RunResult> = {}): RunResult {
  return runResultSchema.parse({
    tool: { name: 'pgtaos-backup', version: '0.1.0' },
    command: 'backup',
    status: 'failure',
    exit_code: 1,
    started_at: '2026-11-25T16:00:03.120Z',
    finished_at: '2026-11-25T16:00:05.000Z',
    duration_ms: 1880,
    config_file: '/srv/ops/pgtaos-backup.yml',
    root: '/opt/claude/mystocks_backup',
    set: null,
    engines: {},
    checks: [],
    free_bytes: 20 * 1024 ** 3,
    storage: {
      free_bytes: 20 * 1024 ** 3,
      min_free_bytes: 5 * 1024 ** 3,
      used_bytes: 3 * 1024 ** 3,
      sets: { daily: 7, milestone: 2, config: 1, safety: 0 },
      incomplete_sets: 0,
      daily_bytes_per_day: 600 * 1024 ** 2,
      sample_days: 7,
      days_of_dailies: 25,
    },
    message: 'pg_dump failed (exit 1):\n  pg_dump: error: connection to server lost',
    warnings: [],
    error: {
      code: 'postgres.dump_failed',
      message: 'pg_dump failed (exit 1):\n  pg_dump: error: connection to server lost',
      hint: 'A lost connection means the server stopped or restarted during the dump; run the backup again once it is up.',
      stderr_tail: ['pg_dump: dumping contents of table "public.daily_bars"', 'pg_dump: error: connection to server lost'],
    },
    events: ['failure'],
    stale: [],
    hostname: 'runner-1',
    run_url: 'https://github.com/mystocks/ops/actions/runs/42',
    notifications: [],
    log_path: '/opt/claude/mystocks_backup/logs/20261126_000003-backup-4242.log',
    report_path: '/opt/claude/mystocks_backup/logs/20261126_000003-backup-4242.json',
    ...over,
  });
}

function recorder(): NotifyLog & { infos: string[]; warns: string[] } {
  const infos: string[] = [];
  const warns: string[] = [];
  return { infos, warns, info: (l) => infos.push(l), warn: (l) => warns.push(l) };
}

const FAST = { timeoutMs: 2000, tries: 3, backoffMs: 5 };
const entry = (kind: NotifyConfig['kind'], extra: Partial<NotifyConfig> = {}): NotifyConfig => ({ kind, url_env: `${kind.toUpperCase()}_URL`, on: ['failure'], ...extra });

/** The facts a person needs at night, in whatever markup the kind uses. */
function expectFacts(text: string): void {
  expect(text).toContain('pgtaos-backup backup FAILED on runner-1');
  expect(text).toContain('pg_dump failed (exit 1) [postgres.dump_failed]');
  expect(text).toContain('pg_dump: error: connection to server lost');
  expect(text).toContain('run the backup again once it is up');
  expect(text).toContain('https://github.com/mystocks/ops/actions/runs/42');
  expect(text).toContain('about 25 more days of dailies fit');
}

describe('payload of each kind (exact shape)', () => {
  it('wecom: {"msgtype":"markdown","markdown":{"content"}} with the facts, <= 4096 bytes', async () => {
    const s = await server(() => OK_BY_KIND.wecom);
    const url = s.url('/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa');
    const sent = await notify([entry('wecom')], failedBackup(), { env: { WECOM_URL: url }, log: recorder(), tuning: FAST });
    expect(sent).toEqual([{ kind: 'wecom', url_env: 'WECOM_URL', trigger: 'failure', delivered: true, attempts: 1, error: null }]);
    const [r] = s.requests as [Received];
    expect(r.method).toBe('POST');
    expect(r.headers['content-type']).toMatch(/^application\/json/);
    expect(r.query.get('key')).toBe('693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa');
    const body = r.json() as { msgtype: string; markdown: { content: string } };
    expect(Object.keys(body)).toEqual(['msgtype', 'markdown']);
    expect(body.msgtype).toBe('markdown');
    expect(Object.keys(body.markdown)).toEqual(['content']);
    expectFacts(body.markdown.content);
    expect(body.markdown.content).toContain('<font color="warning">');
    expect(Buffer.byteLength(body.markdown.content)).toBeLessThanOrEqual(4096);
  });

  it('wecom: a very long error is cut to 4096 bytes of UTF-8 (Chinese text included)', async () => {
    const s = await server(() => OK_BY_KIND.wecom);
    const long = failedBackup({ checks: Array.from({ length: 4 }, (_, i) => ({ name: `检查 ${i}`, result: 'failed' as const, detail: '磁盘空间不足 '.repeat(200) })) });
    await notify([entry('wecom')], long, { env: { WECOM_URL: s.url('/w') }, log: recorder(), tuning: FAST });
    const content = (s.requests[0]!.json() as { markdown: { content: string } }).markdown.content;
    expect(Buffer.byteLength(content)).toBeLessThanOrEqual(4096);
    expect(content).toContain('检查 0');
  });

  it('dingtalk: {"msgtype":"markdown","markdown":{"title","text"}}, signed with timestamp (ms) and sign in the query', async () => {
    const s = await server(() => OK_BY_KIND.dingtalk);
    const secret = 'SEC0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef';
    const before = Date.now();
    const sent = await notify([entry('dingtalk', { secret_env: 'DING_SECRET' })], failedBackup(), {
      env: { DINGTALK_URL: s.url('/robot/send?access_token=tok_abcdef0123456789'), DING_SECRET: secret },
      log: recorder(),
      tuning: FAST,
    });
    expect(sent[0]?.delivered).toBe(true);
    const r = s.requests[0]!;
    expect(r.path).toBe('/robot/send');
    expect(r.query.get('access_token')).toBe('tok_abcdef0123456789');
    const ts = r.query.get('timestamp')!;
    expect(ts).toMatch(/^\d{13}$/);
    expect(Number(ts)).toBeGreaterThanOrEqual(before);
    expect(Number(ts)).toBeLessThanOrEqual(Date.now());
    // DingTalk's recipe: base64(HmacSHA256(key = secret, message = timestamp + "\n" + secret)), URL-encoded.
    const expected = createHmac('sha256', secret).update(`${ts}\n${secret}`).digest('base64');
    expect(r.query.get('sign')).toBe(expected);
    expect(r.query.get('sign')).not.toBe(createHmac('sha256', 'another secret').update(`${ts}\nanother secret`).digest('base64'));
    const body = r.json() as { msgtype: string; markdown: { title: string; text: string } };
    expect(Object.keys(body)).toEqual(['msgtype', 'markdown']);
    expect(body.msgtype).toBe('markdown');
    expect(Object.keys(body.markdown)).toEqual(['title', 'text']);
    expect(body.markdown.title).toContain('pgtaos-backup backup FAILED');
    expectFacts(body.markdown.text);
  });

  it('dingtalk without secret_env: no timestamp or sign', async () => {
    const s = await server(() => OK_BY_KIND.dingtalk);
    await notify([entry('dingtalk')], failedBackup(), { env: { DINGTALK_URL: s.url('/robot/send?access_token=t') }, log: recorder(), tuning: FAST });
    expect([...s.requests[0]!.query.keys()]).toEqual(['access_token']);
  });

  it('feishu: {"timestamp","sign","msg_type":"interactive","card"}, sign = base64(HmacSHA256(key = timestamp+"\\n"+secret, message = ""))', async () => {
    const s = await server(() => OK_BY_KIND.feishu);
    const secret = 'demo-feishu-signing-secret';
    const before = Math.floor(Date.now() / 1000);
    const sent = await notify([entry('feishu', { secret_env: 'FEISHU_SECRET' })], failedBackup(), {
      env: { FEISHU_URL: s.url('/open-apis/bot/v2/hook/0123456789abcdef0123'), FEISHU_SECRET: secret },
      log: recorder(),
      tuning: FAST,
    });
    expect(sent[0]?.delivered).toBe(true);
    const body = s.requests[0]!.json() as {
      timestamp: string;
      sign: string;
      msg_type: string;
      card: { header: { template: string; title: { tag: string; content: string } }; elements: { tag: string; text: { tag: string; content: string } }[] };
    };
    expect(Object.keys(body)).toEqual(['timestamp', 'sign', 'msg_type', 'card']);
    expect(body.timestamp).toMatch(/^\d{10}$/);
    expect(Number(body.timestamp)).toBeGreaterThanOrEqual(before);
    expect(body.sign).toBe(createHmac('sha256', `${body.timestamp}\n${secret}`).update('').digest('base64'));
    expect(body.msg_type).toBe('interactive');
    expect(body.card.header.template).toBe('red');
    expect(body.card.header.title).toEqual({ tag: 'plain_text', content: expect.stringContaining('pgtaos-backup backup FAILED on runner-1') });
    expect(body.card.elements[0]!.tag).toBe('div');
    expect(body.card.elements[0]!.text.tag).toBe('lark_md');
    expectFacts(`${body.card.header.title.content}\n${body.card.elements[0]!.text.content}`);
  });

  it('slack: {"text","blocks"} with header, mrkdwn section and a link; <, > and & escaped', async () => {
    const s = await server(() => OK_BY_KIND.slack);
    const r0 = failedBackup();
    r0.error!.hint = 'Check <pg_hba.conf> & retry';
    await notify([entry('slack')], r0, { env: { SLACK_URL: s.url('/services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX') }, log: recorder(), tuning: FAST });
    const body = s.requests[0]!.json() as { text: string; blocks: { type: string; text?: { type: string; text: string }; elements?: { type: string; text: string }[] }[] };
    expect(Object.keys(body)).toEqual(['text', 'blocks']);
    expect(body.blocks.map((b) => b.type)).toEqual(['header', 'section', 'context']);
    expect(body.blocks[0]!.text).toEqual({ type: 'plain_text', text: expect.stringContaining('pgtaos-backup backup FAILED'), emoji: true });
    expect(body.blocks[1]!.text!.type).toBe('mrkdwn');
    expect(body.blocks[1]!.text!.text).toContain('Check &lt;pg_hba.conf&gt; &amp; retry');
    expect(body.blocks[2]!.elements![0]!.text).toBe('<https://github.com/mystocks/ops/actions/runs/42|Open the run>');
    expect(body.text).toContain('pgtaos-backup backup FAILED');
  });

  it('generic: the JSON report itself, valid against the schema; with secret_env an HMAC-SHA256 header', async () => {
    const s = await server(() => OK_BY_KIND.generic);
    const report = failedBackup();
    await notify([entry('generic', { secret_env: 'GEN_SECRET' })], report, { env: { GENERIC_URL: s.url('/hooks/backup'), GEN_SECRET: 'generic-secret' }, log: recorder(), tuning: FAST });
    const r = s.requests[0]!;
    const body = r.json() as RunResult;
    expect(runResultSchema.parse(body)).toEqual(body);
    expect(body).toEqual(report);
    expect(r.headers['x-pgtaos-event']).toBe('failure');
    expect(r.headers['x-pgtaos-signature-256']).toBe(`sha256=${createHmac('sha256', 'generic-secret').update(r.body).digest('hex')}`);
  });

  it('a stale status run: orange card, "backups are stale", the stale rows named', async () => {
    const s = await server(() => OK_BY_KIND.feishu);
    const stale = failedBackup({
      command: 'status',
      error: null,
      message: 'status: 4 passed, 2 failed (postgres backup, last verification), 1 skipped',
      checks: [
        { name: 'postgres backup', result: 'failed', detail: 'newest: mystocks_20261120_000003 (daily), started 2026-11-20T00:00:03.000+08:00, 130.0 h old > 26 h' },
        { name: 'last verification', result: 'failed', detail: 'mystocks_20261113_000003 verified 2026-11-14T08:00:00.000+08:00: passed, 12.1 days ago > 8 days' },
        { name: 'free space', result: 'passed', detail: 'ok' },
      ],
      stale: ['postgres backup', 'last verification'],
      events: ['failure', 'stale'],
    });
    const sent = await notify([entry('feishu', { on: ['stale'] })], stale, { env: { FEISHU_URL: s.url('/open-apis/bot/v2/hook/x') }, log: recorder(), tuning: FAST });
    expect(sent[0]?.trigger).toBe('stale');
    const body = s.requests[0]!.json() as { card: { header: { template: string; title: { content: string } }; elements: { text: { content: string } }[] } };
    expect(body.card.header.template).toBe('orange');
    expect(body.card.header.title.content).toContain('status FAILED: backups are stale');
    expect(body.card.elements[0]!.text.content).toContain('stale: postgres backup');
    expect(body.card.elements[0]!.text.content).toContain('130.0 h old > 26 h');
    expect(body.card.elements[0]!.text.content).toContain('stale: last verification');
  });
});

describe('which entries fire', () => {
  it.each([
    [['failure'], ['success'], null],
    [['failure'], ['failure'], 'failure'],
    [['success'], ['success'], 'success'],
    [['failure', 'success'], ['success'], 'success'],
    [['always'], ['success'], 'always'],
    [['stale'], ['failure'], null],
    [['stale'], ['failure', 'stale'], 'stale'],
    [['failure', 'stale'], ['failure', 'stale'], 'stale'],
  ] as const)('on %j, events %j -> %s', (on, events, want) => {
    expect(triggerFor({ on: [...on] }, [...events])).toBe(want);
  });
});

describe('delivery', () => {
  it('retries a 500 with backoff and delivers on the third try', async () => {
    const s = await server((_r, n) => (n < 2 ? { status: 500, body: 'busy' } : OK_BY_KIND.wecom));
    const log = recorder();
    const sent = await notify([entry('wecom')], failedBackup(), { env: { WECOM_URL: s.url('/w') }, log, tuning: FAST });
    expect(s.requests).toHaveLength(3);
    expect(sent[0]).toMatchObject({ delivered: true, attempts: 3, error: null });
    expect(log.warns).toEqual([]);
  });

  it('gives up after the tries with a warning, never throws', async () => {
    const s = await server(() => ({ status: 503, body: 'down' }));
    const log = recorder();
    const sent = await notify([entry('wecom')], failedBackup(), { env: { WECOM_URL: s.url('/w') }, log, tuning: FAST });
    expect(s.requests).toHaveLength(3);
    expect(sent[0]).toMatchObject({ delivered: false, attempts: 3, error: 'HTTP 503: down (after 3 tries)' });
    expect(log.warns).toEqual([expect.stringContaining('notification not sent: wecom webhook (WECOM_URL): HTTP 503')]);
  });

  it('a server that never answers: each try times out, the call returns with a warning', async () => {
    const s = await server(() => 'hang');
    const log = recorder();
    const sent = await notify([entry('slack')], failedBackup(), { env: { SLACK_URL: s.url('/services/x') }, log, tuning: { timeoutMs: 300, tries: 2, backoffMs: 5 } });
    expect(s.requests).toHaveLength(2);
    expect(sent[0]).toMatchObject({ delivered: false, attempts: 2 });
    expect(sent[0]!.error).toContain('no answer within 300 ms');
    expect(log.warns[0]).toContain('no answer within 300 ms');
  });

  it('a refusal (HTTP 400, or errcode != 0 in a 200) is not retried', async () => {
    const bad = await server(() => ({ status: 400, body: 'invalid_payload' }));
    const refused = await server(() => ({ status: 200, body: '{"errcode":93000,"errmsg":"invalid webhook url"}' }));
    const log = recorder();
    const sent = await notify([entry('slack'), entry('wecom')], failedBackup(), { env: { SLACK_URL: bad.url('/s'), WECOM_URL: refused.url('/w') }, log, tuning: FAST });
    expect(bad.requests).toHaveLength(1);
    expect(refused.requests).toHaveLength(1);
    expect(sent.map((n) => n.error)).toEqual(['HTTP 400: invalid_payload (after 1 try)', 'errcode 93000: invalid webhook url (after 1 try)']);
  });

  it('a connection refused is retried, then a warning', async () => {
    const s = await server();
    const url = s.url('/w');
    await s.close();
    servers.splice(servers.indexOf(s), 1);
    const log = recorder();
    const sent = await notify([entry('wecom')], failedBackup(), { env: { WECOM_URL: url }, log, tuning: FAST });
    expect(sent[0]).toMatchObject({ delivered: false, attempts: 3 });
    expect(sent[0]!.error).toContain('ECONNREFUSED');
  });

  it('a missing env var: a warning naming it, nothing sent, other entries still sent', async () => {
    const s = await server(() => OK_BY_KIND.wecom);
    const log = recorder();
    const sent = await notify([entry('dingtalk', { url_env: 'DINGTALK_WEBHOOK_URL' }), entry('wecom')], failedBackup(), { env: { WECOM_URL: s.url('/w') }, log, tuning: FAST });
    expect(sent.map((n) => [n.kind, n.delivered, n.attempts])).toEqual([
      ['dingtalk', false, 0],
      ['wecom', true, 1],
    ]);
    expect(log.warns).toEqual([expect.stringContaining('the environment variable DINGTALK_WEBHOOK_URL is not set or empty')]);
  });

  it('secret_env named but unset: a warning, sent unsigned', async () => {
    const s = await server(() => OK_BY_KIND.feishu);
    const log = recorder();
    await notify([entry('feishu', { secret_env: 'FEISHU_SECRET' })], failedBackup(), { env: { FEISHU_URL: s.url('/f') }, log, tuning: FAST });
    expect(log.warns[0]).toContain('secret_env FEISHU_SECRET is not set or empty');
    expect(Object.keys(s.requests[0]!.json() as object)).toEqual(['msg_type', 'card']);
  });

  it('a cancelled run gets one short try per webhook (the runner kills it 10 s after cancelling)', async () => {
    const s = await server(() => ({ status: 500 }));
    const sent = await notify([entry('wecom')], failedBackup({ status: 'cancelled' }), { env: { WECOM_URL: s.url('/w') }, log: recorder() });
    expect(s.requests).toHaveLength(1);
    expect(sent[0]).toMatchObject({ trigger: 'failure', delivered: false, attempts: 1 });
    const title = (s.requests[0]!.json() as { markdown: { content: string } }).markdown.content;
    expect(title).toContain('pgtaos-backup backup was cancelled');
  });

  it('a stop signal (second SIGTERM) ends pending retries at once', async () => {
    const s = await server(() => ({ status: 500 }));
    const stop = new AbortController();
    const log = recorder();
    const p = notify([entry('wecom')], failedBackup(), { env: { WECOM_URL: s.url('/w') }, log, tuning: { timeoutMs: 2000, tries: 5, backoffMs: 60_000 }, stop: stop.signal });
    await new Promise((r) => setTimeout(r, 200));
    stop.abort();
    const sent = await p;
    expect(sent[0]).toMatchObject({ delivered: false, attempts: 1 });
  });
});
