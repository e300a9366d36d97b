/**
 * WeCom group robot: {"msgtype":"markdown","markdown":{"content"}}. Not signed. markdown.content is
 * at most 4096 bytes of UTF-8 (群机器人配置说明; past it errcode 40058 "markdown.content exceed max
 * length 4096"). Accepts with {"errcode":0}; 45009 "api freq out of limit" is its rate limit (at
 * most 20 messages a minute per robot).
 */
import { fitted, markdownValue, utf8Bytes, type ChatMessage } from './message.js';
import { judgeRobot, type Notifier } from './notifier.js';

export const WECOM_CONTENT_BYTES = 4096;
export const WECOM_RATE_LIMIT_CODES: readonly number[] = [45009];

function wecomContent(m: ChatMessage): string {
  const color = m.tone === 'success' ? 'info' : 'warning';
  const lines = [`**<font color="${color}">${m.title}</font>**`, ...m.fields.map((f) => `> **${f.label}:** ${markdownValue(f)}`)];
  if (m.link) lines.push(`[Open the run](${m.link})`);
  return lines.join('\n');
}

export function wecomBody(m: ChatMessage): unknown {
  return { msgtype: 'markdown', markdown: { content: fitted(m, WECOM_CONTENT_BYTES, utf8Bytes, utf8Bytes, wecomContent) } };
}

export const wecom: Notifier = {
  signed: false,
  request: ({ url, message, headers }) => ({ url, body: JSON.stringify(wecomBody(message)), headers }),
  judge: judgeRobot({ codeName: 'errcode', rateLimitCodes: WECOM_RATE_LIMIT_CODES, read: (o) => ({ code: o.errcode, msg: String(o.errmsg ?? '') }) }),
};
