/**
 * The catalog on disk:
 *   <root>/<kind>/<set id>/manifest.json + dump files    complete sets (kind: daily, milestone, config, safety)
 *   <root>/.incomplete/<set id>/                          work in progress; renamed into place when complete
 *   <root>/logs/                                          one log and one JSON report per run
 *   <root>/.lock                                          held while a run writes
 * A set counts only when its manifest is whole and valid; anything else is listed as incomplete.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { JobError, UsageError } from '../errors.js';
import { SET_KINDS, isScheduledBackup, isSetId, type SetKind, type SetStatus } from './labels.js';
import { engineNames, manifestFiles, readManifest, writeManifest, type Manifest } from './manifest.js';
import { fsyncDir } from '../shared/atomic-file.js';
import { readFileNoFollow, refuseLinkedFolders, unsafeSetDir, unsafeSetFiles } from './set-files.js';
import { readVerification, type Verification } from './verification.js';

export const INCOMPLETE_DIR = '.incomplete';
export const LOGS_DIR = 'logs';

export interface SetEntry {
  id: string;
  kind: SetKind;
  status: SetStatus;
  path: string;
  /** Complete sets only. */
  manifest: Manifest | null;
  /** Why an incomplete set is incomplete. */
  reason: string | null;
  verification: Verification | null;
}

export function kindDir(root: string, kind: SetKind): string {
  return path.join(root, kind);
}

/** Sorts newest first by the manifest's start time (never by name or file time); incomplete sets last. */
export function compareNewestFirst(a: SetEntry, b: SetEntry): number {
  const ta = a.manifest ? Date.parse(a.manifest.started_at) : Number.NEGATIVE_INFINITY;
  const tb = b.manifest ? Date.parse(b.manifest.started_at) : Number.NEGATIVE_INFINITY;
  if (ta !== tb) return tb - ta;
  return b.id.localeCompare(a.id);
}

/** The catalog's own folders: none may be a link (the root itself may). */
export const CATALOG_DIRS: readonly string[] = [...SET_KINDS, INCOMPLETE_DIR];

/** How long a set may seem to start after "now" (clocks of two machines differ a little) before it is suspicious. */
export const FUTURE_TOLERANCE_MS = 5 * 60_000;

/** Why a set's start lies in the future (clock skew, a copied set), or null: such a set proves nothing about today. */
export function futureStart(m: Manifest | null, now: Date): string | null {
  if (!m) return null;
  const t = Date.parse(m.started_at);
  if (!Number.isFinite(t) || t <= now.getTime() + FUTURE_TOLERANCE_MS) return null;
  return `started_at ${m.started_at} lies in the future (clock skew, or a set copied from elsewhere?)`;
}

/** Sub-folders, and links (reported, never followed), of `dir`. */
async function dirNames(dir: string, withLinks = false): Promise<string[]> {
  try {
    const entries = await fs.readdir(dir, { withFileTypes: true });
    return entries.filter((e) => e.isDirectory() || (withLinks && e.isSymbolicLink())).map((e) => e.name);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/** One folder under a kind folder, as the catalog sees it. */
async function readSet(kind: SetKind, id: string, p: string): Promise<SetEntry> {
  const damaged = (reason: string): SetEntry => ({ id, kind, status: 'incomplete', path: p, manifest: null, reason, verification: null });
  const linked = await unsafeSetDir(p);
  if (linked) return damaged(linked);
  const read = await readManifest(p);
  if (read.ok && (read.manifest.id !== id || read.manifest.kind !== kind)) {
    return damaged(`manifest.json names set ${read.manifest.id} (${read.manifest.kind}), not this folder`);
  }
  if (read.ok) {
    const unsafe = await unsafeSetFiles(p, manifestFiles(read.manifest).map((f) => f.path));
    if (unsafe) return damaged(`damaged: ${unsafe}`);
  }
  const verification = read.ok ? await readVerification(p) : null;
  return read.ok
    ? { id, kind, status: 'complete', path: p, manifest: read.manifest, reason: null, verification }
    : damaged(read.reason);
}

export async function listSets(root: string): Promise<SetEntry[]> {
  await refuseLinkedFolders(root, CATALOG_DIRS);
  const out: SetEntry[] = [];
  for (const kind of SET_KINDS) {
    const dir = kindDir(root, kind);
    const names = await dirNames(dir, true);
    out.push(...(await Promise.all(names.map((id) => readSet(kind, id, path.join(dir, id))))));
  }
  for (const name of await dirNames(path.join(root, INCOMPLETE_DIR))) {
    const marker = await readStagingMarker(path.join(root, INCOMPLETE_DIR, name));
    out.push({
      id: marker?.id ?? name,
      kind: marker?.kind ?? 'daily',
      status: 'incomplete',
      path: path.join(root, INCOMPLETE_DIR, name),
      manifest: null,
      reason: 'left by a run that did not finish',
      verification: null,
    });
  }
  return out.sort(compareNewestFirst);
}

export async function findSet(root: string, id: string): Promise<SetEntry> {
  if (!isSetId(id)) {
    throw new UsageError('set.bad_id', `${JSON.stringify(id)} is not a set id`, { hint: 'Set ids look like mystocks_20261125_000003 or post_phase2_20261125; `pgtaos-backup list` shows them.' });
  }
  const sets = await listSets(root);
  const found = sets.find((s) => s.id === id && s.path.split(path.sep).at(-2) !== INCOMPLETE_DIR);
  if (!found) {
    throw new UsageError('set.not_found', `no set ${id} under ${root}`, { hint: 'Run `pgtaos-backup list` to see the sets there are.' });
  }
  return found;
}

const STAGING_MARKER = '.staging.json';

async function readStagingMarker(dir: string): Promise<{ id: string; kind: SetKind } | null> {
  try {
    const j = JSON.parse(await readFileNoFollow(path.join(dir, STAGING_MARKER))) as { id?: unknown; kind?: unknown };
    if (typeof j.id === 'string' && typeof j.kind === 'string' && (SET_KINDS as readonly string[]).includes(j.kind)) {
      return { id: j.id, kind: j.kind as SetKind };
    }
  } catch {
    /* no marker: still incomplete */
  }
  return null;
}

/** A set being written. It becomes visible only through commit(). */
export interface StagedSet {
  readonly id: string;
  readonly kind: SetKind;
  /** Write dumps here. */
  readonly dir: string;
  readonly finalDir: string;
  /** Writes the manifest last, then moves the folder into place. */
  commit(manifest: Manifest): Promise<string>;
  /** Removes everything written so far. Safe to call twice, and after commit (then it does nothing). */
  discard(): Promise<void>;
}

export async function stageSet(root: string, kind: SetKind, id: string): Promise<StagedSet> {
  const finalDir = path.join(kindDir(root, kind), id);
  const dir = path.join(root, INCOMPLETE_DIR, `${id}.${process.pid}`);
  // 0700 whatever the umask: another local user must not plant links in the catalog's folders.
  await fs.mkdir(path.join(root, INCOMPLETE_DIR), { recursive: true, mode: 0o700 });
  await fs.mkdir(kindDir(root, kind), { recursive: true, mode: 0o700 });
  await refuseLinkedFolders(root, [INCOMPLETE_DIR, kind]);
  await fs.mkdir(dir, { mode: 0o700 });
  await fs.writeFile(path.join(dir, STAGING_MARKER), JSON.stringify({ id, kind, pid: process.pid }), { flag: 'wx', mode: 0o600 });
  let committed = false;
  return {
    id,
    kind,
    dir,
    finalDir,
    async commit(manifest) {
      await fs.rm(path.join(dir, STAGING_MARKER), { force: true });
      await writeManifest(dir, manifest);
      try {
        await fs.access(finalDir);
        throw new JobError('set.exists', `a set already exists at ${finalDir}`, { hint: 'Nothing was overwritten; run again to get a new name.' });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
      await fs.rename(dir, finalDir);
      await fsyncDir(path.dirname(finalDir));
      committed = true;
      return finalDir;
    },
    async discard() {
      if (committed) return;
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The set `verify` checks when none is named: the newest complete daily or milestone holding a
 * database dump. Safety sets (the state a restore replaced, perhaps of another database) and
 * config snapshots are verified only when named.
 */
export function newestVerifiable(sets: SetEntry[], now: Date, engine?: string): SetEntry | undefined {
  // A set dated in the future sorts first but proves nothing about today's backups: never the default.
  // With an engine (verify --engines): the newest holding it, so engines dumped in runs of their own each get verified.
  const holds = (m: Manifest) => (engine === undefined ? engineNames(m).length > 0 : engineNames(m).includes(engine));
  return sets.find((s) => s.status === 'complete' && isScheduledBackup(s.kind) && s.manifest !== null && holds(s.manifest) && !futureStart(s.manifest, now));
}

/**
 * Removes what killed runs left in `.incomplete/` (anything this process did not stage). Only a
 * run holding the root's lock may call this: then no other run can be writing there.
 */
export async function removeLeftovers(root: string): Promise<{ name: string; bytes: number }[]> {
  const removed: { name: string; bytes: number }[] = [];
  const dir = path.join(root, INCOMPLETE_DIR);
  // Through a linked .incomplete, fs.rm would delete every folder behind the link.
  await refuseLinkedFolders(root, [INCOMPLETE_DIR]);
  // Only real folders are removed (dirNames lists no links); fs.rm unlinks links inside, never follows them.
  for (const name of await dirNames(dir)) {
    if (name.endsWith(`.${process.pid}`) || name.endsWith(`-${process.pid}`)) continue; // ours
    const p = path.join(dir, name);
    const bytes = await folderBytes(p);
    await fs.rm(p, { recursive: true, force: true });
    removed.push({ name, bytes });
  }
  return removed;
}

/** Sums the sizes of the regular files under a folder (for sets without a manifest). */
export async function folderBytes(dir: string): Promise<number> {
  let total = 0;
  let entries;
  try {
    // A set folder that is a link is not measured: that would list what lies behind it.
    if (!(await fs.lstat(dir)).isDirectory()) return 0;
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) total += await folderBytes(p);
    else if (e.isFile()) total += (await fs.stat(p)).size;
  }
  return total;
}
