/**
 * Notifications: after a run, each `notify:` entry whose `on` matches the run's events gets one
 * message. One module per kind under ./notify/ (its payload, signature, size limit and how it reads
 * the answer; registered in ./notify/registry.ts); the message shared by the chat kinds in
 * ./notify/message.ts; retries, timeouts and masking in ./notify/delivery.ts. The payload shapes
 * follow each service's documentation (README, "Reports and notifications", names the pages):
 *
 *   wecom     WeCom group robot        {"msgtype":"markdown","markdown":{"content"}}        (content <= 4096 bytes)
 *   dingtalk  DingTalk custom robot    {"msgtype":"markdown","markdown":{"title","text"}}    signed: &timestamp=<ms>&sign=<urlencoded base64 HMAC-SHA256(secret, "<ms>\n<secret>")>
 *   feishu    Feishu/Lark custom bot   {"msg_type":"interactive","card":{...}}               signed: "timestamp" (s) and "sign" = base64 HMAC-SHA256(key "<s>\n<secret>", empty message) in the body
 *   slack     Slack incoming webhook   {"text", "blocks"}
 *   generic   any HTTP endpoint        the JSON report itself; with secret_env, X-Pgtaos-Signature-256: sha256=<hex HMAC of the body>
 *
 * This module is the public face: callers import from here.
 */
import { DINGTALK_BODY_BYTES, DINGTALK_RATE_LIMIT_CODES } from './notify/dingtalk.js';
import { FEISHU_BODY_BYTES, FEISHU_RATE_LIMIT_CODES } from './notify/feishu.js';
import { SLACK_HEADER_CHARS, SLACK_SECTION_CHARS } from './notify/slack.js';
import { WECOM_CONTENT_BYTES, WECOM_RATE_LIMIT_CODES } from './notify/wecom.js';

export { eventsOf, triggerFor, type Trigger } from './notify/events.js';
export { chatMessage, clipTo, fitValues, jsonBytes, utf8Bytes, type ChatField, type ChatMessage, type Size } from './notify/message.js';
export type { Notifier, Verdict, WebhookRequest } from './notify/notifier.js';
export { NOTIFIERS, NOTIFIER_KINDS, type NotifierKind } from './notify/registry.js';
export { CANCELLED_TUNING, DEFAULT_TUNING, buildRequest, judgeAnswer, notify, webhookSecrets, type NotifyKind, type NotifyLog, type NotifyOptions, type NotifyTuning } from './notify/delivery.js';
export { dingtalkBody, dingtalkSign } from './notify/dingtalk.js';
export { feishuBody, feishuSign, type FeishuSigning } from './notify/feishu.js';
export { genericSignature } from './notify/generic.js';
export { slackBody } from './notify/slack.js';
export { wecomBody } from './notify/wecom.js';

/** Each kind's size limit (documented in its module). */
export const LIMITS = {
  wecomContentBytes: WECOM_CONTENT_BYTES,
  dingtalkBodyBytes: DINGTALK_BODY_BYTES,
  feishuBodyBytes: FEISHU_BODY_BYTES,
  slackSectionChars: SLACK_SECTION_CHARS,
  slackHeaderChars: SLACK_HEADER_CHARS,
} as const;

/** The rate-limit codes of the chat robots (documented in their modules). */
export const RATE_LIMIT_CODES: Readonly<Record<'wecom' | 'dingtalk' | 'feishu', readonly number[]>> = {
  wecom: WECOM_RATE_LIMIT_CODES,
  dingtalk: DINGTALK_RATE_LIMIT_CODES,
  feishu: FEISHU_RATE_LIMIT_CODES,
};
