/**
 * restore, TDengine: a safety dump of the target, then the target dropped (taosdump -i would merge
 * into what exists), then taosdump -W into it and the counts compared with the manifest.
 */
import path from 'node:path';
import { JobError } from '../../errors.js';
import { compareCounts, renderDifferences } from '../../catalog/compare.js';
import { tdengineCounts } from './compare.js';
import { manifestFiles } from '../../catalog/manifest.js';
import { assertSetSafe } from '../../catalog/set-files.js';
import { LOGS_DIR, type SetEntry } from '../../catalog/sets.js';
import type { RestoreKit } from '../plugin.js';
import type { RunContext } from '../../commands/context.js';
import { requireWholeSet, tdengineDumpDir } from '../restore-check.js';
import { rollbackCommand, step, type RestoreStage } from '../restore-stage.js';
import { formatBytes } from '../../shared/format.js';
import type { Check, CommandOutcome } from '../../report/result.js';
import type { EngineContext } from '../engine.js';
import { compareLater, TdengineEngine } from '../tdengine.js';
import type { TdengineConfig, TdengineSection } from './schema.js';

export async function restoreTdengine(ctx: RunContext, cfg: TdengineConfig, set: SetEntry, td: TdengineSection, target: string, kit: RestoreKit): Promise<CommandOutcome> {
  const { config, log, env } = ctx;
  const engine = new TdengineEngine({ ...cfg, database: target });
  engine.findTools(env);
  const ectx: EngineContext = { log, signal: ctx.signal, env };
  const checks: Check[] = [];
  const t0 = Date.now();
  let stage: RestoreStage = { touched: false, setId: set.id, target };
  const now = () => stage;
  checks.push(await step(ctx, now, () => requireWholeSet(set, 'tdengine', null, ectx)));
  const exists = await step(ctx, now, async () => {
    await engine.preflight(ectx).catch((err: unknown) => {
      // A target that does not exist yet is fine for a restore; anything else is not.
      if (!(err instanceof JobError && err.code === 'tdengine.no_database')) throw err;
    });
    return engine.databaseExists(env, target, ctx.signal);
  });
  let safetyId: string | null = null;
  if (exists) {
    log.info(`taking a safety set of TDengine ${target} before replacing it`);
    const safety = await step(ctx, now, () => kit.safetySet(target));
    safetyId = safety.set!.id;
    checks.push({ name: 'safety set', result: 'passed', detail: `${safetyId} (${formatBytes(safety.set!.bytes)}) at ${safety.set!.path}` });
  } else {
    checks.push({ name: 'safety set', result: 'skipped', detail: `${target} did not exist; nothing was replaced` });
  }
  // From the drop on, the target is touched: every stop says so and names the roll-back.
  stage = { touched: true, setId: set.id, target, engine: 'tdengine', safetyId };
  const restored = await step(ctx, now, async () => {
    // Only now, with its content saved, is the target dropped: taosdump -i merges into what exists.
    if (exists) await engine.dropRestoreTarget(env, target, ctx.signal);
    const resultFile = path.join(config.root, LOGS_DIR, `restore-${set.id}-tdengine-result.txt`);
    const out = await log.group(`TDengine: restore ${set.id} into ${target} (taosdump -W ${td.database}=${target})`, () =>
      // taosdump -i reads the whole folder: no link or stray path in it, checked again just before.
      assertSetSafe(set.path, manifestFiles(set.manifest!).map((f) => f.path), set.id).then(() => engine.restore(ectx, tdengineDumpDir(set), target, resultFile, { allowProduction: true })),
    );
    for (const w of out.warnings) log.warn(`taosdump: ${w}`);
    checks.push({ name: 'tdengine restore', result: 'passed', detail: `taosdump -i into ${target} finished without a failure summary` });
    return engine.countDatabase(env, target, td.end_time, ctx.signal);
  });
  const diffs = td.row_counts === 'unknown' ? [] : compareCounts(tdengineCounts(td), tdengineCounts(restored));
  checks.push(td.row_counts === 'unknown'
    ? { name: 'tdengine row counts', result: 'skipped', detail: 'imported set: no row counts on record' }
    : { name: 'tdengine row counts', result: diffs.length ? 'failed' : 'passed', detail: diffs.length ? `${diffs.length} differ: ${diffs.map((d) => d.table).join(', ')}` : 'rows and child tables match the manifest' });
  if (diffs.length) for (const l of renderDifferences(diffs)) log.error(`  ${l}`);
  // Rows dated after the backup's start (future-dated calendars) are restored too: compared apart, as verify does.
  const later = td.row_counts === 'unknown' ? null : compareLater(td.rows_after_end_time, restored, td.end_time);
  if (later) {
    checks.push({ name: 'tdengine rows after end_time', result: later.ok ? 'passed' : 'failed', detail: later.detail });
    if (!later.ok) log.error(`restored TDengine ${target}: ${later.detail}`);
  }
  const bad = diffs.length > 0 || (later !== null && !later.ok);
  const rollback = rollbackCommand('tdengine', target, safetyId);
  log.info(`to roll back: ${rollback}`);
  return {
    message: `${bad ? 'restored with DIFFERENCES' : 'restored'} ${set.id} (TDengine) into ${target}. To roll back: ${rollback}`,
    failed: bad,
    set: { id: set.id, kind: set.kind, path: set.path, bytes: set.manifest!.bytes },
    checks,
    engines: { tdengine: { database: target, server_version: td.server_version, client_version: td.client_version, bytes: td.files.reduce((a, f) => a + f.bytes, 0), duration_ms: Date.now() - t0, tables: tdengineCounts(restored) } },
  };
}
