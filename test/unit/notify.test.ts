/**
 * Webhook notifications against a local HTTP server on 127.0.0.1: the exact payload of each kind,
 * DingTalk and Feishu signatures checked against known-answer vectors (computed outside this code,
 * with Python's hmac and with openssl, from the services' documented recipes), messages really
 * over each kind's size limit, retries on 500 and on the services' rate-limit codes, the backoff
 * between tries, a server that never answers, refusals (errcode), a missing env var.
 */
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_TUNING, LIMITS, chatMessage, clipTo, fitValues, jsonBytes, notify, triggerFor, utf8Bytes, type NotifyLog } from '../../src/report/notify.js';
import { runResultSchema, type RunResult } from '../../src/report/result.js';
import type { NotifyConfig } from '../../src/inputs/config-schema.js';
import { OK_BY_KIND, startWebhookServer, type Received, type WebhookServer } from '../helpers/webhook-server.js';
import { REPO } from '../helpers/tool.js';
import { DUMP_FAILED, baseResult } from '../helpers/run-result.js';

const servers: WebhookServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function server(...args: Parameters<typeof startWebhookServer>): Promise<WebhookServer> {
  const s = await startWebhookServer(...args);
  servers.push(s);
  return s;
}

/** A failed nightly backup as run.ts would report it: pg_dump lost its connection. */
function failedBackup(over: Partial<RunResult> = {}): RunResult {
  return baseResult({ ...DUMP_FAILED, ...over });
}

function recorder(): NotifyLog & { infos: string[]; warns: string[] } {
  const infos: string[] = [];
  const warns: string[] = [];
  return { infos, warns, info: (l) => infos.push(l), warn: (l) => warns.push(l) };
}

const FAST = { timeoutMs: 2000, tries: 3, backoffMs: 5 };
const entry = (kind: NotifyConfig['kind'], extra: Partial<NotifyConfig> = {}): NotifyConfig => ({ kind, url_env: `${kind.toUpperCase()}_URL`, on: ['failure'], ...extra });

/**
 * Known answers, computed outside this code from the vendors' recipes (DingTalk 自定义机器人 加签:
 * Base64(HmacSHA256(key = secret, message = timestamp + "\n" + secret)), then urlEncode; Feishu
 * 签名校验: Base64(HmacSHA256(key = timestamp + "\n" + secret, message = "")), timestamp in
 * seconds), with their own Python samples (hmac, base64, urllib.parse.quote_plus) and checked with
 * `openssl dgst -sha256 -hmac`. The timestamps were picked so that the Base64 holds "+" and "/".
 */
const DING_VECTOR = {
  timestampMs: 1795622403123, // 2026-11-25T16:00:03.123Z
  sign: '5QlqZMM3/Mk5tHJKCX33Z1dTLBiPlGKweb/D2na5a+o=',
  signOnTheWire: '5QlqZMM3%2FMk5tHJKCX33Z1dTLBiPlGKweb%2FD2na5a%2Bo%3D',
};
const FEISHU_VECTOR = { secret: 'demo-feishu-signing-secret', timestampS: '1795622414', sign: 'Gau9Jn5k+HOQNqu1spYP54HTzzH3WPnkNANnX/hgkPU=' };

/** The facts a person needs at night, in whatever markup the kind uses. */
function expectFacts(text: string): void {
  expect(text).toContain('pgtaos-backup backup FAILED on runner-1');
  expect(text).toContain('pg_dump failed (exit 1) [postgres.dump_failed]');
  expect(text).toContain('pg_dump: error: connection to server lost');
  expect(text).toContain('run the backup again once it is up');
  expect(text).toContain('https://github.com/mystocks/ops/actions/runs/42');
  expect(text).toContain('about 68 more days of dailies fit');
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

  it('dingtalk: {"msgtype":"markdown","markdown":{"title","text"}}, signed: timestamp (ms) and the URL-encoded sign in the query (known answer)', async () => {
    const s = await server(() => OK_BY_KIND.dingtalk);
    const secret = 'SEC0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef';
    const sent = await notify([entry('dingtalk', { secret_env: 'DING_SECRET' })], failedBackup(), {
      env: { DINGTALK_URL: s.url('/robot/send?access_token=tok_abcdef0123456789'), DING_SECRET: secret },
      log: recorder(),
      tuning: FAST,
      now: () => new Date(DING_VECTOR.timestampMs),
    });
    expect(sent[0]?.delivered).toBe(true);
    const r = s.requests[0]!;
    expect(r.path).toBe('/robot/send');
    expect(r.query.get('access_token')).toBe('tok_abcdef0123456789');
    // On the wire: "/" and "+" of the Base64 are percent-encoded (DingTalk's urlEncode step), "=" too.
    expect(r.rawUrl).toContain(`&timestamp=${DING_VECTOR.timestampMs}&`);
    expect(r.rawUrl).toContain(`&sign=${DING_VECTOR.signOnTheWire}`);
    expect(r.rawUrl).toMatch(/sign=[^&]*%2F/);
    expect(r.rawUrl).toMatch(/sign=[^&]*%2B/);
    expect(r.query.get('sign')).toBe(DING_VECTOR.sign);
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

  it('feishu: {"timestamp","sign","msg_type":"interactive","card"}, sign = base64(HmacSHA256(key = timestamp+"\\n"+secret, message = "")) (known answer)', async () => {
    const s = await server(() => OK_BY_KIND.feishu);
    const sent = await notify([entry('feishu', { secret_env: 'FEISHU_SECRET' })], failedBackup(), {
      env: { FEISHU_URL: s.url('/open-apis/bot/v2/hook/0123456789abcdef0123'), FEISHU_SECRET: FEISHU_VECTOR.secret },
      log: recorder(),
      tuning: FAST,
      // 999 ms into the second: the timestamp is whole seconds, rounded down.
      now: () => new Date(Number(FEISHU_VECTOR.timestampS) * 1000 + 999),
    });
    expect(sent[0]?.delivered).toBe(true);
    const body = s.requests[0]!.json() as {
      timestamp: string;
      sign: string;
      msg_type: string;
      card: { header: { template: string; title: { tag: string; content: string } }; elements: { tag: string; text: { tag: string; content: string } }[] };
    };
    expect(Object.keys(body)).toEqual(['timestamp', 'sign', 'msg_type', 'card']);
    expect(body.timestamp).toBe(FEISHU_VECTOR.timestampS);
    expect(body.sign).toBe(FEISHU_VECTOR.sign);
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

  it.each([
    ['wecom', { status: 503, body: 'down' }, 'HTTP 503: down'],
    ['dingtalk', { status: 200, body: '{"errcode":130101,"errmsg":"send too fast, exceed 20 times per minute"}' }, 'rate limited (errcode 130101: send too fast, exceed 20 times per minute)'],
  ] as const)('%s: an answer worth retrying that lasts (%j): every try used, then a warning naming it, never a throw', async (kind, answer, error) => {
    const s = await server(() => answer);
    const log = recorder();
    const urlEnv = `${kind.toUpperCase()}_URL`;
    const sent = await notify([entry(kind)], failedBackup(), { env: { [urlEnv]: s.url('/hook?access_token=t') }, log, tuning: FAST });
    expect(s.requests).toHaveLength(3);
    expect(sent[0]).toMatchObject({ delivered: false, attempts: 3, error: `${error} (after 3 tries)` });
    expect(log.warns).toEqual([expect.stringContaining(`notification not sent: ${kind} webhook (${urlEnv}): ${error}`)]);
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

describe('rate limits answered in the body', () => {
  it.each([
    ['wecom', { status: 200, body: '{"errcode":45009,"errmsg":"api freq out of limit"}' }, 'errcode 45009'],
    ['dingtalk', { status: 200, body: '{"errcode":130101,"errmsg":"send too fast, exceed 20 times per minute"}' }, 'errcode 130101'],
    ['feishu', { status: 400, body: '{"code":9499,"msg":"too many request","data":{}}' }, 'code 9499'],
  ] as const)('%s: %j is retried after the backoff, and the second try delivers', async (kind, limited, named) => {
    const s = await server((_r, n) => (n === 0 ? limited : OK_BY_KIND[kind]));
    const log = recorder();
    const sent = await notify([entry(kind)], failedBackup(), { env: { [`${kind.toUpperCase()}_URL`]: s.url('/hook?access_token=t0123456789') }, log, tuning: FAST });
    expect(s.requests).toHaveLength(2);
    expect(sent[0]).toMatchObject({ delivered: true, attempts: 2, error: null });
    expect(log.infos.join('\n')).toContain(`try 1 of 3 failed (rate limited (${named}`);
    expect(log.warns).toEqual([]);
  });

  it.each([
    ['wecom', { status: 200, body: '{"errcode":93000,"errmsg":"invalid webhook url"}' }, 'errcode 93000: invalid webhook url (after 1 try)'],
    ['dingtalk', { status: 200, body: '{"errcode":310000,"errmsg":"keywords not in content"}' }, 'errcode 310000: keywords not in content (after 1 try)'],
    ['feishu', { status: 400, body: '{"code":19021,"msg":"sign match fail or timestamp is not within one hour from current time"}' }, 'HTTP 400: {"code":19021,'],
    ['feishu', { status: 200, body: '{"code":19024,"msg":"Key Words Not Found"}' }, 'code 19024: Key Words Not Found (after 1 try)'],
  ] as const)('%s: any other refusal (%j) is final: one try, a warning', async (kind, answer, error) => {
    const s = await server(() => answer);
    const log = recorder();
    const sent = await notify([entry(kind)], failedBackup(), { env: { [`${kind.toUpperCase()}_URL`]: s.url('/hook') }, log, tuning: FAST });
    expect(s.requests).toHaveLength(1);
    expect(sent[0]).toMatchObject({ delivered: false, attempts: 1 });
    expect(sent[0]!.error).toContain(error);
    expect(log.warns).toHaveLength(1);
  });
});

describe('backoff between tries', () => {
  // The one place a lower bound on time is the thing under test: the waits themselves.
  it('with backoffMs 200 and 3 tries, the tries arrive at least 200 ms, then at least 400 ms apart', async () => {
    const s = await server(() => ({ status: 503, body: 'busy' }));
    const sent = await notify([entry('wecom')], failedBackup(), { env: { WECOM_URL: s.url('/w') }, log: recorder(), tuning: { timeoutMs: 2000, tries: 3, backoffMs: 200 } });
    expect(sent[0]).toMatchObject({ delivered: false, attempts: 3 });
    const [a, b, c] = s.requests.map((r) => r.at) as [number, number, number];
    expect(b - a).toBeGreaterThanOrEqual(200);
    expect(c - b).toBeGreaterThanOrEqual(400);
  });

  it("the defaults are the README's: a 10 s timeout per request, retried twice, after 1 s and 2 s", () => {
    expect(DEFAULT_TUNING).toEqual({ timeoutMs: 10_000, tries: 3, backoffMs: 1_000 });
    const readme = readFileSync(path.join(REPO, 'README.md'), 'utf8');
    // timeoutMs 10000 is "a 10 s timeout"; tries 3 are the first try and two retries; backoffMs 1000,
    // doubled before each further try (the test above), waits 1 s and then 2 s.
    expect(readme).toContain('Each request has a 10 s timeout');
    expect(readme).toContain('are retried twice (after 1 s and 2 s)');
  });
});

/**
 * A failed run whose every field is long Chinese text (3 bytes a character), with "&", "<", ">"
 * for Slack's escapes, six failed checks and a report path long enough to pass even DingTalk's and
 * Feishu's 20000-byte bodies: really over every kind's limit.
 */
function oversized(): RunResult {
  const zh = (s: string, n: number) => s.repeat(n);
  return failedBackup({
    message: `pg_dump 失败：${zh('服务器在转储期间意外关闭了连接，', 40)}`,
    error: {
      code: 'postgres.dump_failed',
      message: `pg_dump 失败：${zh('服务器在转储期间意外关闭了连接，', 40)}:\n  pg_dump: 错误`,
      hint: zh('请检查 <pg_hba.conf> & 服务器日志，确认数据库在转储期间没有重启；', 20),
      stderr_tail: [zh('pg_dump: 错误: 表 "日线行情" 的数据转储失败 & <连接中断> ', 15), zh('pg_dump: 错误: 服务器意外关闭了连接 ', 15), zh('pg_dump: 详细信息: 正在转储表 "分钟行情" ', 15)],
    },
    checks: Array.from({ length: 6 }, (_, i) => ({ name: `检查项 ${i}`, result: 'failed' as const, detail: zh(`磁盘空间不足 <根目录> & 备份目录 ${i} 无法写入，`, 30) })),
    report_path: `/opt/备份/${zh('日志目录/', 1700)}20261126_000003-backup-4242.json`,
  });
}

function expectFitted(text: string, link: string | null): void {
  expect(text).toContain('pgtaos-backup backup FAILED on runner-1');
  expect(text).toContain('[postgres.dump_failed]'); // the error code survives the cut
  for (const label of ['result', 'error', 'stderr', 'what to do', 'failed: 检查项 0', 'failed: 检查项 3', 'more', 'free space', 'report']) expect(text).toContain(label);
  expect(text).toContain('2 more failed checks in the report');
  expect(text).toContain('…');
  if (link) expect(text.trimEnd().endsWith(link)).toBe(true);
  // Markup is never cut in half: every code span closed, no lone surrogate.
  expect(text.split('`').length % 2).toBe(1);
  expect(text).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/);
}

describe('message size: content really over each limit is cut in the values, never the link', () => {
  const fieldBytes = () => chatMessage(oversized()).fields.reduce((a, f) => a + utf8Bytes(f.value), 0);

  it('the input is over every limit', () => {
    expect(fieldBytes()).toBeGreaterThan(LIMITS.dingtalkBodyBytes);
    expect(chatMessage(oversized()).fields.reduce((a, f) => a + f.value.length, 0)).toBeGreaterThan(LIMITS.slackSectionChars);
  });

  it(`wecom: content <= ${LIMITS.wecomContentBytes} bytes of UTF-8, ending with the run link`, async () => {
    const s = await server(() => OK_BY_KIND.wecom);
    await notify([entry('wecom')], oversized(), { env: { WECOM_URL: s.url('/w') }, log: recorder(), tuning: FAST });
    const content = (s.requests[0]!.json() as { markdown: { content: string } }).markdown.content;
    expect(utf8Bytes(content)).toBeLessThanOrEqual(LIMITS.wecomContentBytes);
    expect(utf8Bytes(content)).toBeGreaterThan(LIMITS.wecomContentBytes - 64); // the room is used, not thrown away
    expectFitted(content, '[Open the run](https://github.com/mystocks/ops/actions/runs/42)');
  });

  it(`dingtalk: the body <= ${LIMITS.dingtalkBodyBytes} bytes, the text ending with the run link`, async () => {
    const s = await server(() => OK_BY_KIND.dingtalk);
    await notify([entry('dingtalk', { secret_env: 'DING_SECRET' })], oversized(), { env: { DINGTALK_URL: s.url('/robot/send?access_token=t'), DING_SECRET: 'SECxyz0123456789' }, log: recorder(), tuning: FAST });
    const r = s.requests[0]!;
    expect(Buffer.byteLength(r.body)).toBeLessThanOrEqual(LIMITS.dingtalkBodyBytes);
    expect(Buffer.byteLength(r.body)).toBeGreaterThan(LIMITS.dingtalkBodyBytes - 64);
    const body = r.json() as { markdown: { title: string; text: string } };
    expect(body.markdown.title).toContain('pgtaos-backup backup FAILED');
    expectFitted(body.markdown.text, '[Open the run](https://github.com/mystocks/ops/actions/runs/42)');
  });

  it(`feishu (signed): the body <= ${LIMITS.feishuBodyBytes} bytes, the card ending with the run link`, async () => {
    const s = await server(() => OK_BY_KIND.feishu);
    await notify([entry('feishu', { secret_env: 'FEISHU_SECRET' })], oversized(), {
      env: { FEISHU_URL: s.url('/f'), FEISHU_SECRET: FEISHU_VECTOR.secret },
      log: recorder(),
      tuning: FAST,
      now: () => new Date(Number(FEISHU_VECTOR.timestampS) * 1000),
    });
    const r = s.requests[0]!;
    expect(Buffer.byteLength(r.body)).toBeLessThanOrEqual(LIMITS.feishuBodyBytes);
    expect(Buffer.byteLength(r.body)).toBeGreaterThan(LIMITS.feishuBodyBytes - 64);
    const body = r.json() as { timestamp: string; sign: string; card: { header: { title: { content: string } }; elements: { text: { content: string } }[] } };
    // The cut body still carries the signature (the known answer: it signs the timestamp, not the body).
    expect(body.timestamp).toBe(FEISHU_VECTOR.timestampS);
    expect(body.sign).toBe(FEISHU_VECTOR.sign);
    expectFitted(`${body.card.header.title.content}\n${body.card.elements[0]!.text.content}`, '[Open the run](https://github.com/mystocks/ops/actions/runs/42)');
  });

  it(`slack: section <= ${LIMITS.slackSectionChars} characters after escaping, no entity cut in half, header <= ${LIMITS.slackHeaderChars}; the link block intact`, async () => {
    const s = await server(() => OK_BY_KIND.slack);
    await notify([entry('slack')], oversized(), { env: { SLACK_URL: s.url('/services/x') }, log: recorder(), tuning: FAST });
    const body = s.requests[0]!.json() as { text: string; blocks: { type: string; text?: { text: string }; elements?: { text: string }[] }[] };
    const section = body.blocks[1]!.text!.text;
    expect(section.length).toBeLessThanOrEqual(LIMITS.slackSectionChars);
    expect(section.length).toBeGreaterThan(LIMITS.slackSectionChars - 32);
    expectFitted(`${body.blocks[0]!.text!.text}\n${section}`, null);
    expect(section).toContain('&lt;');
    expect(section).toContain('&amp;');
    expect(section).not.toMatch(/&(?!amp;|lt;|gt;)/);
    expect(body.blocks[0]!.text!.text.length).toBeLessThanOrEqual(LIMITS.slackHeaderChars);
    expect(body.blocks[2]!.elements![0]!.text).toBe('<https://github.com/mystocks/ops/actions/runs/42|Open the run>');
    expect(body.text.length).toBeLessThanOrEqual(LIMITS.slackSectionChars);
    expect(body.text).not.toMatch(/&(?!amp;|lt;|gt;)|[<>]/);
  });
});

describe('clipTo and fitValues', () => {
  it('clipTo cuts whole code points with "…" inside the limit, in the measure given', () => {
    expect(clipTo('short', 10)).toBe('short');
    expect(clipTo('😀'.repeat(10), 9)).toBe('😀…'); // 4 + 3 bytes; never half an emoji
    expect(clipTo('磁盘空间不足', 10)).toBe('磁盘…'); // 3 + 3 + 3 bytes
    expect(utf8Bytes(clipTo('磁盘空间不足'.repeat(100), 4096))).toBeLessThanOrEqual(4096);
    expect(clipTo('a"b"c"d', 6, jsonBytes)).toBe('a"…'); // a \" … in JSON: 1 + 2 + 3
    expect(clipTo('abc', 2)).toBe('');
  });

  it('fitValues keeps short values whole and shares what is left among the long ones', () => {
    const out = fitValues(['ok', 'x'.repeat(100), 'y'.repeat(100), 'tiny'], 60, utf8Bytes);
    expect(out[0]).toBe('ok');
    expect(out[3]).toBe('tiny');
    expect(out[1]).toMatch(/^x+…$/);
    expect(out[2]).toMatch(/^y+…$/);
    expect(out.reduce((a, v) => a + utf8Bytes(v), 0)).toBeLessThanOrEqual(60);
    expect(Math.abs(utf8Bytes(out[1]!) - utf8Bytes(out[2]!))).toBeLessThanOrEqual(1);
    expect(fitValues(['a', 'b'], 10, utf8Bytes)).toEqual(['a', 'b']);
  });
});
