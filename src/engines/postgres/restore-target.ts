/**
 * restore, PostgreSQL: the target stays whole until a complete, checked copy can replace it.
 *   1. the set is read first (checksums, pg_restore --list): a damaged set touches nothing;
 *   2. a safety set of the target, if it exists;
 *   3. pg_restore (never --clean) into a new database `<target>_pgtaos_new`, shaped like the target
 *      (owner, encoding, locale; settings and grants after), and its counts compared with the manifest;
 *   4. one transaction renames the target to `<target>_pgtaos_old` and the copy to the target; the old
 *      one is then dropped (the safety set holds it). The target's other sessions are ended for that.
 * Until step 4 commits, any stop (failure, SIGINT/SIGTERM) leaves the target as it was and drops the copy.
 * This file is the order of the steps and what a stop says; the steps are the engine's (engines/postgres/).
 */
import { PostgresEngine, compareWithManifest, pgDumpPath, refuseOldCopy, stagingName } from './index.js';
import type { EngineContext } from '../engine.js';
import type { PostgresSection } from './schema.js';
import type { SetEntry } from '../../catalog/sets.js';
import { formatBytes } from '../../shared/format.js';
import type { Check, CommandOutcome } from '../../report/result.js';
import type { RestoreKit } from '../plugin.js';
import type { RunContext } from '../../commands/context.js';
import { requireWholeSet } from '../restore-check.js';
import { RestoreCancelledError, rollbackCommand, step, type RestoreStage } from '../restore-stage.js';
import { globalsToApply, restoreGlobals } from './restore-globals.js';

/** What every PostgreSQL restore starts from: the set's section, an engine pointed at the target with its tools found, the tools' context. */
export function openRestore(ctx: RunContext, set: SetEntry, target: string): { pg: PostgresSection; engine: PostgresEngine; ectx: EngineContext } {
  const engine = new PostgresEngine({ ...ctx.config.postgres!, database: target });
  engine.findTools(ctx.env);
  return { pg: set.manifest!.postgres!, engine, ectx: { log: ctx.log, signal: ctx.signal, env: ctx.env } };
}

/** Over 80 lines: the four steps read in order, and each updates the stage a stop is reported against. */
export async function restorePostgres(ctx: RunContext, set: SetEntry, target: string, kit: RestoreKit): Promise<CommandOutcome> {
  const { config, log, env } = ctx;
  const { pg, engine, ectx } = openRestore(ctx, set, target);
  const checks: Check[] = [];
  const t0 = Date.now();
  let stage: RestoreStage = { touched: false, setId: set.id, target };
  const now = () => stage;

  // 1. The set, then the server: nothing is touched until both are known good.
  checks.push(await step(ctx, now, () => requireWholeSet(set, 'postgres', engine.archives, ectx)));
  const globalsFile = await step(ctx, now, () => globalsToApply(set, ctx.request.withGlobals));
  const timescaleVersion = pg.extensions.find((e) => e.name === 'timescaledb')?.version;
  const exists = await step(ctx, now, async () => {
    if (timescaleVersion !== undefined) await engine.requireExtension(env, 'timescaledb', timescaleVersion);
    await refuseOldCopy((name) => engine.databaseExists(env, name), target);
    return engine.databaseExists(env, target);
  });

  // 2. Safety set of what is about to be replaced. If it fails, the restore does not start.
  let safetyId: string | null = null;
  if (exists) {
    log.info(`taking a safety set of ${target} before replacing it`);
    const safety = await step(ctx, now, () => kit.safetySet(target));
    safetyId = safety.set!.id;
    checks.push({ name: 'safety set', result: 'passed', detail: `${safetyId} (${formatBytes(safety.set!.bytes)}) at ${safety.set!.path}` });
  } else {
    log.info(`${target} does not exist: it will be created (nothing to keep a safety copy of)`);
    checks.push({ name: 'safety set', result: 'skipped', detail: `${target} did not exist; nothing was replaced` });
  }
  // The roles and tablespaces before the database, whose owners and grants name them.
  if (globalsFile) checks.push(await step(ctx, now, () => restoreGlobals(globalsFile, (text) => engine.applyGlobals(env, text), log, `${config.postgres!.host}:${config.postgres!.port}`)));

  // 3. A new database, filled and checked while the target stays as it is.
  const staging = stagingName(target);
  stage = { touched: false, setId: set.id, target, staging };
  log.info(`restoring into a new database ${staging}; ${target} is replaced only once it is complete and its counts match (the server needs room for both${pg.database_bytes ? `: about ${formatBytes(pg.database_bytes)} more` : ''} until the old copy is dropped)`);
  let swapped = false;
  try {
    const restored = await step(ctx, now, async () => {
      await engine.createStaging(env, staging, exists ? target : null);
      const file = await pgDumpPath(set);
      await log.group(`PostgreSQL: restore ${set.id} into ${staging}`, () =>
        engine.restore(ectx, file, staging, { jobs: config.postgres!.jobs, timescale: timescaleVersion !== undefined, noOwner: false }),
      );
      checks.push({ name: 'postgres restore', result: 'passed', detail: `pg_restore into the new database ${staging} succeeded` });
      // Counted by the rules of the set's own manifest format, as verify does.
      return engine.countDatabase(env, staging, log, ctx.signal, set.manifest!.format);
    });
    checks.push(...(await step(ctx, now, async () => compareWithManifest(log, set, staging, restored))));
    for (const t of restored.tables) log.info(`  ${t.name}: ${t.rows} rows`);

    // 4. The swap: from its commit on, the target holds the set.
    await step(ctx, now, async () => {
      if (exists) await engine.shapeLike(env, staging, target);
      const leftover = await engine.swapIn(env, staging, target, exists, (l) => log.info(l));
      swapped = true;
      if (leftover) log.warn(leftover);
      log.info(exists ? `${staging} renamed to ${target}; the database it replaced was dropped (the safety set ${safetyId} holds it)` : `${staging} renamed to ${target}`);
    });
    stage = { touched: true, setId: set.id, target, engine: 'postgres', safetyId };
    checks.push({ name: 'postgres swap', result: 'passed', detail: exists ? `${target} replaced by the restored copy in one transaction` : `${target} created from the restored copy` });
    const rollback = rollbackCommand('postgres', target, safetyId);
    if (ctx.signal.aborted) {
      // The signal came after the swap: the restore is whole, say so rather than "run it again".
      throw new RestoreCancelledError(`cancelled after the restore had finished: ${target} holds set ${set.id} (its counts matched the manifest)`, `Nothing to redo. To roll back: ${rollback}`);
    }
    log.info(`to roll back: ${rollback}`);
    return {
      message: `restored ${set.id} into ${target}. To roll back: ${rollback}`,
      failed: false,
      set: { id: set.id, kind: set.kind, path: set.path, bytes: set.manifest!.bytes },
      checks,
      engines: { postgres: { database: target, server_version: pg.server_version, client_version: pg.client_version, bytes: set.manifest!.bytes, duration_ms: Date.now() - t0, tables: restored.tables } },
    };
  } finally {
    // Not swapped in (failed, cancelled): the copy goes; it holds nothing the set does not.
    if (!swapped) {
      await engine.dropStaging(env, staging).then(
        () => log.info(`dropped the unfinished copy ${staging}; ${target} was not touched`),
        (e: unknown) => log.error(`could not drop the unfinished copy ${staging}: ${(e as Error).message}; drop it by hand (dropdb ${staging}). ${target} was not touched.`),
      );
    }
  }
}
