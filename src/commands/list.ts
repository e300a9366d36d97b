/** list: the catalog, newest first, for people (a table on the log) and machines (--json). */
import { futureStart, listSets, type SetEntry } from '../catalog/sets.js';
import { SET_KINDS, type SetKind } from '../catalog/labels.js';
import { folderBytes } from '../catalog/sets.js';
import { formatBytes } from '../shared/format.js';
import { sectionNames } from '../catalog/manifest.js';
import type { CommandOutcome, ListEntry } from '../report/result.js';
import type { RunContext } from './context.js';
import { whereSetsLive } from './replicate.js';
import { readRemoteCopies } from '../catalog/remote-copies.js';
import { pitrListing } from './pitr-list.js';

export async function toListEntry(s: SetEntry, now: Date = new Date()): Promise<ListEntry> {
  const m = s.manifest;
  return {
    id: s.id,
    kind: s.kind,
    milestone: m?.milestone ?? null,
    status: s.status,
    created_at: m?.started_at ?? null,
    path: s.path,
    bytes: m ? m.bytes : await folderBytes(s.path),
    verified_at: s.verification?.verified_at ?? null,
    verification: s.verification?.result ?? null,
    // Engines in the manifest's (the registry's) order, then the config snapshot.
    engines: m ? sectionNames(m) : [],
    reason: s.reason,
    suspicious: futureStart(m, now),
    remotes: s.status === 'complete' ? (await readRemoteCopies(s.path)).map((c) => ({ remote: c.remote, result: c.result, copied_at: c.copied_at, encrypted: c.encrypted })) : [],
  };
}

/** The totals line under the table: how many sets, how many complete, their bytes, by kind. */
export function totalsLine(rows: ListEntry[]): string {
  const complete = rows.filter((r) => r.status === 'complete');
  const bytes = rows.reduce((a, r) => a + r.bytes, 0);
  const kinds = SET_KINDS.map((k) => [k, rows.filter((r) => r.kind === k).length] as const).filter(([, c]) => c > 0);
  const byKind = kinds.length ? ` (${kinds.map(([k, c]) => `${c} ${k}`).join(', ')})` : '';
  return `total: ${rows.length} set${rows.length === 1 ? '' : 's'}${byKind}, ${complete.length} complete, ${formatBytes(bytes)}`;
}

export function renderTable(rows: ListEntry[]): string[] {
  if (rows.length === 0) return ['(no sets)', totalsLine(rows)];
  const cells = rows.map((r) => [
    r.id,
    r.kind,
    r.status !== 'complete' ? `INCOMPLETE (${r.reason ?? '?'})` : r.suspicious ? `SUSPICIOUS (${r.suspicious})` : 'complete',
    r.created_at ?? '-',
    formatBytes(r.bytes),
    r.verification ? `${r.verification} ${r.verified_at}` : '-',
    r.engines.join('+') || '-',
  ]);
  const head = ['SET', 'KIND', 'STATUS', 'CREATED', 'SIZE', 'VERIFIED', 'ENGINES'];
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(head), ...cells.map(line), '', totalsLine(rows)];
}

/** list's filters: kind, engine (a section the manifest holds), then the newest `last` (sets come newest first). */
export function filterSets(sets: ListEntry[], f: { kind?: SetKind | undefined; engine?: string | undefined; last?: number | undefined }): ListEntry[] {
  const kept = sets.filter((s) => (!f.kind || s.kind === f.kind) && (!f.engine || s.engines.includes(f.engine)));
  return f.last === undefined ? kept : kept.slice(0, f.last);
}

export async function list(ctx: RunContext): Promise<CommandOutcome> {
  const found = await listSets(ctx.config.root);
  const now = ctx.now();
  const all = await Promise.all(found.map((s) => toListEntry(s, now)));
  const { kind, engine, last } = ctx.request;
  const sets = filterSets(all, { kind, engine, last });
  const filtered = sets.length !== all.length || kind !== undefined || engine !== undefined || last !== undefined;
  const complete = sets.filter((s) => s.status === 'complete').length;
  // Where each set lives besides here (remotes.json beside it), on the log.
  const shown = new Set(sets.map((s) => s.path));
  for (const line of await whereSetsLive(found.filter((s) => shown.has(s.path)))) ctx.log.info(line);
  const of = filtered ? ` (of ${all.length}: ${[kind && `kind ${kind}`, engine && `engine ${engine}`, last !== undefined && `newest ${last}`].filter(Boolean).join(', ')})` : '';
  const bytes = sets.reduce((a, s) => a + s.bytes, 0);
  // With pitr: Barman's base backups too (a Barman that cannot be read is one line, not a failed list).
  const pitr = ctx.config.pitr ? await pitrListing(ctx.config.pitr, ctx) : undefined;
  if (pitr?.error) ctx.log.warn(`point-in-time: cannot read Barman's base backups: ${pitr.error}`);
  const base = pitr && !pitr.error ? `; Barman: ${pitr.backups.length} base backup${pitr.backups.length === 1 ? '' : 's'}` : '';
  return { message: `${sets.length} sets${of} under ${ctx.config.root} (${complete} complete, ${formatBytes(bytes)})${base}`, sets, ...(pitr ? { pitr } : {}), ...(filtered ? { sets_filtered: true } : {}) };
}
