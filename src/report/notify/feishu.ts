/**
 * Feishu/Lark custom bot: {"msg_type":"interactive","card":{...}}; signed with "timestamp" (s) and
 * "sign" = base64 HMAC-SHA256(key "<s>\n<secret>", empty message) in the body. The request body is
 * at most 20 KB (自定义机器人使用指南, 使用限制); 20000 bytes here. Accepts with {"code":0} (older
 * answers: StatusCode); 9499 "too many request" is its rate limit (answered with HTTP 400).
 */
import { createHmac } from 'node:crypto';
import { fitted, jsonBytes, markdownValue, utf8Bytes, type ChatMessage } from './message.js';
import { judgeRobot, type Notifier } from './notifier.js';

export const FEISHU_BODY_BYTES = 20_000;
export const FEISHU_RATE_LIMIT_CODES: readonly number[] = [9499];

export interface FeishuSigning {
  timestamp: string;
  sign: string;
}

/** The signature, as Feishu's documentation computes it. */
export function feishuSign(secret: string, timestampS: string): string {
  return createHmac('sha256', `${timestampS}\n${secret}`).update('', 'utf8').digest('base64');
}

function feishuJson(m: ChatMessage, signing: FeishuSigning | undefined): string {
  const template = m.tone === 'success' ? 'green' : m.tone === 'stale' ? 'orange' : 'red';
  const lines = m.fields.map((f) => `**${f.label}:** ${markdownValue(f)}`);
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
  return fitted(m, FEISHU_BODY_BYTES, jsonBytes, utf8Bytes, (x) => feishuJson(x, signing));
}

export const feishu: Notifier = {
  signed: true,
  request({ url, secret, message, headers, now }) {
    const ts = String(Math.floor(now.getTime() / 1000));
    return { url, body: feishuBody(message, secret ? { timestamp: ts, sign: feishuSign(secret, ts) } : undefined), headers };
  },
  judge: judgeRobot({ codeName: 'code', rateLimitCodes: FEISHU_RATE_LIMIT_CODES, read: (o) => ({ code: o.code ?? o.StatusCode, msg: String(o.msg ?? o.StatusMessage ?? '') }) }),
};
