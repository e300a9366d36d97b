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
 * Delivery never changes the run's outcome: a webhook that fails is retried with backoff
 * (network errors, timeouts, 429 and 5xx), each try has a timeout, and in the end a failure is a
 * warning. Webhook URLs carry tokens: they are masked like passwords and never printed; a webhook
 * is named by its kind and the variable that holds its URL.
 */
import { createHmac } from 'node:crypto';
import type { NotifyConfig } from '../inputs/config-schema.js';
import { formatBytes, formatDuration } from '../catalog/time.js';
import { TOOL_NAME, TOOL_VERSION } from '../version.js';
import type { Notification, NotifyEvent, RunResult } from './result.js';

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

/** WeCom's limit for markdown content, in UTF-8 bytes. */
const WECOM_MAX_BYTES = 4096;
/** Slack: header text <= 150 chars, section text <= 3000. */
const SLACK_HEADER_MAX = 150;
const SLACK_SECTION_MAX = 3000;
/** A message is meant to fit on one phone screen. */
const MAX_VALUE = 300;
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
// The message: one screen, the same facts for every chat kind.

export interface ChatField {
  label: string;
  value: string;
  /** Tool output: shown as code. */
  code?: boolean;
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
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

export function chatMessage(r: RunResult): ChatMessage {
  const stale = r.stale.length > 0;
  const tone: ChatMessage['tone'] = r.status !== 'success' && !stale ? 'failure' : stale ? 'stale' : 'success';
  const verb = r.status === 'success' ? 'succeeded' : r.status === 'cancelled' ? 'was cancelled' : 'FAILED';
  const icon = r.status === 'success' ? (stale ? '⚠️' : '✅') : r.status === 'cancelled' ? '⏹️' : stale ? '⚠️' : '❌';
  const title = `${icon} ${TOOL_NAME} ${r.command || 'run'} ${verb}${stale ? ': backups are stale' : ''} on ${r.hostname}`;
  const fields: ChatField[] = [];
  fields.push({ label: 'result', value: `${r.status} (exit ${r.exit_code}) in ${formatDuration(r.duration_ms)}` });
  if (r.set) fields.push({ label: 'set', value: `${r.set.id} (${r.set.kind}, ${formatBytes(r.set.bytes)})`, code: true });
  if (r.error) {
    const [first] = r.error.message.split('\n');
    // "pg_dump failed (exit 1):" introduces the stderr lines, shown just below.
    fields.push({ label: 'error', value: oneLine(`${(first ?? '').replace(/:\s*$/, '')} [${r.error.code}]`) });
    const tail = (r.error.stderr_tail ?? []).slice(-STDERR_LINES);
    if (tail.length) fields.push({ label: 'stderr', value: oneLine(tail.join(' | ')), code: true });
    if (r.error.hint) fields.push({ label: 'what to do', value: oneLine(r.error.hint) });
  }
  const failedChecks = r.checks.filter((c) => c.result === 'failed');
  for (const c of failedChecks.slice(0, MAX_CHECKS)) {
    fields.push({ label: r.stale.includes(c.name) ? `stale: ${c.name}` : `failed: ${c.name}`, value: oneLine(c.detail, 240) });
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

function clipBytes(s: string, max: number): string {
  if (Buffer.byteLength(s, 'utf8') <= max) return s;
  let out = s;
  while (Buffer.byteLength(`${out}…`, 'utf8') > max) out = out.slice(0, Math.floor(out.length * 0.9));
  return `${out}…`;
}

const md = (f: ChatField) => (f.code ? `\`${f.value.replace(/`/g, "'")}\`` : f.value);
const slackEscape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function wecomBody(m: ChatMessage): unknown {
  const color = m.tone === 'success' ? 'info' : 'warning';
  const lines = [`**<font color="${color}">${m.title}</font>**`, ...m.fields.map((f) => `> **${f.label}:** ${md(f)}`)];
  if (m.link) lines.push(`[Open the run](${m.link})`);
  return { msgtype: 'markdown', markdown: { content: clipBytes(lines.join('\n'), WECOM_MAX_BYTES) } };
}

export function dingtalkBody(m: ChatMessage): unknown {
  const lines = [`### ${m.title}`, '', ...m.fields.map((f) => `- **${f.label}:** ${md(f)}`)];
  if (m.link) lines.push('', `[Open the run](${m.link})`);
  return { msgtype: 'markdown', markdown: { title: m.title, text: lines.join('\n') } };
}

export function feishuBody(m: ChatMessage): Record<string, unknown> {
  const template = m.tone === 'success' ? 'green' : m.tone === 'stale' ? 'orange' : 'red';
  const lines = m.fields.map((f) => `**${f.label}:** ${md(f)}`);
  if (m.link) lines.push(`[Open the run](${m.link})`);
  return {
    msg_type: 'interactive',
    card: {
      config: { wide_screen_mode: true },
      header: { template, title: { tag: 'plain_text', content: m.title } },
      elements: [{ tag: 'div', text: { tag: 'lark_md', content: lines.join('\n') } }],
    },
  };
}

export function slackBody(m: ChatMessage): unknown {
  const section = m.fields.map((f) => `*${slackEscape(f.label)}:* ${f.code ? `\`${slackEscape(f.value.replace(/`/g, "'"))}\`` : slackEscape(f.value)}`).join('\n');
  const blocks: unknown[] = [
    { type: 'header', text: { type: 'plain_text', text: oneLine(m.title, SLACK_HEADER_MAX), emoji: true } },
    { type: 'section', text: { type: 'mrkdwn', text: section.length > SLACK_SECTION_MAX ? `${section.slice(0, SLACK_SECTION_MAX - 1)}…` : section } },
  ];
  if (m.link) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `<${m.link}|Open the run>` }] });
  // `text` is the notification fallback (and what screen readers read).
  return { text: `${m.title}: ${m.fields.map((f) => `${f.label}: ${f.value}`).join('; ')}`.slice(0, SLACK_SECTION_MAX), blocks };
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
        u.searchParams.set('timestamp', ts);
        u.searchParams.set('sign', dingtalkSign(secret, ts));
      }
      return { url: u.toString(), body: JSON.stringify(dingtalkBody(m)), headers };
    }
    case 'feishu': {
      const body = feishuBody(m);
      if (secret) {
        const ts = String(Math.floor(now.getTime() / 1000));
        return { url, body: JSON.stringify({ timestamp: ts, sign: feishuSign(secret, ts), ...body }), headers };
      }
      return { url, body: JSON.stringify(body), headers };
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

/** What a service answers on success: WeCom and DingTalk {"errcode":0}, Feishu {"code":0}; Slack and generic any 2xx. */
export function acceptAnswer(kind: NotifyKind, text: string): string | null {
  if (kind === 'slack' || kind === 'generic') return null;
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch {
    return `the answer is not JSON: ${oneLine(text, 120)}`;
  }
  const o = (typeof j === 'object' && j !== null ? j : {}) as Record<string, unknown>;
  if (kind === 'feishu') {
    const code = o.code ?? o.StatusCode;
    return code === 0 ? null : `code ${String(code)}: ${oneLine(String(o.msg ?? o.StatusMessage ?? ''), 160)}`;
  }
  return o.errcode === 0 ? null : `errcode ${String(o.errcode)}: ${oneLine(String(o.errmsg ?? ''), 160)}`;
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
    if (stop?.aborted) throw new Error(describeFetchError(err, tuning.timeoutMs));
    throw new Retryable(describeFetchError(err, tuning.timeoutMs));
  }
  if (res.status === 429 || res.status >= 500) throw new Retryable(`HTTP ${res.status}${text ? `: ${oneLine(text, 160)}` : ''}`);
  if (res.status < 200 || res.status >= 300) throw new Error(`HTTP ${res.status}${text ? `: ${oneLine(text, 160)}` : ''}`);
  const refused = acceptAnswer(kind, text);
  if (refused) throw new Error(refused);
}

function sleep(ms: number, stop: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (ms <= 0 || stop?.aborted) return resolve();
    const t = setTimeout(done, ms);
    stop?.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(t);
      stop?.removeEventListener('abort', done);
      resolve();
    }
  });
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
        await sleep(tuning.backoffMs * 2 ** (n - 1), opts.stop);
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
