/**
 * What a notifier kind is: how it builds its request and how it reads the service's answer. The
 * kinds are registered in registry.ts; delivery.ts (retries, timeouts) is the same for all.
 */
import type { RunResult } from '../result.js';
import { oneLine, type ChatMessage } from './message.js';

export interface WebhookRequest {
  url: string;
  body: string;
  headers: Record<string, string>;
}

export type Verdict = { ok: true } | { ok: false; retry: boolean; error: string };

export interface RequestContext {
  url: string;
  /** The signing secret (secret_env), when set. */
  secret: string | undefined;
  result: RunResult;
  message: ChatMessage;
  /** Content type and user agent, for every kind. */
  headers: Record<string, string>;
  now: Date;
}

export interface Notifier {
  /** Whether secret_env signs this kind's requests; an unsigned kind ignores it, with a warning. */
  signed: boolean;
  /** The request for one try (built per try: signatures carry the time). */
  request(ctx: RequestContext): WebhookRequest;
  /** What the service's answer means. */
  judge(status: number, text: string): Verdict;
}

/** Any 2xx is accepted; 429 and 5xx are retried; any other status is final. */
export function judgeHttp(status: number, text: string): Verdict {
  const http = `HTTP ${status}${text ? `: ${oneLine(text, 160)}` : ''}`;
  if (status === 429 || status >= 500) return { ok: false, retry: true, error: http };
  if (status < 200 || status >= 300) return { ok: false, retry: false, error: http };
  return { ok: true };
}

export interface RobotAnswer {
  /** How the service names its code in messages ("errcode", "code"). */
  codeName: string;
  /** Codes a service answers when a robot sends too fast: worth another try after the backoff. */
  rateLimitCodes: readonly number[];
  /** The code and message of an answer. */
  read(o: Record<string, unknown>): { code: unknown; msg: string };
}

/**
 * Chat robots answer with a code in a JSON body, often with HTTP 200 even when refusing (Feishu's
 * rate limit is HTTP 400), so the body is read whatever the status: code 0 accepts, a rate-limit
 * code is retried, any other code is final; without a verdict in the body, the status decides.
 */
export function judgeRobot(a: RobotAnswer): Notifier['judge'] {
  return (status, text) => {
    let body: Record<string, unknown> | null;
    try {
      const j: unknown = JSON.parse(text);
      body = typeof j === 'object' && j !== null ? (j as Record<string, unknown>) : {};
    } catch {
      body = null;
    }
    const got = body ? a.read(body) : null;
    if (got && typeof got.code === 'number' && a.rateLimitCodes.includes(got.code)) {
      return { ok: false, retry: true, error: `rate limited (${a.codeName} ${got.code}: ${oneLine(got.msg, 160)})` };
    }
    if (status >= 200 && status < 300) {
      if (!got) return { ok: false, retry: false, error: `the answer is not JSON: ${oneLine(text, 120)}` };
      return got.code === 0 ? { ok: true } : { ok: false, retry: false, error: `${a.codeName} ${String(got.code)}: ${oneLine(got.msg, 160)}` };
    }
    return judgeHttp(status, text);
  };
}
