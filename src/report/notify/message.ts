/**
 * The message every chat kind shows (one screen, the same facts), and the fitting of its field
 * values into a service's size limit: the title, the labels, the markup and the run link are
 * never cut, only the values.
 */
import { formatBytes, formatDuration } from '../../shared/format.js';
import { TOOL_NAME } from '../../version.js';
import type { RunResult } from '../result.js';
import { daysLeftText } from '../storage.js';

/** A message is meant to fit on one phone screen. */
const MAX_VALUE = 300;
const MAX_DETAIL = 240;
const MAX_TITLE = 200;
const MAX_LABEL = 80;
const MAX_CHECKS = 4;
const STDERR_LINES = 3;

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

// Sizes: each service counts differently, so the fitting takes the measure as an argument.

export type Size = (s: string) => number;
export const utf8Bytes: Size = (s) => Buffer.byteLength(s, 'utf8');
/** Bytes a string takes inside a JSON document, quotes not counted (escapes are per character, so sizes add up). */
export const jsonBytes: Size = (s) => Buffer.byteLength(JSON.stringify(s), 'utf8') - 2;

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
export function fitted<T>(m: ChatMessage, limit: number, size: Size, total: (x: T) => number, render: (m: ChatMessage) => T): T {
  const blank = render({ ...m, fields: m.fields.map((f) => ({ ...f, value: '' })) });
  const values = fitValues(m.fields.map((f) => f.value), limit - total(blank), size);
  return render({ ...m, fields: m.fields.map((f, i) => ({ ...f, value: values[i]! })) });
}

export function oneLine(s: string, max = MAX_VALUE): string {
  const flat = s.replace(/\s*\n\s*/g, ' ').trim();
  return clipTo(flat, max, (x) => x.length);
}

/** A field value in the markdown the robots (WeCom, DingTalk, Feishu) read. */
export const markdownValue = (f: ChatField) => `${f.code ? `\`${f.value.replace(/`/g, "'")}\`` : f.value}${f.suffix ?? ''}`;

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
    fields.push({ label: 'free space', value: `${formatBytes(r.storage.free_bytes)}${days === null ? '' : `, about ${daysLeftText(days)} of dailies fit`}` });
  }
  if (r.report_path) fields.push({ label: 'report', value: r.report_path, code: true });
  return { tone, title, fields, link: r.run_url };
}
