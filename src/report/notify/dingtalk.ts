/**
 * DingTalk custom robot: {"msgtype":"markdown","markdown":{"title","text"}}; signed with
 * &timestamp=<ms>&sign=<urlencoded base64 HMAC-SHA256(secret, "<ms>\n<secret>")>. The request body
 * is at most 20000 bytes (errcode 460101 "message too long, exceed 20000 bytes"). Accepts with
 * {"errcode":0}; 130101 "send too fast, exceed 20 times per minute" is its rate limit (then
 * throttled for 10 minutes).
 */
import { createHmac } from 'node:crypto';
import { fitted, jsonBytes, markdownValue, utf8Bytes, type ChatMessage } from './message.js';
import { judgeRobot, type Notifier } from './notifier.js';

export const DINGTALK_BODY_BYTES = 20_000;
export const DINGTALK_RATE_LIMIT_CODES: readonly number[] = [130101];

/** The signature, as DingTalk's documentation computes it. */
export function dingtalkSign(secret: string, timestampMs: string): string {
  return createHmac('sha256', secret).update(`${timestampMs}\n${secret}`, 'utf8').digest('base64');
}

function dingtalkJson(m: ChatMessage): string {
  const lines = [`### ${m.title}`, '', ...m.fields.map((f) => `- **${f.label}:** ${markdownValue(f)}`)];
  if (m.link) lines.push('', `[Open the run](${m.link})`);
  return JSON.stringify({ msgtype: 'markdown', markdown: { title: m.title, text: lines.join('\n') } });
}

/** The body as sent (JSON text): the limit is on the whole body. */
export function dingtalkBody(m: ChatMessage): string {
  return fitted(m, DINGTALK_BODY_BYTES, jsonBytes, utf8Bytes, dingtalkJson);
}

export const dingtalk: Notifier = {
  signed: true,
  request({ url, secret, message, headers, now }) {
    const u = new URL(url);
    if (secret) {
      const ts = String(now.getTime());
      // URLSearchParams encodes the Base64 "+", "/" and "=" (%2B, %2F, %3D), as DingTalk's urlEncode step asks.
      u.searchParams.set('timestamp', ts);
      u.searchParams.set('sign', dingtalkSign(secret, ts));
    }
    return { url: u.toString(), body: dingtalkBody(message), headers };
  },
  judge: judgeRobot({ codeName: 'errcode', rateLimitCodes: DINGTALK_RATE_LIMIT_CODES, read: (o) => ({ code: o.errcode, msg: String(o.errmsg ?? '') }) }),
};
