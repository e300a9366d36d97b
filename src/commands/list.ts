/** list: the catalog, newest first, for people (a table on the log) and machines (--json). */
import { futureStart, listSets, type SetEntry } from '../catalog/sets.js';
import { folderBytes } from '../catalog/sets.js';
import { formatBytes } from '../shared/format.js';
import { sectionNames } from '../catalog/manifest.js';
import type { CommandOutcome, ListEntry } from '../report/result.js';
import type { RunContext } from './context.js';
import { whereSetsLive } from './replicate.js';
import { readRemoteCopies } from '../catalog/remote-copies.js';

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

export function renderTable(rows: ListEntry[]): string[] {
  if (rows.length === 0) return ['(no sets)'];
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
  return [line(head), ...cells.map(line)];
}

export async function list(ctx: RunContext): Promise<CommandOutcome> {
  const found = await listSets(ctx.config.root);
  const now = ctx.now();
  const sets = await Promise.all(found.map((s) => toListEntry(s, now)));
  const complete = sets.filter((s) => s.status === 'complete').length;
  // Where each set lives besides here (remotes.json beside it), on the log.
  for (const line of await whereSetsLive(found)) ctx.log.info(line);
  return { message: `${sets.length} sets under ${ctx.config.root} (${complete} complete)`, sets };
}
