/** The run as Markdown, for the job summary (and for people reading the report). */
import { formatBytes, formatDuration } from '../catalog/time.js';
import type { EngineReport, RunResult } from './result.js';

/** The runner rejects a summary over 1 MiB; long tables are collapsed and cut well before that. */
const MAX_TABLE_ROWS = 400;
const COLLAPSE_OVER = 15;

const esc = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function table(head: string[], rows: string[][]): string {
  return [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`)].join('\n');
}

function engineBlock(name: string, e: EngineReport): string {
  const total = e.tables.reduce((a, t) => a + t.rows, 0);
  const rows = e.tables.slice(0, MAX_TABLE_ROWS).map((t) => [t.name, t.rows.toLocaleString('en-US')]);
  const cut = e.tables.length > MAX_TABLE_ROWS ? `\n\n…and ${e.tables.length - MAX_TABLE_ROWS} more tables (see the JSON report).` : '';
  const t = table(['table', 'rows'], rows) + cut;
  const body = e.tables.length > COLLAPSE_OVER ? `<details><summary>${e.tables.length} tables, ${total.toLocaleString('en-US')} rows</summary>\n\n${t}\n\n</details>` : t;
  return [
    `### ${name}: ${e.database}`,
    '',
    `server ${e.server_version}, client ${e.client_version}; ${formatBytes(e.bytes)} in ${formatDuration(e.duration_ms)}; ${e.tables.length} tables, ${total.toLocaleString('en-US')} rows`,
    '',
    body,
  ].join('\n');
}

export function renderSummary(r: RunResult): string {
  const icon = r.status === 'success' ? '✅' : r.status === 'cancelled' ? '⏹️' : '❌';
  const out: string[] = [`## ${icon} pgtaos-backup ${r.command}: ${r.status}`, '', r.message, ''];
  const facts: string[][] = [];
  if (r.set) facts.push(['set', `\`${r.set.id}\` (${r.set.kind})`], ['path', `\`${r.set.path}\``], ['size', formatBytes(r.set.bytes)]);
  facts.push(['duration', formatDuration(r.duration_ms)]);
  if (r.free_bytes !== null) facts.push(['free space', formatBytes(r.free_bytes)]);
  if (r.log_path) facts.push(['log', `\`${r.log_path}\``]);
  out.push(table(['', ''], facts), '');
  if (r.error) {
    out.push(`**Error:** ${esc(r.error.message)}`, '');
    if (r.error.hint) out.push(`**What to do:** ${esc(r.error.hint)}`, '');
  }
  if (r.checks.length) {
    out.push('### Checks', '', table(['check', 'result', 'detail'], r.checks.map((c) => [c.name, c.result === 'passed' ? '✅ passed' : c.result === 'failed' ? '❌ failed' : 'skipped', c.detail])), '');
  }
  if (r.engines.postgres) out.push(engineBlock('PostgreSQL', r.engines.postgres), '');
  if (r.engines.tdengine) out.push(engineBlock('TDengine', r.engines.tdengine), '');
  if (r.sets) {
    const rows = r.sets.slice(0, MAX_TABLE_ROWS).map((s) => [s.id, s.kind, s.status, s.created_at ?? '-', formatBytes(s.bytes), s.verification ? `${s.verification} ${s.verified_at}` : '-']);
    out.push('### Sets', '', table(['set', 'kind', 'status', 'created', 'size', 'verified'], rows), '');
  }
  if (r.warnings.length) out.push('### Warnings', '', ...r.warnings.slice(0, 50).map((w) => `- ${esc(w)}`), '');
  return out.join('\n');
}
