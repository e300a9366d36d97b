/**
 * backup (and milestone): one set holding a dump of each selected engine, with its manifest.
 * Order: tools found -> servers reached and versions checked -> free space -> dump into a
 * staging folder -> manifest written last -> folder renamed into place.
 */
import os from 'node:os';
import { JobError, UsageError } from '../errors.js';
import type { EngineContext } from '../engines/engine.js';
import type { Engine, Preflight, SectionBase } from '../engines/plugin.js';
import { INCOMPLETE_DIR, listSets, removeLeftovers, stageSet, type SetEntry, type StagedSet } from '../catalog/sets.js';
import { setIdFor, uniqueId, type SetKind } from '../catalog/labels.js';
import { localTime } from '../catalog/time.js';
import { formatBytes, formatDuration } from '../shared/format.js';
import { freeBytes, spaceNeeded, GIB } from '../catalog/space.js';
import { MANIFEST_FORMAT, manifestFiles, withSections, type Manifest } from '../catalog/manifest.js';
import type { CommandOutcome, EngineReport } from '../report/result.js';
import { TOOL_NAME, TOOL_VERSION } from '../version.js';
import { gitInfo, type RunContext } from './context.js';
import { createEngine, pluginOf, selectEngines } from './engines.js';

export interface BackupOptions {
  kind: Extract<SetKind, 'daily' | 'milestone' | 'safety'>;
  /** For milestones: the validated name. */
  milestone?: string;
  /** For milestones: allow a second one of the same name on the same day. */
  force?: boolean;
  /** Engines to dump; default: the --engines choice against the config. */
  engines?: string[];
  /** Per engine: dump this database instead of the configured one (safety sets of a restore target). */
  databases?: Readonly<Record<string, string>>;
  /** Per engine: dump only these tables (the safety set of a table restore). */
  tables?: Readonly<Record<string, readonly string[]>>;
}

/** One engine of the run, with what its steps found. */
interface Part {
  name: string;
  label: string;
  engine: Engine;
  pre?: Preflight;
}

export async function backup(ctx: RunContext, opts: BackupOptions): Promise<CommandOutcome> {
  const { config, log } = ctx;
  const names = opts.engines ?? selectEngines(config, ctx.request.engines);
  const ectx: EngineContext = { log, signal: ctx.signal, env: ctx.env };
  const databases: Record<string, string> = { ...opts.databases };
  const parts: Part[] = names.map((name) => ({ name, label: pluginOf(name).label, engine: createEngine(config, name, databases[name], opts.tables?.[name]) }));
  // 1. Tools (and secrets' presence): no connection is made when one is missing.
  for (const p of parts) p.engine.findTools(ctx.env);
  // Named after the database dumped, the first engine's: mystocks_..., or market_data_... for a TDengine-only run.
  const stem = opts.kind === 'milestone' ? opts.milestone! : parts[0]!.engine.database;
  // A second milestone of the day is bad usage (exit 2): refused before any connection is made.
  refuseDuplicateMilestone(opts, setIdFor(opts.kind, localTime(ctx.now(), config.timezone), stem), await listSets(config.root));
  // A killed run's partial set is never a backup; this run holds the lock, so it can go now.
  for (const l of await removeLeftovers(config.root)) log.warn(`removed ${INCOMPLETE_DIR}/${l.name} (${formatBytes(l.bytes)}), left by a run that did not finish`);

  // 2. Servers and versions.
  for (const p of parts) {
    const pre = await log.group(`${p.engine.where}: checks`, () => p.engine.preflight(ectx));
    p.pre = pre;
    log.info(pre.summary);
  }

  // 3. Free space: the configured floor, and room for a set as big as the last one.
  const sets = await listSets(config.root);
  await requireFreeSpace(ctx, sets, parts);

  // 4. Dump into a staging folder.
  const startedAt = ctx.now();
  const local = localTime(startedAt, config.timezone);
  const baseId = setIdFor(opts.kind, local, stem);
  const taken = new Set(sets.map((s) => s.id));
  // Again with the dump's own start time: the checks may have run past midnight.
  refuseDuplicateMilestone(opts, baseId, sets);
  const id = uniqueId(baseId, (c) => taken.has(c));
  const staged: StagedSet = await stageSet(config.root, opts.kind, id);
  try {
    const sections: [string, unknown][] = [];
    const reports: Record<string, EngineReport> = {};
    const uncounted: { name: string; error: string }[] = [];
    for (const p of parts) {
      const t0 = Date.now();
      const dumped = await log.group(`${p.label}: dump ${p.engine.database}`, () => p.engine.dump(ectx, staged.dir, p.pre!, startedAt));
      sections.push([p.name, dumped.section]);
      reports[p.name] = engineReport(dumped.section, t0, dumped.tables);
      uncounted.push(...dumped.uncounted);
    }
    const finishedAt = ctx.now();
    const manifest: Manifest = withSections({
      format: MANIFEST_FORMAT,
      id,
      kind: opts.kind,
      milestone: opts.kind === 'milestone' ? opts.milestone! : null,
      status: 'complete',
      started_at: local.iso,
      finished_at: localTime(finishedAt, config.timezone).iso,
      timezone: config.timezone,
      tool: { name: TOOL_NAME, version: TOOL_VERSION },
      hostname: os.hostname(),
      git: gitInfo(ctx.env),
      bytes: 0,
    }, sections);
    manifest.bytes = manifestFiles(manifest).reduce((a, f) => a + f.bytes, 0);
    if (ctx.signal.aborted) throw ctx.signal.reason;
    const finalDir = await staged.commit(manifest);
    log.info(`set ${id} complete: ${formatBytes(manifest.bytes)} in ${formatDuration(finishedAt.getTime() - startedAt.getTime())} at ${finalDir}`);
    // A whole dump is kept even when some counts failed (never lose a backup), but the run fails
    // and says which tables verify cannot compare (never lie about one).
    for (const e of uncounted) log.error(`${e.name}: it was dumped, but its row count failed (${e.error}); the set is kept, verify cannot compare this table`);
    return {
      ...(uncounted.length ? { failed: true } : {}),
      message: uncounted.length
        ? `${opts.kind} set ${id} kept (${formatBytes(manifest.bytes)}), but the row count of ${uncounted.map((e) => e.name).join(', ')} failed: ${uncounted.map((e) => e.error).join('; ')}`
        : `${opts.kind} set ${id} complete (${formatBytes(manifest.bytes)})`,
      set: { id, kind: opts.kind, path: finalDir, bytes: manifest.bytes },
      engines: reports,
      free_bytes: await freeBytes(config.root),
    };
  } catch (err) {
    await staged.discard();
    log.error(`no set was written; partial files removed. Earlier sets are untouched.`);
    throw err;
  }
}

/** The configured floor, and room for a set as big as the last daily (or the engines' estimate). */
async function requireFreeSpace(ctx: RunContext, sets: SetEntry[], parts: Part[]): Promise<void> {
  const { config, log } = ctx;
  const last = sets.find((s) => s.status === 'complete' && s.kind === 'daily');
  const lastBytes = last?.manifest?.bytes ?? null;
  const estimate = parts.reduce<number | null>((a, p) => (p.pre?.estimatedBytes == null ? a : (a ?? 0) + p.pre.estimatedBytes), null);
  const free = await freeBytes(config.root);
  const needed = spaceNeeded(config.min_free_gb, lastBytes, estimate);
  if (free < needed) {
    throw new JobError('space.low', `only ${formatBytes(free)} free on ${config.root}; this backup needs at least ${formatBytes(needed)} (min_free_gb ${config.min_free_gb}${lastBytes ? `; the last set ${last!.id} is ${formatBytes(lastBytes)}` : ''})`, {
      hint: `Free space on that disk (\`pgtaos-backup prune --dry-run\` shows what retention would remove), or lower min_free_gb (now ${config.min_free_gb}; the runbook asks for ${5} GB).`,
    });
  }
  log.info(`free space on ${config.root}: ${formatBytes(free)} (needs ${formatBytes(needed)}; ${(free / GIB).toFixed(1)} GiB)`);
}

/** A milestone of that name already made today: refused unless --force (which keeps both). */
function refuseDuplicateMilestone(opts: BackupOptions, baseId: string, sets: SetEntry[]): void {
  if (opts.kind !== 'milestone' || opts.force || !sets.some((s) => s.id === baseId)) return;
  throw new UsageError('milestone.exists', `milestone set ${baseId} already exists`, { hint: 'A milestone of that name was taken today. Pass --force to keep both (the new one gets a -2 suffix). Nothing was changed.' });
}

/** What the report says of one engine's dump. */
export function engineReport(section: SectionBase & { server_version?: string; client_version?: string }, t0: number, tables: EngineReport['tables']): EngineReport {
  return {
    database: section.database,
    server_version: section.server_version ?? '',
    client_version: section.client_version ?? '',
    bytes: section.files.reduce((a, f) => a + f.bytes, 0),
    duration_ms: Date.now() - t0,
    tables,
  };
}
