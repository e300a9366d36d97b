/**
 * backup (and milestone): one set holding a dump of each selected engine, with its manifest.
 * Order: tools found -> servers reached and versions checked -> free space -> dump into a
 * staging folder -> manifest written last -> folder renamed into place.
 */
import os from 'node:os';
import { JobError, UsageError } from '../errors.js';
import { PostgresEngine } from '../engines/postgres/index.js';
import { TdengineEngine } from '../engines/tdengine.js';
import { tdengineCounts } from '../catalog/compare.js';
import type { Engine, EngineContext, EngineName, PreflightInfo } from '../engines/engine.js';
import { INCOMPLETE_DIR, listSets, removeLeftovers, stageSet, type SetEntry, type StagedSet } from '../catalog/sets.js';
import { setIdFor, uniqueId, type SetKind } from '../catalog/labels.js';
import { localTime } from '../catalog/time.js';
import { formatBytes, formatDuration } from '../shared/format.js';
import { freeBytes, spaceNeeded, GIB } from '../catalog/space.js';
import { MANIFEST_FORMAT, manifestFiles, type Manifest, type PostgresSection, type TdengineSection } from '../catalog/manifest.js';
import type { CommandOutcome, EngineReport } from '../report/result.js';
import { TOOL_NAME, TOOL_VERSION } from '../version.js';
import { gitInfo, type RunContext } from './context.js';
import { selectEngines } from './engines.js';

export interface BackupOptions {
  kind: Extract<SetKind, 'daily' | 'milestone' | 'safety'>;
  /** For milestones: the validated name. */
  milestone?: string;
  /** For milestones: allow a second one of the same name on the same day. */
  force?: boolean;
  /** Engines to dump; default: the --engines choice against the config. */
  engines?: EngineName[];
  /** Dump this database instead of the configured one (safety sets of a restore target). */
  postgresDatabase?: string;
  tdengineDatabase?: string;
}

export async function backup(ctx: RunContext, opts: BackupOptions): Promise<CommandOutcome> {
  const { config, log } = ctx;
  const engines = opts.engines ?? selectEngines(config, ctx.request.engines);
  const ectx: EngineContext = { log, signal: ctx.signal, env: ctx.env };
  const pgConfig = config.postgres && opts.postgresDatabase ? { ...config.postgres, database: opts.postgresDatabase } : config.postgres;

  const pgEngine = engines.includes('postgres') ? new PostgresEngine(pgConfig!) : null;
  const tdConfig = config.tdengine && opts.tdengineDatabase ? { ...config.tdengine, database: opts.tdengineDatabase } : config.tdengine;
  const tdEngine = engines.includes('tdengine') ? new TdengineEngine(tdConfig!) : null;
  // 1. Tools (and the TDengine password's presence): no connection is made when one is missing.
  const chosen: Engine[] = [pgEngine, tdEngine].filter((e): e is NonNullable<typeof e> => e !== null);
  for (const e of chosen) e.findTools(ctx.env);
  // Named after the database dumped: mystocks_..., or market_data_... for a TDengine-only run.
  const stem = opts.kind === 'milestone' ? opts.milestone! : pgEngine ? pgConfig!.database : tdConfig!.database;
  // A second milestone of the day is bad usage (exit 2): refused before any connection is made.
  refuseDuplicateMilestone(opts, setIdFor(opts.kind, localTime(ctx.now(), config.timezone), stem), await listSets(config.root));
  // A killed run's partial set is never a backup; this run holds the lock, so it can go now.
  for (const l of await removeLeftovers(config.root)) log.warn(`removed ${INCOMPLETE_DIR}/${l.name} (${formatBytes(l.bytes)}), left by a run that did not finish`);

  // 2. Servers and versions.
  const pre: Partial<Record<EngineName, PreflightInfo>> = {};
  if (pgEngine) {
    pre.postgres = await log.group(`PostgreSQL ${pgConfig!.host}:${pgConfig!.port}/${pgConfig!.database}: checks`, () => pgEngine.preflight(ectx));
    log.info(`server ${pre.postgres.serverVersion}, pg_dump ${pre.postgres.clientVersion}, database ${formatBytes(pre.postgres.estimatedBytes ?? 0)}`);
  }
  if (tdEngine) {
    const td = tdConfig!;
    pre.tdengine = await log.group(`TDengine ${td.host}:${td.port} (REST ${td.rest_port})/${td.database}: checks`, () => tdEngine.preflight(ectx));
    log.info(`server ${pre.tdengine.serverVersion}, taosdump ${pre.tdengine.clientVersion}`);
  }

  // 3. Free space: the configured floor, and room for a set as big as the last one.
  const sets = await listSets(config.root);
  const last = sets.find((s) => s.status === 'complete' && s.kind === 'daily');
  const lastBytes = last?.manifest?.bytes ?? null;
  const estimate = Object.values(pre).reduce<number | null>((a, p) => (p?.estimatedBytes == null ? a : (a ?? 0) + p.estimatedBytes), null);
  const free = await freeBytes(config.root);
  const needed = spaceNeeded(config.min_free_gb, lastBytes, estimate);
  if (free < needed) {
    throw new JobError('space.low', `only ${formatBytes(free)} free on ${config.root}; this backup needs at least ${formatBytes(needed)} (min_free_gb ${config.min_free_gb}${lastBytes ? `; the last set ${last!.id} is ${formatBytes(lastBytes)}` : ''})`, {
      hint: `Free space on that disk (\`pgtaos-backup prune --dry-run\` shows what retention would remove), or lower min_free_gb (now ${config.min_free_gb}; the runbook asks for ${5} GB).`,
    });
  }
  log.info(`free space on ${config.root}: ${formatBytes(free)} (needs ${formatBytes(needed)}; ${(free / GIB).toFixed(1)} GiB)`);

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
    let postgres: PostgresSection | undefined;
    let tdengine: TdengineSection | undefined;
    const reports: { postgres?: EngineReport; tdengine?: EngineReport } = {};
    if (pgEngine) {
      const t0 = Date.now();
      postgres = await log.group(`PostgreSQL: dump ${pgConfig!.database}`, () => pgEngine.dump(ectx, staged.dir, pre.postgres!));
      reports.postgres = engineReport(postgres, t0, postgres.tables);
    }
    if (tdEngine) {
      const t0 = Date.now();
      // Rows newer than the run's start are neither dumped (-E) nor counted.
      tdengine = await log.group(`TDengine: dump ${tdConfig!.database}`, () => tdEngine.dump(ectx, staged.dir, pre.tdengine!, startedAt));
      reports.tdengine = engineReport(tdengine, t0, tdengineCounts(tdengine));
    }
    const finishedAt = ctx.now();
    const manifest: Manifest = {
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
      ...(postgres ? { postgres } : {}),
      ...(tdengine ? { tdengine } : {}),
    };
    manifest.bytes = manifestFiles(manifest).reduce((a, f) => a + f.bytes, 0);
    if (ctx.signal.aborted) throw ctx.signal.reason;
    const finalDir = await staged.commit(manifest);
    log.info(`set ${id} complete: ${formatBytes(manifest.bytes)} in ${formatDuration(finishedAt.getTime() - startedAt.getTime())} at ${finalDir}`);
    // A whole dump is kept even when some counts failed (never lose a backup), but the run fails
    // and says which tables verify cannot compare (never lie about one).
    const uncounted = postgres?.count_errors ?? [];
    for (const e of uncounted) log.error(`${e.name}: pg_dump dumped it, but its row count failed (${e.error}); the set is kept, verify cannot compare this table`);
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

/** A milestone of that name already made today: refused unless --force (which keeps both). */
function refuseDuplicateMilestone(opts: BackupOptions, baseId: string, sets: SetEntry[]): void {
  if (opts.kind !== 'milestone' || opts.force || !sets.some((s) => s.id === baseId)) return;
  throw new UsageError('milestone.exists', `milestone set ${baseId} already exists`, { hint: 'A milestone of that name was taken today. Pass --force to keep both (the new one gets a -2 suffix). Nothing was changed.' });
}

/** What the report says of one engine's dump. */
export function engineReport(section: PostgresSection | TdengineSection, t0: number, tables: EngineReport['tables']): EngineReport {
  return {
    database: section.database,
    server_version: section.server_version,
    client_version: section.client_version,
    bytes: section.files.reduce((a, f) => a + f.bytes, 0),
    duration_ms: Date.now() - t0,
    tables,
  };
}
