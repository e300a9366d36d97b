/**
 * Slack incoming webhook: {"text", "blocks"}. Not signed. Section text is at most 3000 characters,
 * header text at most 150 (Block Kit reference). Accepts with any 2xx.
 */
import { clipTo, fitted, type ChatMessage, type Size } from './message.js';
import { judgeHttp, type Notifier } from './notifier.js';

export const SLACK_SECTION_CHARS = 3000;
export const SLACK_HEADER_CHARS = 150;

const slackEscape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
/** Slack counts characters of the escaped text; UTF-16 units are at least that many. */
const slackChars: Size = (s) => slackEscape(s).length;

function slackSection(m: ChatMessage): string {
  return m.fields.map((f) => `*${slackEscape(f.label)}:* ${f.code ? `\`${slackEscape(f.value.replace(/`/g, "'"))}\`` : slackEscape(f.value)}${slackEscape(f.suffix ?? '')}`).join('\n');
}

export function slackBody(m: ChatMessage): unknown {
  const section = fitted(m, SLACK_SECTION_CHARS, slackChars, (s) => s.length, slackSection);
  const blocks: unknown[] = [
    { type: 'header', text: { type: 'plain_text', text: clipTo(m.title, SLACK_HEADER_CHARS, (s) => s.length), emoji: true } },
    { type: 'section', text: { type: 'mrkdwn', text: section } },
  ];
  if (m.link) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `<${m.link}|Open the run>` }] });
  // `text` is the notification fallback (and what screen readers read).
  const fallback = clipTo(`${m.title}: ${m.fields.map((f) => `${f.label}: ${f.value}${f.suffix ?? ''}`).join('; ')}`, SLACK_SECTION_CHARS, slackChars);
  return { text: slackEscape(fallback), blocks };
}

export const slack: Notifier = {
  signed: false,
  request: ({ url, message, headers }) => ({ url, body: JSON.stringify(slackBody(message)), headers }),
  judge: judgeHttp,
};
