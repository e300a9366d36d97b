/** The run as Markdown, for the job summary (and for people reading the report). */
import '../engines/builtin.js';
import { enginePlugin } from '../engines/registry.js';
import { formatBytes, formatDuration } from '../shared/format.js';
import type { EngineReport, RunResult, Storage } from './result.js';
import { daysLeftText, tooFewSamples } from './storage.js';

/** The runner rejects a summary over 1 MiB; long tables are collapsed and cut well before that. */
const MAX_TABLE_ROWS = 400;
const COLLAPSE_OVER = 15;

const esc = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function table(head: string[], rows: string[][]): string {
  return [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`)].join('\n');
}

/** What the command did with the engine's database (the block's heading names it). */
function engineAction(command: string): string {
  if (command === 'verify') return 'restored into this scratch database, every table counted';
  if (command === 'restore') return 'restored into this database, every table counted';
  return 'dumped, every table counted';
}

function engineBlock(name: string, e: EngineReport, command: string): string {
  const total = e.tables.reduce((a, t) => a + t.rows, 0);
  const rows = e.tables.slice(0, MAX_TABLE_ROWS).map((t) => [t.name, t.rows.toLocaleString('en-US')]);
  const cut = e.tables.length > MAX_TABLE_ROWS ? `\n\n…and ${e.tables.length - MAX_TABLE_ROWS} more tables (see the JSON report).` : '';
  const t = table(['table', 'rows'], rows) + cut;
  const body = e.tables.length > COLLAPSE_OVER ? `<details><summary>${e.tables.length} tables, ${total.toLocaleString('en-US')} rows</summary>\n\n${t}\n\n</details>` : t;
  return [
    `### ${name}: ${e.database}`,
    '',
    `${engineAction(command)}: server ${e.server_version}, client ${e.client_version}; ${formatBytes(e.bytes)} in ${formatDuration(e.duration_ms)}; ${e.tables.length} tables, ${total.toLocaleString('en-US')} rows`,
    '',
    body,
  ].join('\n');
}


/** The runner rejects a summary over 1 MiB (FileCommandManager.cs); stay well below. */
export const MAX_SUMMARY_BYTES = 900 * 1024;

function collapsed(title: string, rows: number, body: string): string {
  return rows > COLLAPSE_OVER ? `<details><summary>${title}</summary>\n\n${body}\n\n</details>` : body;
}

function checkCell(c: RunResult['checks'][number]): string {
  return c.result === 'passed' ? '✅ passed' : c.result === 'failed' ? '❌ failed' : 'skipped';
}

function storageFacts(st: Storage): string[][] {
  const facts: string[][] = [];
  if (st.daily_bytes_per_day !== null) {
    const days = st.days_of_dailies;
    const sample = `last ${st.sample_days} day${st.sample_days === 1 ? '' : 's'}`;
    const few = tooFewSamples(st);
    const left = few ?? (days === null ? 'free space unknown' : `about **${daysLeftText(days)}** of dailies fit above the ${formatBytes(st.min_free_bytes)} floor`);
    facts.push(['storage estimate', `dailies ≈ ${formatBytes(st.daily_bytes_per_day)}/day (${sample}); ${left}`]);
  } else {
    facts.push(['storage estimate', 'no complete daily set yet to estimate from']);
  }
  const kinds = `${st.sets.daily} daily, ${st.sets.milestone} milestone, ${st.sets.config} config, ${st.sets.safety} safety`;
  facts.push(['catalog', `${kinds}: ${formatBytes(st.used_bytes)}${st.incomplete_sets ? `; ${st.incomplete_sets} incomplete` : ''}`]);
  return facts;
}

export function renderSummary(r: RunResult, notes: string[] = []): string {
  const stale = r.stale.length > 0;
  const icon = r.status === 'success' ? '✅' : r.status === 'cancelled' ? '⏹️' : stale ? '⚠️' : '❌';
  const out: string[] = [`## ${icon} pgtaos-backup ${r.command}: ${r.status}${stale ? ' (backups are stale)' : ''}`, '', esc(r.message.split('\n')[0] ?? ''), ''];
  const facts: string[][] = [];
  if (r.set) facts.push(['set', `\`${r.set.id}\` (${r.set.kind})`], ['path', `\`${r.set.path}\``], ['size', formatBytes(r.set.bytes)]);
  facts.push(['duration', formatDuration(r.duration_ms)]);
  if (r.free_bytes !== null) facts.push(['free space', formatBytes(r.free_bytes)]);
  if (r.storage) facts.push(...storageFacts(r.storage));
  facts.push(['host', r.hostname]);
  if (r.log_path) facts.push(['log', `\`${r.log_path}\``]);
  if (r.report_path) facts.push(['report', `\`${r.report_path}\``]);
  if (r.run_url) facts.push(['run', r.run_url]);
  out.push(table(['', ''], facts), '');
  if (r.error) {
    out.push(`**Error:** ${esc(r.error.message.split('\n')[0] ?? '')}`, '');
    const tail = r.error.stderr_tail ?? [];
    if (tail.length) {
      out.push('<details open><summary>Last lines the tool printed on stderr</summary>', '', '```', ...tail.map((l) => l.replace(/```/g, "'''")), '```', '', '</details>', '');
    }
    if (r.error.hint) out.push(`**What to do:** ${esc(r.error.hint)}`, '');
  }
  if (stale) out.push(`**Stale:** ${r.stale.map((n) => `\`${n}\``).join(', ')}: the nightly backups or the weekly verification stopped or failed.`, '');
  if (r.checks.length) {
    // Failed rows first, so a long prune list cannot hide them.
    const ordered = [...r.checks.filter((c) => c.result === 'failed'), ...r.checks.filter((c) => c.result !== 'failed')];
    const rows = ordered.slice(0, MAX_TABLE_ROWS).map((c) => [c.name, checkCell(c), c.detail]);
    const cut = ordered.length > MAX_TABLE_ROWS ? `\n\n…and ${ordered.length - MAX_TABLE_ROWS} more rows (see the JSON report).` : '';
    const failed = r.checks.filter((c) => c.result === 'failed').length;
    out.push('### Checks', '', collapsed(`${r.checks.length} checks, ${failed} failed`, ordered.length, table(['check', 'result', 'detail'], rows) + cut), '');
  }
  // One block per engine, labelled by its plugin (a report from an engine not registered here keeps its name).
  for (const [name, report] of Object.entries(r.engines)) out.push(engineBlock(enginePlugin(name)?.label ?? name, report, r.command), '');
  if (r.sets) {
    const rows = r.sets.slice(0, MAX_TABLE_ROWS).map((s) => [s.id, s.kind, s.status, s.created_at ?? '-', formatBytes(s.bytes), s.verification ? `${s.verification} ${s.verified_at}` : '-']);
    const cut = r.sets.length > MAX_TABLE_ROWS ? `\n\n…and ${r.sets.length - MAX_TABLE_ROWS} more sets (see the JSON report).` : '';
    out.push('### Sets', '', collapsed(`${r.sets.length} sets`, r.sets.length, table(['set', 'kind', 'status', 'created', 'size', 'verified'], rows) + cut), '');
  }
  if (r.notifications.length) {
    const rows = r.notifications.map((n) => [`${n.kind} (\`${n.url_env}\`)`, n.trigger, n.delivered ? `✅ delivered${n.attempts > 1 ? ` on try ${n.attempts}` : ''}` : `⚠️ not delivered: ${n.error ?? ''}`]);
    out.push('### Notifications', '', table(['webhook', 'for', 'result'], rows), '');
  }
  if (notes.length) out.push(...notes.map((n) => `- ${esc(n)}`), '');
  if (r.warnings.length) out.push('### Warnings', '', ...r.warnings.slice(0, 50).map((w) => `- ${esc(w)}`), '');
  return fitSummary(out.join('\n'));
}

/** Cuts a summary that would still be too big (very long details) at a line, with a note. */
export function fitSummary(text: string): string {
  if (Buffer.byteLength(text, 'utf8') <= MAX_SUMMARY_BYTES) return text;
  const note = '\n\n…the summary was cut to stay under the 1 MiB limit; the JSON report has everything.\n';
  let cut = text.slice(0, MAX_SUMMARY_BYTES);
  while (Buffer.byteLength(cut + note, 'utf8') > MAX_SUMMARY_BYTES) cut = cut.slice(0, cut.length - 4096);
  return cut.slice(0, Math.max(0, cut.lastIndexOf('\n'))) + note;
}
