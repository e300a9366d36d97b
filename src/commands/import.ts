/**
 * import <path>...: adopts backups from the old runbook's layout into the catalog, as sets with
 * manifests, so that list, verify, retention and the remotes take care of them.
 *
 * - Each path is read by the first registered engine whose importer takes it (a file or a folder):
 *   the importer checks it is a dump of that engine, names the set and writes its manifest section
 *   (engines/postgres-import.ts: pg_dump archives; engines/tdengine/import.ts: taosdump folders).
 * - Milestone or daily by name (catalog/import-names.ts).
 * - The originals are copied (then checked by SHA-256), never changed; `--move` removes them once
 *   the set is complete. A path already imported (the manifest's imported_from) is skipped.
 * - Every path is read and checked before any set is written: one unreadable dump imports nothing.
 *
 * An imported dump has no row counts (they can only be had by restoring it): its manifest says
 * `row_counts: "unknown"` and no tables. host/port are "unknown"/0: the old files do not say which
 * server they came from.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { JobError, UsageError } from '../errors.js';
import type { EngineImporter, ForeignDump } from '../engines/plugin.js';
import { enginePlugins } from '../engines/registry.js';
import { fileEntry } from '../catalog/checksum.js';
import { uniqueId } from '../catalog/labels.js';
import { MANIFEST_FORMAT, withSections, type FileEntry, type Manifest } from '../catalog/manifest.js';
import { listSets, stageSet } from '../catalog/sets.js';
import { localTime } from '../catalog/time.js';
import { formatBytes } from '../shared/format.js';
import type { CommandOutcome, ListEntry } from '../report/result.js';
import { TOOL_NAME, TOOL_VERSION } from '../version.js';
import type { RunContext } from './context.js';
import { toListEntry } from './list.js';

export { parseTaosDbsSql, type TaosDumpInfo } from '../engines/tdengine/import.js';

/** A path read and checked, with the engine that will adopt it. */
interface Plan extends ForeignDump {
  source: string;
  engine: string;
}

interface Importer extends EngineImporter {
  engine: string;
}

async function plan(importers: Importer[], raw: string): Promise<Plan> {
  const source = path.resolve(raw);
  let st;
  try {
    st = await fs.stat(source);
  } catch {
    throw new UsageError('import.missing', `${raw} does not exist`, { hint: `Give the paths of ${importers.map((i) => i.what).join(' or ')}. Nothing was imported.` });
  }
  const takes = st.isFile() ? 'file' : st.isDirectory() ? 'folder' : null;
  // The first registered engine that adopts this kind of path and claims it reads it.
  const candidates = takes === null ? [] : importers.filter((i) => i.takes === takes || i.takes === 'both');
  let importer = candidates[0];
  for (const i of candidates) {
    if (!i.claims || (await i.claims(source, st))) {
      importer = i;
      break;
    }
  }
  if (!importer) throw new UsageError('import.bad_path', `${source} is neither a file nor a folder`, { hint: `Give ${importers.map((i) => i.what).join(' or ')}.` });
  return { ...(await importer.read(source, st)), source, engine: importer.engine };
}

export async function importSets(ctx: RunContext): Promise<CommandOutcome> {
  const { config, log } = ctx;
  const paths = ctx.request.paths;
  const importers: Importer[] = enginePlugins().flatMap((p) => (p.importer ? [{ ...p.importer(ctx), engine: p.name }] : []));
  if (paths.length === 0) throw new UsageError('import.no_paths', 'no paths to import', { hint: `pgtaos-backup import ${importers.map((i) => i.example).join(' ')}` });

  // 1. Read and check everything first: one bad path imports nothing.
  const plans: Plan[] = [];
  for (const p of paths) {
    const pl = await log.group(`reading ${p}`, () => plan(importers, p));
    log.info(`${pl.source}: ${pl.summary}, dumped ${localTime(pl.startedAt, config.timezone).iso} -> ${pl.name.kind} ${pl.name.id}`);
    plans.push(pl);
  }

  // 2. Adopt each one as a set.
  const existing = await listSets(config.root);
  const taken = new Set(existing.map((s) => s.id));
  const imported: string[] = [];
  const skipped: string[] = [];
  const entries: ListEntry[] = [];
  for (const pl of plans) {
    if (ctx.signal.aborted) throw ctx.signal.reason;
    const already = existing.find((s) => s.manifest?.imported_from?.includes(pl.source));
    if (already) {
      log.info(`${pl.source} was imported before, as ${already.id}: skipped`);
      skipped.push(`${pl.source} (already ${already.id})`);
      entries.push(await toListEntry(already));
      continue;
    }
    const id = uniqueId(pl.name.id, (c) => taken.has(c));
    taken.add(id);
    const staged = await stageSet(config.root, pl.name.kind, id);
    try {
      const files: FileEntry[] = [];
      await pl.copyInto(staged.dir);
      for (const [rel, want] of pl.sums) {
        const got = await fileEntry(staged.dir, rel);
        if (got.bytes !== want.bytes || got.sha256 !== want.sha256) {
          throw new JobError('import.copy_differs', `the copy of ${rel} differs from the original (${got.bytes} vs ${want.bytes} bytes): was it written to while being imported?`, { hint: 'Nothing was kept; run the import again once nothing writes to the old files.' });
        }
        files.push(got);
      }
      const iso = localTime(pl.startedAt, config.timezone).iso;
      const manifest: Manifest = withSections({
        format: MANIFEST_FORMAT,
        id,
        kind: pl.name.kind,
        milestone: pl.name.milestone,
        status: 'complete',
        started_at: iso,
        finished_at: iso,
        timezone: config.timezone,
        tool: { name: TOOL_NAME, version: TOOL_VERSION },
        hostname: os.hostname(),
        git: null,
        bytes: files.reduce((a, f) => a + f.bytes, 0),
        imported_from: [pl.source],
      }, [[pl.engine, pl.section(files, iso)]]);
      // A signal during the copy must not commit the set: the copy may be whole, but the run is cancelled.
      if (ctx.signal.aborted) throw ctx.signal.reason;
      const finalDir = await staged.commit(manifest);
      log.info(`adopted ${pl.source} as ${pl.name.kind} set ${id} (${formatBytes(manifest.bytes)}, ${files.length} file(s), checksums recorded; row counts unknown until verify restores it)`);
      if (ctx.request.move) {
        await fs.rm(pl.source, { recursive: true, force: true });
        log.info(`--move: removed the original ${pl.source}`);
      }
      imported.push(id);
      const entry = (await listSets(config.root)).find((s) => s.path === finalDir);
      if (entry) entries.push(await toListEntry(entry));
    } catch (err) {
      await staged.discard();
      throw err;
    }
  }
  const message = `imported ${imported.length} set(s)${imported.length ? `: ${imported.join(', ')}` : ''}${skipped.length ? `; ${skipped.length} already in the catalog: ${skipped.join(', ')}` : ''}${ctx.request.move ? '' : '; the original files were left as they were'}`;
  log.info(message);
  return { message, sets: entries };
}
