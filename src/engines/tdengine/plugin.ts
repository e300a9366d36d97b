/**
 * TDengine as a registered engine: the adapter between the commands' lifecycle (plugin.ts) and
 * TdengineEngine (taosdump through the REST API's counts).
 */
import path from 'node:path';
import { compareCounts, renderDifferences } from '../../catalog/compare.js';
import { tdengineCounts } from './compare.js';
import { manifestFiles } from '../../catalog/manifest.js';
import { assertSetSafe } from '../../catalog/set-files.js';
import { LOGS_DIR, type SetEntry } from '../../catalog/sets.js';
import type { RunContext } from '../../commands/context.js';
import { scratchDatabase } from '../../inputs/scratch.js';
import type { Check } from '../../report/result.js';
import type { EngineContext, PreflightInfo } from '../engine.js';
import { tdengineImporter } from './import.js';
import { TDENGINE_OPTIONS } from '../options.js';
import { defineEngine, type Dumped, type Engine, type Preflight, type ScratchContext, type ScratchOutcome, type RestoreKit } from '../plugin.js';
import { compareLater, TDENGINE_DUMP_DIR, TdengineEngine } from '../tdengine.js';
import { restoreTdengine } from './restore-target.js';
import { tdengineSchema, tdengineSection, type TdengineConfig, type TdengineSection } from './schema.js';

class TdengineLifecycle implements Engine<TdengineSection> {
  private readonly td: TdengineEngine;

  constructor(private readonly cfg: TdengineConfig) {
    this.td = new TdengineEngine(cfg);
  }

  get database(): string {
    return this.cfg.database;
  }

  get where(): string {
    return `TDengine ${this.cfg.host}:${this.cfg.port} (REST ${this.cfg.rest_port})/${this.cfg.database}`;
  }

  findTools(env: NodeJS.ProcessEnv): void {
    this.td.findTools(env);
  }

  async preflight(ctx: EngineContext): Promise<Preflight> {
    const pre = await this.td.preflight(ctx);
    return { ...pre, summary: `server ${pre.serverVersion}, taosdump ${pre.clientVersion}` };
  }

  async dump(ctx: EngineContext, stagingDir: string, pre: PreflightInfo, startedAt: Date): Promise<Dumped<TdengineSection>> {
    // Rows newer than the run's start are neither dumped (-E) nor counted.
    const section = await this.td.dump(ctx, stagingDir, pre, startedAt);
    return { section, tables: tdengineCounts(section), uncounted: [] };
  }

  /** Before the root, its log or the lock exist: a scratch equal to the database the set was dumped from is bad configuration. */
  async checkSet(section: TdengineSection): Promise<void> {
    await this.td.checkScratch(scratchDatabase(this.cfg), { database: section.database });
  }

  /** taosdump -i into the scratch database; its counts against the manifest; the scratch dropped once it was made. */
  async restoreScratch(ctx: ScratchContext, set: SetEntry, section: TdengineSection, checks: Check[]): Promise<ScratchOutcome> {
    const { log, env } = ctx;
    const td = this.td;
    const scratch = scratchDatabase(this.cfg);
    const t0 = Date.now();
    // taosdump's result file goes beside the run's logs, never into the set (its checksums stay true).
    const resultFile = path.join(ctx.root, LOGS_DIR, `verify-${set.id}-tdengine-result.txt`);
    // Set once the scratch guard passed: a refused scratch (the dump's own database) is never dropped.
    let scratchMade = false;
    try {
      const out = await log.group(`TDengine: restore ${set.id} into scratch database ${scratch} (taosdump -W ${section.database}=${scratch})`, async () => {
        // The set is passed so the database its dump records is refused as scratch BEFORE any DROP.
        await assertSetSafe(set.path, manifestFiles(set.manifest!).map((f) => f.path), set.id);
        await td.recreateScratch(env, scratch, ctx.signal, { dumpDir: path.join(set.path, TDENGINE_DUMP_DIR), database: section.database });
        scratchMade = true;
        return td.restore(ctx, path.join(set.path, TDENGINE_DUMP_DIR), scratch, resultFile);
      });
      for (const w of out.warnings) log.warn(`taosdump: ${w}`);
      checks.push({ name: 'tdengine restore', result: 'passed', detail: `taosdump -i into ${scratch} finished without a failure summary${out.warnings.length ? ` (${out.warnings.length} benign ERROR/WARN lines)` : ''}` });
      const restored = await td.countDatabase(env, scratch, section.end_time, ctx.signal);
      let failed = false;
      if (section.row_counts === 'unknown') {
        checks.push({ name: 'tdengine row counts', result: 'skipped', detail: 'imported set: the manifest has no row counts to compare with' });
      } else {
        const diffs = compareCounts(tdengineCounts(section), tdengineCounts(restored));
        checks.push({
          name: 'tdengine row counts',
          result: diffs.length === 0 ? 'passed' : 'failed',
          detail: diffs.length === 0 ? `${section.stables.length} super tables, ${section.tables.length} normal tables: rows and child tables match the manifest` : `${diffs.length} differ: ${diffs.map((d) => d.table).join(', ')}`,
        });
        if (diffs.length) {
          failed = true;
          log.error(`restored TDengine counts differ from the manifest of ${set.id}:`);
          for (const l of renderDifferences(diffs)) log.error(`  ${l}`);
        }
        // rows dated after end_time (future-dated calendars) are dumped too and compared apart
        const later = compareLater(section.rows_after_end_time, restored, section.end_time);
        checks.push({ name: 'tdengine rows after end_time', result: later.ok ? 'passed' : 'failed', detail: later.detail });
        if (!later.ok) {
          failed = true;
          log.error(`restored TDengine copy of ${set.id}: ${later.detail}`);
        }
      }
      const report = { database: scratch, server_version: section.server_version, client_version: section.client_version, bytes: section.files.reduce((a, f) => a + f.bytes, 0), duration_ms: Date.now() - t0, tables: tdengineCounts(restored) };
      return { failed, report };
    } catch (err) {
      if (!ctx.signal.aborted) checks.push({ name: 'tdengine restore', result: 'failed', detail: err instanceof Error ? err.message : String(err) });
      throw err;
    } finally {
      if (scratchMade) {
        await td.dropScratch(env, scratch).then(
          () => log.info(`dropped scratch database ${scratch}`),
          (e: unknown) => log.error(`could not drop TDengine scratch database ${scratch}: ${(e as Error).message}; drop it by hand`),
        );
      }
    }
  }

  restoreTarget(ctx: RunContext, set: SetEntry, target: string, kit: RestoreKit) {
    return restoreTdengine(ctx, this.cfg, set, set.manifest!.tdengine!, target, kit);
  }
}

export const tdenginePlugin = defineEngine({
  name: 'tdengine',
  label: 'TDengine',
  configSchema: tdengineSchema,
  manifestSchema: tdengineSection,
  secretEnv: TDENGINE_OPTIONS.secretInputs.map((s) => s.env),
  pathKeys: ['bin_dir'],
  counts: (section) => tdengineCounts(section),
  databases: (cfg) => ({ database: cfg.database, scratch: cfg.scratch_database ?? null }),
  importer: (ctx) => tdengineImporter(ctx),
  create: (cfg, opts) => new TdengineLifecycle(opts?.database ? { ...cfg, database: opts.database } : cfg),
});
