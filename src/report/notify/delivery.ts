/**
 * Delivery, the same for every kind: each `notify:` entry whose `on` matches the run's events gets
 * one message. A webhook that fails is retried with backoff (network errors, timeouts, 429, 5xx
 * and the services' rate-limit codes), each try has a timeout, and in the end a failure is a
 * warning: delivery never changes the run's outcome. Webhook URLs carry tokens: they are masked like
 * passwords and never printed; a webhook is named by its kind and the variable that holds its URL.
 */
import type { NotifyConfig } from '../../inputs/config-schema.js';
import { formatDuration } from '../../shared/format.js';
import { pauseUnlessStopped } from '../../shared/async.js';
import { TOOL_NAME, TOOL_VERSION } from '../../version.js';
import type { Notification, RunResult } from '../result.js';
import { eventsOf, triggerFor } from './events.js';
import { chatMessage } from './message.js';
import type { Verdict, WebhookRequest } from './notifier.js';
import { NOTIFIERS } from './registry.js';

export type NotifyKind = NotifyConfig['kind'];

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

export function buildRequest(kind: NotifyKind, url: string, secret: string | undefined, result: RunResult, now: Date): WebhookRequest {
  const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8', 'user-agent': `${TOOL_NAME}/${TOOL_VERSION}` };
  return NOTIFIERS[kind].request({ url, secret, result, message: chatMessage(result), headers, now });
}

/** What an answer means, as the kind reads it. */
export function judgeAnswer(kind: NotifyKind, status: number, text: string): Verdict {
  return NOTIFIERS[kind].judge(status, text);
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

/** One entry: checks its URL and secret, then tries until delivered, refused for good, or out of tries. */
async function deliver(entry: NotifyConfig, trigger: NonNullable<ReturnType<typeof triggerFor>>, result: RunResult, tuning: NotifyTuning, opts: NotifyOptions): Promise<Notification> {
  const fetchImpl = opts.fetch ?? fetch;
  const now = opts.now ?? (() => new Date());
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
  if (secret && !NOTIFIERS[entry.kind].signed) opts.log.warn(`${name}: ${entry.kind} webhooks are not signed; secret_env ${entry.secret_env} is ignored`);
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
}

/** Sends one message per matching entry, all at once; resolves when every one is delivered or given up. Never throws. */
export async function notify(entries: readonly NotifyConfig[], result: RunResult, opts: NotifyOptions): Promise<Notification[]> {
  const events = eventsOf(result);
  const tuning: NotifyTuning = { ...(result.status === 'cancelled' ? CANCELLED_TUNING : DEFAULT_TUNING), ...opts.tuning };
  const jobs = entries.map(async (entry): Promise<Notification | null> => {
    const trigger = triggerFor(entry, events);
    return trigger ? deliver(entry, trigger, result, tuning, opts) : null;
  });
  const settled = await Promise.all(jobs.map((j) => j.catch((err: unknown): null => {
    opts.log.warn(`notification failed unexpectedly: ${err instanceof Error ? err.message : String(err)}`);
    return null;
  })));
  return settled.filter((n): n is Notification => n !== null);
}
