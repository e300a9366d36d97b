/**
 * Notifications: after a run, each `notify:` entry whose `on` matches the run's events gets one
 * message. The payload shapes follow each service's documentation (README, "Reports and
 * notifications", names the pages):
 *
 *   wecom     WeCom group robot        {"msgtype":"markdown","markdown":{"content"}}        (content <= 4096 bytes)
 *   dingtalk  DingTalk custom robot    {"msgtype":"markdown","markdown":{"title","text"}}    signed: &timestamp=<ms>&sign=<urlencoded base64 HMAC-SHA256(secret, "<ms>\n<secret>")>
 *   feishu    Feishu/Lark custom bot   {"msg_type":"interactive","card":{...}}               signed: "timestamp" (s) and "sign" = base64 HMAC-SHA256(key "<s>\n<secret>", empty message) in the body
 *   slack     Slack incoming webhook   {"text", "blocks"}
 *   generic   any HTTP endpoint        the JSON report itself; with secret_env, X-Pgtaos-Signature-256: sha256=<hex HMAC of the body>
 *
 * A message that would pass a kind's size limit (LIMITS) has its field values cut, never the
 * title, the labels or the link to the run.
 *
 * Delivery never changes the run's outcome: a webhook that fails is retried with backoff
 * (network errors, timeouts, 429, 5xx and the services' rate-limit codes), each try has a
 * timeout, and in the end a failure is a warning. Webhook URLs carry tokens: they are masked like
 * passwords and never printed; a webhook is named by its kind and the variable that holds its URL.
 */
import { createHmac } from 'node:crypto';
import type { NotifyConfig } from '../inputs/config-schema.js';
import { formatBytes, formatDuration } from '../shared/format.js';
import { TOOL_NAME, TOOL_VERSION } from '../version.js';
import type { Notification, NotifyEvent, RunResult } from './result.js';
import { pauseUnlessStopped } from '../shared/async.js';

export type NotifyKind = NotifyConfig['kind'];
export type Trigger = Notification['trigger'];

/** How hard to try. Tests shorten these. */
export interface NotifyTuning {
  /** Per request, including reading the answer. */
  timeoutMs: number;
  /** Tries per webhook (1 = no retry). */
  tries: number;
  /** Wait before try n+1: backoffMs * 2^(n-1). */
  backoffMs: number;
}

export const DEFAULT_TUNING: NotifyTuning = { timeoutMs: 10_000, tries: 3, backoffMs: 1_000 };
/** A cancelled run has about 7 s before the runner's SIGTERM: one short try each. */
export const CANCELLED_TUNING: NotifyTuning = { timeoutMs: 3_000, tries: 1, backoffMs: 0 };

/** Where notify logs (a RunLog: it masks the URLs). */
export interface NotifyLog {
  info(line: string): void;
  warn(line: string): void;
}

/**
 * Size limits, as each service documents or answers them (README, "Payload of each kind"):
 *  - WeCom: markdown.content at most 4096 bytes of UTF-8 (群机器人配置说明; past it errcode 40058
 *    "markdown.content exceed max length 4096").
 *  - DingTalk: the request body at most 20000 bytes (errcode 460101 "message too long, exceed
 *    20000 bytes").
 *  - Feishu: the request body at most 20 KB (自定义机器人使用指南, 使用限制); 20000 bytes here.
 *  - Slack: section text at most 3000 characters, header text at most 150 (Block Kit reference).
 */
export const LIMITS = {
  wecomContentBytes: 4096,
  dingtalkBodyBytes: 20_000,
  feishuBodyBytes: 20_000,
  slackSectionChars: 3000,
  slackHeaderChars: 150,
} as const;
/** A message is meant to fit on one phone screen. */
const MAX_VALUE = 300;
const MAX_DETAIL = 240;
const MAX_TITLE = 200;
const MAX_LABEL = 80;
const MAX_CHECKS = 4;
const STDERR_LINES = 3;

export function eventsOf(r: Pick<RunResult, 'status' | 'stale'>): NotifyEvent[] {
  return [r.status === 'success' ? 'success' : 'failure', ...(r.stale.length ? (['stale'] as const) : [])];
}

/** The trigger that makes this entry fire for these events, or null. `stale` is named first: it is the more specific news. */
export function triggerFor(entry: Pick<NotifyConfig, 'on'>, events: readonly NotifyEvent[]): Trigger | null {
  for (const e of ['stale', 'failure', 'success'] as const) if (events.includes(e) && entry.on.includes(e)) return e;
  return entry.on.includes('always') ? 'always' : null;
}

/** Values to mask: each webhook URL and signing secret, and the token-like parts of the URLs. */
export function webhookSecrets(entries: readonly NotifyConfig[], env: NodeJS.ProcessEnv): string[] {
  const out: string[] = [];
  for (const e of entries) {
    const url = env[e.url_env]?.trim();
    if (url) {
      out.push(url);
      try {
        const u = new URL(url);
        for (const v of u.searchParams.values()) if (v.length >= 8) out.push(v, encodeURIComponent(v));
        for (const seg of u.pathname.split('/')) if (seg.length >= 16) out.push(seg);
      } catch {
        // Not a URL: masked whole above; deliver() says it is not a URL.
      }
    }
    const secret = e.secret_env ? env[e.secret_env]?.trim() : undefined;
    if (secret) out.push(secret);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Sizes: each service counts differently, so the fitting takes the measure as an argument.

export type Size = (s: string) => number;
export const utf8Bytes: Size = (s) => Buffer.byteLength(s, 'utf8');
/** Bytes a string takes inside a JSON document, quotes not counted (escapes are per character, so sizes add up). */
export const jsonBytes: Size = (s) => Buffer.byteLength(JSON.stringify(s), 'utf8') - 2;
const slackEscape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
/** Slack counts characters of the escaped text; UTF-16 units are at least that many. */
const slackChars: Size = (s) => slackEscape(s).length;

/** `s`, or its longest start (whole code points, so never half an emoji) that fits `max` with "…" added. */
export function clipTo(s: string, max: number, size: Size = utf8Bytes): string {
  if (size(s) <= max) return s;
  const cps = Array.from(s);
  let lo = 0;
  let hi = cps.length - 1;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (size(`${cps.slice(0, mid).join('')}…`) <= max) lo = mid;
    else hi = mid - 1;
  }
  const out = `${cps.slice(0, lo).join('').trimEnd()}…`;
  return size(out) <= max ? out : '';
}

/**
 * Shortens values so that their sizes add up to at most `budget`: values under an equal share stay
 * whole, the longest are cut to what is left shared equally (water-filling), so every field keeps
 * its beginning and none crowds the others out.
 */
export function fitValues(values: readonly string[], budget: number, size: Size): string[] {
  const out = [...values];
  const order = values.map((v, i) => ({ i, n: size(v) })).sort((a, b) => a.n - b.n);
  let left = Math.max(0, budget);
  order.forEach(({ i, n }, k) => {
    const share = Math.floor(left / (order.length - k));
    if (n > share) out[i] = clipTo(values[i]!, share, size);
    left -= size(out[i]!);
  });
  return out;
}

/**
 * Renders a message whose parts outside the field values (title, labels, markup, the run link) are
 * fixed, with the values fitted into what the limit leaves: the link always survives, and markup
 * is never cut in half. `render` must be additive in the values under `size`.
 */
function fitted<T>(m: ChatMessage, limit: number, size: Size, total: (x: T) => number, render: (m: ChatMessage) => T): T {
  const blank = render({ ...m, fields: m.fields.map((f) => ({ ...f, value: '' })) });
  const values = fitValues(m.fields.map((f) => f.value), limit - total(blank), size);
  return render({ ...m, fields: m.fields.map((f, i) => ({ ...f, value: values[i]! })) });
}

// ---------------------------------------------------------------------------------------------
// The message: one screen, the same facts for every chat kind.

export interface ChatField {
  label: string;
  value: string;
  /** Tool output: shown as code. */
  code?: boolean;
  /** Kept whole after the value, however short the value is cut (the error code). */
  suffix?: string;
}

export interface ChatMessage {
  tone: 'success' | 'failure' | 'stale';
  /** Plain text, e.g. "❌ pgtaos-backup backup failed on runner-1". */
  title: string;
  fields: ChatField[];
  /** The Actions run, when there is one. */
  link: string | null;
}

function oneLine(s: string, max = MAX_VALUE): string {
  const flat = s.replace(/\s*\n\s*/g, ' ').trim();
  return clipTo(flat, max, (x) => x.length);
}

export function chatMessage(r: RunResult): ChatMessage {
  const stale = r.stale.length > 0;
  const tone: ChatMessage['tone'] = r.status !== 'success' && !stale ? 'failure' : stale ? 'stale' : 'success';
  const verb = r.status === 'success' ? 'succeeded' : r.status === 'cancelled' ? 'was cancelled' : 'FAILED';
  const icon = r.status === 'success' ? (stale ? '⚠️' : '✅') : r.status === 'cancelled' ? '⏹️' : stale ? '⚠️' : '❌';
  const title = oneLine(`${icon} ${TOOL_NAME} ${r.command || 'run'} ${verb}${stale ? ': backups are stale' : ''} on ${r.hostname}`, MAX_TITLE);
  const fields: ChatField[] = [];
  fields.push({ label: 'result', value: `${r.status} (exit ${r.exit_code}) in ${formatDuration(r.duration_ms)}` });
  if (r.set) fields.push({ label: 'set', value: `${r.set.id} (${r.set.kind}, ${formatBytes(r.set.bytes)})`, code: true });
  if (r.error) {
    const [first] = r.error.message.split('\n');
    // "pg_dump failed (exit 1):" introduces the stderr lines, shown just below.
    const code = ` [${r.error.code}]`;
    fields.push({ label: 'error', value: oneLine((first ?? '').replace(/:\s*$/, ''), MAX_VALUE - code.length), suffix: code });
    const tail = (r.error.stderr_tail ?? []).slice(-STDERR_LINES);
    if (tail.length) fields.push({ label: 'stderr', value: oneLine(tail.join(' | ')), code: true });
    if (r.error.hint) fields.push({ label: 'what to do', value: oneLine(r.error.hint) });
  }
  const failedChecks = r.checks.filter((c) => c.result === 'failed');
  for (const c of failedChecks.slice(0, MAX_CHECKS)) {
    fields.push({ label: oneLine(r.stale.includes(c.name) ? `stale: ${c.name}` : `failed: ${c.name}`, MAX_LABEL), value: oneLine(c.detail, MAX_DETAIL) });
  }
  if (failedChecks.length > MAX_CHECKS) fields.push({ label: 'more', value: `${failedChecks.length - MAX_CHECKS} more failed checks in the report` });
  if (!r.error && failedChecks.length === 0) fields.push({ label: 'summary', value: oneLine(r.message) });
  if (r.storage?.free_bytes != null) {
    const days = r.storage.days_of_dailies;
    fields.push({ label: 'free space', value: `${formatBytes(r.storage.free_bytes)}${days === null ? '' : `, about ${days} more days of dailies fit`}` });
  }
  if (r.report_path) fields.push({ label: 'report', value: r.report_path, code: true });
  return { tone, title, fields, link: r.run_url };
}

// ---------------------------------------------------------------------------------------------
// Payloads per kind.

export interface WebhookRequest {
  url: string;
  body: string;
  headers: Record<string, string>;
}

/** DingTalk and Feishu signatures, as their documentation computes them. */
export function dingtalkSign(secret: string, timestampMs: string): string {
  return createHmac('sha256', secret).update(`${timestampMs}\n${secret}`, 'utf8').digest('base64');
}

export function feishuSign(secret: string, timestampS: string): string {
  return createHmac('sha256', `${timestampS}\n${secret}`).update('', 'utf8').digest('base64');
}

export function genericSignature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;
}

const md = (f: ChatField) => `${f.code ? `\`${f.value.replace(/`/g, "'")}\`` : f.value}${f.suffix ?? ''}`;

function wecomContent(m: ChatMessage): string {
  const color = m.tone === 'success' ? 'info' : 'warning';
  const lines = [`**<font color="${color}">${m.title}</font>**`, ...m.fields.map((f) => `> **${f.label}:** ${md(f)}`)];
  if (m.link) lines.push(`[Open the run](${m.link})`);
  return lines.join('\n');
}

export function wecomBody(m: ChatMessage): unknown {
  return { msgtype: 'markdown', markdown: { content: fitted(m, LIMITS.wecomContentBytes, utf8Bytes, utf8Bytes, wecomContent) } };
}

function dingtalkJson(m: ChatMessage): string {
  const lines = [`### ${m.title}`, '', ...m.fields.map((f) => `- **${f.label}:** ${md(f)}`)];
  if (m.link) lines.push('', `[Open the run](${m.link})`);
  return JSON.stringify({ msgtype: 'markdown', markdown: { title: m.title, text: lines.join('\n') } });
}

/** The body as sent (JSON text): the limit is on the whole body. */
export function dingtalkBody(m: ChatMessage): string {
  return fitted(m, LIMITS.dingtalkBodyBytes, jsonBytes, utf8Bytes, dingtalkJson);
}

export interface FeishuSigning {
  timestamp: string;
  sign: string;
}

function feishuJson(m: ChatMessage, signing: FeishuSigning | undefined): string {
  const template = m.tone === 'success' ? 'green' : m.tone === 'stale' ? 'orange' : 'red';
  const lines = m.fields.map((f) => `**${f.label}:** ${md(f)}`);
  if (m.link) lines.push(`[Open the run](${m.link})`);
  return JSON.stringify({
    ...(signing ? { timestamp: signing.timestamp, sign: signing.sign } : {}),
    msg_type: 'interactive',
    card: {
      config: { wide_screen_mode: true },
      header: { template, title: { tag: 'plain_text', content: m.title } },
      elements: [{ tag: 'div', text: { tag: 'lark_md', content: lines.join('\n') } }],
    },
  });
}

/** The body as sent (JSON text), signed when `signing` is given: the limit is on the whole body. */
export function feishuBody(m: ChatMessage, signing?: FeishuSigning): string {
  return fitted(m, LIMITS.feishuBodyBytes, jsonBytes, utf8Bytes, (x) => feishuJson(x, signing));
}

function slackSection(m: ChatMessage): string {
  return m.fields.map((f) => `*${slackEscape(f.label)}:* ${f.code ? `\`${slackEscape(f.value.replace(/`/g, "'"))}\`` : slackEscape(f.value)}${slackEscape(f.suffix ?? '')}`).join('\n');
}

export function slackBody(m: ChatMessage): unknown {
  const section = fitted(m, LIMITS.slackSectionChars, slackChars, (s) => s.length, slackSection);
  const blocks: unknown[] = [
    { type: 'header', text: { type: 'plain_text', text: clipTo(m.title, LIMITS.slackHeaderChars, (s) => s.length), emoji: true } },
    { type: 'section', text: { type: 'mrkdwn', text: section } },
  ];
  if (m.link) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `<${m.link}|Open the run>` }] });
  // `text` is the notification fallback (and what screen readers read).
  const fallback = clipTo(`${m.title}: ${m.fields.map((f) => `${f.label}: ${f.value}${f.suffix ?? ''}`).join('; ')}`, LIMITS.slackSectionChars, slackChars);
  return { text: slackEscape(fallback), blocks };
}

export function buildRequest(kind: NotifyKind, url: string, secret: string | undefined, result: RunResult, now: Date): WebhookRequest {
  const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8', 'user-agent': `${TOOL_NAME}/${TOOL_VERSION}` };
  const m = chatMessage(result);
  switch (kind) {
    case 'wecom':
      return { url, body: JSON.stringify(wecomBody(m)), headers };
    case 'dingtalk': {
      const u = new URL(url);
      if (secret) {
        const ts = String(now.getTime());
        // URLSearchParams encodes the Base64 "+", "/" and "=" (%2B, %2F, %3D), as DingTalk's urlEncode step asks.
        u.searchParams.set('timestamp', ts);
        u.searchParams.set('sign', dingtalkSign(secret, ts));
      }
      return { url: u.toString(), body: dingtalkBody(m), headers };
    }
    case 'feishu': {
      const ts = String(Math.floor(now.getTime() / 1000));
      return { url, body: feishuBody(m, secret ? { timestamp: ts, sign: feishuSign(secret, ts) } : undefined), headers };
    }
    case 'slack':
      return { url, body: JSON.stringify(slackBody(m)), headers };
    case 'generic': {
      const body = JSON.stringify(result);
      const events = eventsOf(result).join(',');
      return { url, body, headers: { ...headers, 'x-pgtaos-event': events, ...(secret ? { 'x-pgtaos-signature-256': genericSignature(secret, body) } : {}) } };
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Delivery.

/**
 * Codes a service answers when a robot sends too fast; the answer is often HTTP 200 (Feishu's is
 * HTTP 400), so the body is read whatever the status. Worth another try after the backoff:
 *  - WeCom 45009 "api freq out of limit" (群机器人配置说明: at most 20 messages a minute per robot);
 *  - DingTalk 130101 "send too fast, exceed 20 times per minute" (then throttled for 10 minutes);
 *  - Feishu 9499 "too many request".
 */
export const RATE_LIMIT_CODES: Readonly<Record<'wecom' | 'dingtalk' | 'feishu', readonly number[]>> = {
  wecom: [45009],
  dingtalk: [130101],
  feishu: [9499],
};

export type Verdict = { ok: true } | { ok: false; retry: boolean; error: string };

function answerCode(kind: 'wecom' | 'dingtalk' | 'feishu', o: Record<string, unknown>): { code: unknown; msg: string } {
  if (kind === 'feishu') return { code: o.code ?? o.StatusCode, msg: String(o.msg ?? o.StatusMessage ?? '') };
  return { code: o.errcode, msg: String(o.errmsg ?? '') };
}

/**
 * What an answer means: WeCom and DingTalk accept with {"errcode":0}, Feishu with {"code":0}, Slack
 * and generic with any 2xx. Rate limits, 429 and 5xx are retried; any other refusal is final.
 */
export function judgeAnswer(kind: NotifyKind, status: number, text: string): Verdict {
  const http = `HTTP ${status}${text ? `: ${oneLine(text, 160)}` : ''}`;
  if (kind !== 'slack' && kind !== 'generic') {
    let body: Record<string, unknown> | null;
    try {
      const j: unknown = JSON.parse(text);
      body = typeof j === 'object' && j !== null ? (j as Record<string, unknown>) : {};
    } catch {
      body = null;
    }
    const a = body ? answerCode(kind, body) : null;
    const codeName = kind === 'feishu' ? 'code' : 'errcode';
    if (a && typeof a.code === 'number' && RATE_LIMIT_CODES[kind].includes(a.code)) {
      return { ok: false, retry: true, error: `rate limited (${codeName} ${a.code}: ${oneLine(a.msg, 160)})` };
    }
    if (status >= 200 && status < 300) {
      if (!a) return { ok: false, retry: false, error: `the answer is not JSON: ${oneLine(text, 120)}` };
      return a.code === 0 ? { ok: true } : { ok: false, retry: false, error: `${codeName} ${String(a.code)}: ${oneLine(a.msg, 160)}` };
    }
  }
  if (status === 429 || status >= 500) return { ok: false, retry: true, error: http };
  if (status < 200 || status >= 300) return { ok: false, retry: false, error: http };
  return { ok: true };
}

class Retryable extends Error {}

function describeFetchError(err: unknown, timeoutMs: number): string {
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) {
    return err.name === 'TimeoutError' ? `no answer within ${formatDuration(timeoutMs)}` : 'stopped (the run was cancelled)';
  }
  if (err instanceof Error) {
    const cause = (err as { cause?: unknown }).cause;
    const c = cause instanceof Error ? `: ${(cause as NodeJS.ErrnoException).code ?? cause.message}` : '';
    return `${err.message}${c}`;
  }
  return String(err);
}

async function attempt(kind: NotifyKind, req: WebhookRequest, tuning: NotifyTuning, stop: AbortSignal | undefined, fetchImpl: typeof fetch): Promise<void> {
  const timeout = AbortSignal.timeout(tuning.timeoutMs);
  // AbortSignal.any: Node 20.3+; on older Node the per-request timeout alone still bounds the try.
  const signal = stop && typeof AbortSignal.any === 'function' ? AbortSignal.any([timeout, stop]) : timeout;
  let res: Response;
  let text: string;
  try {
    res = await fetchImpl(req.url, { method: 'POST', headers: req.headers, body: req.body, signal, redirect: 'error' });
    text = (await res.text()).slice(0, 4096);
  } catch (err) {
    if (stop?.aborted) throw new Error(describeFetchError(err, tuning.timeoutMs), { cause: err });
    throw new Retryable(describeFetchError(err, tuning.timeoutMs));
  }
  const verdict = judgeAnswer(kind, res.status, text);
  if (!verdict.ok) throw verdict.retry ? new Retryable(verdict.error) : new Error(verdict.error);
}

export interface NotifyOptions {
  env: NodeJS.ProcessEnv;
  log: NotifyLog;
  tuning?: Partial<NotifyTuning>;
  /** Aborted when the run must finish now (a second signal): pending tries stop. */
  stop?: AbortSignal;
  now?: () => Date;
  fetch?: typeof fetch;
}

/** Sends one message per matching entry, all at once; resolves when every one is delivered or given up. Never throws. */
export async function notify(entries: readonly NotifyConfig[], result: RunResult, opts: NotifyOptions): Promise<Notification[]> {
  const events = eventsOf(result);
  const tuning: NotifyTuning = { ...(result.status === 'cancelled' ? CANCELLED_TUNING : DEFAULT_TUNING), ...opts.tuning };
  const fetchImpl = opts.fetch ?? fetch;
  const now = opts.now ?? (() => new Date());
  const jobs = entries.map(async (entry): Promise<Notification | null> => {
    const trigger = triggerFor(entry, events);
    if (!trigger) return null;
    const name = `${entry.kind} webhook (${entry.url_env})`;
    const out: Notification = { kind: entry.kind, url_env: entry.url_env, trigger, delivered: false, attempts: 0, error: null };
    const give = (error: string): Notification => {
      opts.log.warn(`notification not sent: ${name}: ${error}; the run's result is unchanged`);
      return { ...out, error };
    };
    const url = opts.env[entry.url_env]?.trim();
    if (!url) return give(`the environment variable ${entry.url_env} is not set or empty (it must hold the webhook URL; in Actions map a secret to it with env:)`);
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return give(`${entry.url_env} does not hold a URL`);
    }
    if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return give(`${entry.url_env} is not an http(s) URL`);
    const secret = entry.secret_env ? opts.env[entry.secret_env]?.trim() || undefined : undefined;
    if (entry.secret_env && !secret) opts.log.warn(`${name}: secret_env ${entry.secret_env} is not set or empty; sending unsigned (a robot with signing on will refuse it)`);
    if (secret && (entry.kind === 'wecom' || entry.kind === 'slack')) opts.log.warn(`${name}: ${entry.kind} webhooks are not signed; secret_env ${entry.secret_env} is ignored`);
    let last = '';
    for (let n = 1; n <= tuning.tries; n++) {
      if (n > 1 && opts.stop?.aborted) break;
      out.attempts = n;
      try {
        // Signed requests are built per try: DingTalk refuses a timestamp more than an hour old.
        await attempt(entry.kind, buildRequest(entry.kind, url, secret, result, now()), tuning, opts.stop, fetchImpl);
        opts.log.info(`notified ${name} (${trigger})${n > 1 ? ` on try ${n}` : ''}`);
        return { ...out, delivered: true };
      } catch (err) {
        last = err instanceof Error ? err.message : String(err);
        if (!(err instanceof Retryable) || n === tuning.tries || opts.stop?.aborted) break;
        opts.log.info(`${name}: try ${n} of ${tuning.tries} failed (${last}); trying again`);
        await pauseUnlessStopped(tuning.backoffMs * 2 ** (n - 1), opts.stop);
      }
    }
    return give(`${last} (after ${out.attempts} ${out.attempts === 1 ? 'try' : 'tries'})`);
  });
  const settled = await Promise.all(jobs.map((j) => j.catch((err: unknown): null => {
    opts.log.warn(`notification failed unexpectedly: ${err instanceof Error ? err.message : String(err)}`);
    return null;
  })));
  return settled.filter((n): n is Notification => n !== null);
}
