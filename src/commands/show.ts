/**
 * show <SET_ID>: what is in a set, for a person. The manifest (engines, versions, files with sizes,
 * every table with its row count, TDengine super tables with their child tables, extensions, the
 * git commit) and its state beside it (the last verification, the copies on remotes). `--json`
 * gives the manifest as written and that state; the text form is renderShow's. Reads only.
 * A Barman base backup id (20261206T051200) shows that base backup instead (pitr-list.ts).
 */
import { UsageError } from '../errors.js';
import { findSet, futureStart } from '../catalog/sets.js';
import { CONFIG_SECTION, manifestSection, sectionNames, type Manifest } from '../catalog/manifest.js';
import { readRemoteCopies } from '../catalog/remote-copies.js';
import { formatBytes, formatDuration } from '../shared/format.js';
import type { CommandOutcome, ShowReport } from '../report/result.js';
import type { RunContext } from './context.js';
import { BASE_BACKUP_ID, pitrShow } from './pitr-list.js';

export async function show(ctx: RunContext): Promise<CommandOutcome> {
  const id = ctx.request.setId;
  if (!id) throw new UsageError('set.bad_id', 'show needs a set id', { hint: 'Name one: `pgtaos-backup show <SET_ID>` (the action: input set-id); `pgtaos-backup list` shows them.' });
  if (BASE_BACKUP_ID.test(id)) {
    const b = await pitrShow(ctx.config.pitr, id, ctx);
    return { message: `base backup ${b.id} (Barman server ${b.server}): ${b.status}, ended ${b.end_time ?? '-'}`, pitr_backup: b };
  }
  const s = await findSet(ctx.config.root, id);
  const report: ShowReport = {
    manifest: s.manifest,
    state: {
      id: s.id,
      kind: s.kind,
      status: s.status,
      path: s.path,
      reason: s.reason,
      suspicious: futureStart(s.manifest, ctx.now()),
      verification: s.verification,
      remotes: s.status === 'complete' ? await readRemoteCopies(s.path) : [],
    },
  };
  const what = s.manifest ? `${sectionNames(s.manifest).join(' + ') || 'no sections'}, ${formatBytes(s.manifest.bytes)}` : `INCOMPLETE: ${s.reason ?? 'no valid manifest'}`;
  return { message: `set ${s.id} (${s.kind}): ${what}`, show: report };
}

/** Numbers with thousands separators, the same everywhere. */
const n = (v: number) => v.toLocaleString('en-US');

/** Columns padded to the widest cell, two spaces apart. */
function columns(rows: string[][], indent: string): string[] {
  if (rows.length === 0) return [];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => indent + r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd());
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const arr = (v: unknown): Obj[] => (Array.isArray(v) ? v.filter(isObj) : []);
const str = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : v === null || v === undefined ? '-' : JSON.stringify(v));
const num = (v: unknown): number => (typeof v === 'number' ? v : 0);

/** Keys of a section shown by sectionLines itself; any other key (globals, a later field) is shown as it is. */
const SHOWN = new Set(['server_version', 'client_version', 'database', 'host', 'port', 'files', 'tables', 'stables', 'extensions', 'large_objects', 'base_dir', 'paths']);

function fileLines(files: Obj[]): string[] {
  const total = files.reduce((a, f) => a + num(f.bytes), 0);
  return [`  files (${files.length}, ${formatBytes(total)})`, ...columns(files.map((f) => [str(f.path), formatBytes(num(f.bytes)), `sha256 ${str(f.sha256).slice(0, 16)}…`]), '    ')];
}

function tableLines(s: Obj): string[] {
  const out: string[] = [];
  const stables = arr(s.stables);
  if (stables.length) {
    out.push(`  super tables (${stables.length})`);
    out.push(...columns(stables.map((t) => [str(t.name), `${n(num(t.child_tables))} child tables`, `${n(num(t.rows))} rows`]), '    '));
  }
  const tables = arr(s.tables);
  const counts = s.row_counts === 'unknown' ? ' (row counts unknown: an imported dump)' : `, ${n(tables.reduce((a, t) => a + num(t.rows), 0))} rows`;
  if (tables.length || Array.isArray(s.tables)) out.push(`  tables (${tables.length}${counts})`);
  out.push(...columns(tables.map((t) => [str(t.name), `${n(num(t.rows))} rows${t.hypertable ? ' (hypertable, with its chunks)' : ''}`]), '    '));
  for (const e of arr(s.count_errors)) out.push(`    ${str(e.name)}: not counted (${str(e.error)})`);
  return out;
}

function sectionLines(name: string, section: unknown): string[] {
  if (!isObj(section)) return [`${name}: ${str(section)}`];
  const out: string[] = [];
  if (name === CONFIG_SECTION) {
    out.push(`config files: from ${str(section.base_dir)}: ${(Array.isArray(section.paths) ? section.paths : []).map(str).join(', ')}`);
  } else {
    const at = section.host !== undefined ? ` on ${str(section.host)}:${str(section.port)}` : '';
    out.push(`${name}: database ${str(section.database)}${at}, server ${str(section.server_version)}, client ${str(section.client_version)}`);
  }
  out.push(...fileLines(arr(section.files)));
  out.push(...tableLines(section));
  const ext = arr(section.extensions);
  if (Array.isArray(section.extensions)) out.push(`  extensions: ${ext.length ? ext.map((e) => `${str(e.name)} ${str(e.version)}`).join(', ') : 'none'}`);
  if (typeof section.large_objects === 'number') out.push(`  large objects: ${n(section.large_objects)}`);
  for (const [k, v] of Object.entries(section)) if (!SHOWN.has(k) && v !== null) out.push(...otherLines(k, v, '  '));
  return out;
}

/** A field show has no special form for (e.g. `globals`, added by a later manifest): its files if it has some, else its value. */
function otherLines(key: string, v: unknown, indent: string): string[] {
  if (isObj(v) && Array.isArray(v.files)) {
    const rest = Object.entries(v).filter(([k]) => k !== 'files').map(([k, x]) => `${k} ${str(x)}`);
    return [`${indent}${key}${rest.length ? `: ${rest.join(', ')}` : ''}`, ...fileLines(arr(v.files)).map((l) => indent + l)];
  }
  if (isObj(v)) return [`${indent}${key}:`, ...Object.entries(v).map(([k, x]) => `${indent}  ${k}: ${str(x)}`)];
  return [`${indent}${key}: ${Array.isArray(v) ? v.map(str).join(', ') || '(none)' : str(v)}`];
}

/** Header keys rendered by headerLines; the rest (sections, and anything newer) follow. */
const HEADER = new Set(['format', 'id', 'kind', 'milestone', 'status', 'started_at', 'finished_at', 'timezone', 'tool', 'hostname', 'git', 'bytes', 'imported_from']);

function headerLines(m: Manifest): string[] {
  const took = Date.parse(m.finished_at) - Date.parse(m.started_at);
  const out = [
    `started   ${m.started_at} (${m.timezone})${Number.isFinite(took) && took >= 0 ? `, took ${formatDuration(took)}` : ''}`,
    `made by   ${m.tool.name} ${m.tool.version} on ${m.hostname} (manifest format ${m.format})`,
    `size      ${formatBytes(m.bytes)} (${n(m.bytes)} bytes)`,
  ];
  if (m.milestone) out.splice(0, 0, `milestone ${m.milestone}`);
  const g = m.git;
  if (g) {
    const bits = [g.ref, g.tag ? `tag ${g.tag}` : null, g.actor ? `by ${g.actor}` : null].filter(Boolean).join(', ');
    out.push(`git       ${g.sha ?? '(no commit)'}${bits ? ` (${bits})` : ''}${g.run_url ? `, run ${g.run_url}` : ''}`);
  } else {
    out.push('git       (not recorded: made outside GitHub Actions)');
  }
  if (m.imported_from) out.push(`imported  from ${m.imported_from.join(', ')}`);
  return out;
}

function stateLines(st: ShowReport['state']): string[] {
  const out: string[] = [];
  const v = st.verification;
  if (!v) out.push('verified  never');
  else {
    out.push(`verified  ${v.result.toUpperCase()} at ${v.verified_at} (pgtaos-backup ${v.tool_version}; the last verification)`);
    out.push(...v.checks.map((c) => `  ${c.result.padEnd(7)} ${c.name}: ${c.detail}`));
    if (v.history.length) {
      out.push(`earlier   ${v.history.length} verification(s), newest first`);
      out.push(...v.history.map((h) => `  ${h.result.padEnd(7)} ${h.verified_at} (pgtaos-backup ${h.tool_version})`));
    }
  }
  if (st.remotes.length === 0) out.push('remotes   none: this set lives only here');
  else {
    out.push('remotes');
    for (const c of st.remotes) {
      const bytes = c.files.reduce((a, f) => a + f.stored_bytes, 0);
      const what = c.result === 'verified' ? `verified ${c.copied_at}, ${c.files.length} files, ${formatBytes(bytes)}${c.encrypted ? ', age-encrypted' : ''}` : `FAILED ${c.copied_at}: ${c.error ?? '?'}`;
      out.push(`  ${c.remote} (${c.type} ${c.location}): ${what}`);
    }
  }
  return out;
}

/** The text `show` prints on stdout. */
export function renderShow(r: ShowReport): string[] {
  const st = r.state;
  const status = st.status !== 'complete' ? `INCOMPLETE: ${st.reason ?? '?'}` : st.suspicious ? `SUSPICIOUS: ${st.suspicious}` : 'complete';
  const out = [`set       ${st.id} (${st.kind}, ${status})`, `path      ${st.path}`];
  const m = r.manifest;
  if (m) {
    out.push(...headerLines(m));
    for (const name of sectionNames(m)) {
      const section = manifestSection(m, name);
      // An engine's dump (it names its database) or the config snapshot; anything else (globals) as it is.
      const dump = name === CONFIG_SECTION || (isObj(section) && 'database' in section);
      out.push('', ...(dump ? sectionLines(name, section) : otherLines(name, section, '')));
    }
    const extra = Object.entries(m).filter(([k]) => !HEADER.has(k) && !sectionNames(m).includes(k));
    if (extra.length) out.push('', ...extra.flatMap(([k, v]) => otherLines(k, v, '')));
  }
  out.push('', ...stateLines(st));
  return out;
}
