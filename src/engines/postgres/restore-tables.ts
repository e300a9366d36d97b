/**
 * restore --table: some tables of a set back into an existing database, the rest of it untouched.
 *   1. the names are checked against the manifest and the archive (an unknown one: exit 2, nothing touched);
 *      the set is read first (checksums, pg_restore --list), the target must exist;
 *   2. a safety set of the target (no safety set, no restore);
 *   3. one pg_restore --single-transaction --clean --if-exists -L <the tables' entries>: the tables
 *      are dropped and recreated with their data, indexes, constraints, owned sequences and grants
 *      in ONE transaction, so a failure or a stop leaves them as they were (an object of another
 *      table that depends on one, e.g. a view, makes the DROP fail: nothing is changed);
 *   4. their counts against the manifest, and the roll-back command (the same tables from the safety set).
 * Why not a side schema and renames: renaming moves neither the views nor the foreign keys of the
 * other tables that point at the old table, so the swap would leave them on the old copy; drop and
 * recreate in one transaction keeps "all or nothing" with stock pg_restore.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { JobError, UsageError } from '../../errors.js';
import type { EngineContext } from '../engine.js';
import type { SetEntry } from '../../catalog/sets.js';
import { compareCounts, renderDifferences } from '../../catalog/compare.js';
import type { Check, CommandOutcome } from '../../report/result.js';
import type { RestoreKit } from '../plugin.js';
import type { RunContext } from '../../commands/context.js';
import { requireWholeSet } from '../restore-check.js';
import { step, type RestoreStage } from '../restore-stage.js';
import { PostgresEngine } from './engine.js';
import { pgDumpPath } from './restore.js';
import { openRestore } from './restore-target.js';
import { parseToc, selectTables } from './table-select.js';

const TABLE_NAME = /^[^.\s]+\.[^.\s]+$/;

/** Pure: `text` as one single-quoted shell word. */
function shellWord(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

/**
 * Pure: the command that puts the tables back as they were: those the target had, from the safety set
 * (`safetyId`, which holds just them); those it did not have (`created`), dropped.
 */
export function tablesRollback(safetyId: string | null, kept: string[], created: string[], target: string): string {
  const steps: string[] = [];
  if (safetyId && kept.length) steps.push(`pgtaos-backup restore ${safetyId} ${kept.map((t) => `--table ${t}`).join(' ')} --target ${target} --confirm ${target}`);
  if (created.length) steps.push(`psql -d ${target} -c ${shellWord(`DROP TABLE ${created.join(', ')}`)}`);
  return steps.join(' && ');
}

/** Pure: every name is schema.table and in the manifest, or exit 2 naming the ones that are not. */
export function checkTableNames(tables: string[], inManifest: string[], setId: string): void {
  const bad = tables.filter((t) => !TABLE_NAME.test(t));
  if (bad.length) throw new UsageError('restore.bad_table', `--table ${bad.map((t) => JSON.stringify(t)).join(', ')}: not schema.table`, { hint: 'Name each table with its schema, e.g. --table public.orders. Nothing was done.' });
  const known = new Set(inManifest);
  const missing = tables.filter((t) => !known.has(t));
  if (missing.length) {
    throw new UsageError('restore.table_not_in_set', `set ${setId} holds no table ${missing.join(', ')}`, { hint: `\`pgtaos-backup show ${setId}\` lists its tables. Nothing was done.` });
  }
}

/** The `-L` list of the tables and what hangs on them, from the archive's verbose table of contents. */
async function tableList(engine: PostgresEngine, file: string, tables: string[], setId: string, ectx: EngineContext): Promise<string[]> {
  const { lines, missing } = selectTables(parseToc(await engine.archives.list(file, ectx.env, ectx.signal, Number.POSITIVE_INFINITY, true)), tables);
  if (missing.length) throw new UsageError('restore.table_not_in_set', `the archive of set ${setId} holds no table ${missing.join(', ')}`, { hint: `\`pgtaos-backup show ${setId}\` lists its tables. Nothing was done.` });
  return lines;
}

/** Over 80 lines: the four steps read in order, as in restore-target.ts. */
export async function restorePostgresTables(ctx: RunContext, set: SetEntry, target: string, tables: string[], kit: RestoreKit): Promise<CommandOutcome> {
  const { log, env } = ctx;
  const { pg, engine, ectx } = openRestore(ctx, set, target);
  const checks: Check[] = [];
  const t0 = Date.now();
  const stage: RestoreStage = { touched: false, setId: set.id, target };
  const now = () => stage;

  // 1. The names, the set, the target: nothing is touched until all are known good.
  await step(ctx, now, async () => checkTableNames(tables, pg.tables.map((t) => t.name), set.id));
  checks.push(await step(ctx, now, () => requireWholeSet(set, 'postgres', engine.archives, ectx)));
  const file = await step(ctx, now, () => pgDumpPath(set));
  const list = await step(ctx, now, () => tableList(engine, file, tables, set.id, ectx));
  await step(ctx, now, async () => {
    if (!(await engine.databaseExists(env, target))) throw new UsageError('restore.no_target_db', `database ${target} does not exist; --table restores tables into an existing database`, { hint: `Restore the whole set (without --table) to create ${target}. Nothing was done.` });
  });

  // 2. Safety set of exactly the tables replaced, before anything changes; a table the target does not have is not replaced.
  const present = new Set(await step(ctx, now, () => engine.tableNames(env, target, set.manifest!.format)));
  const kept = tables.filter((t) => present.has(t));
  const created = tables.filter((t) => !present.has(t));
  if (created.length) log.info(`${target} has no table ${created.join(', ')}: created by this restore, dropped by its roll-back`);
  let safetyId: string | null = null;
  if (kept.length) {
    log.info(`taking a safety set of ${kept.join(', ')} in ${target} before replacing them`);
    safetyId = (await step(ctx, now, () => kit.safetySet(target, kept))).set!.id;
    checks.push({ name: 'safety set', result: 'passed', detail: `${safetyId} (of ${target}, holding ${kept.join(', ')} as they were)` });
  } else checks.push({ name: 'safety set', result: 'skipped', detail: `${target} has none of the tables: nothing is replaced` });
  const rollback = tablesRollback(safetyId, kept, created, target);

  // 3. One transaction: the tables dropped and recreated from the set, or left as they were.
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pgtaos-tables-'));
  try {
    await step(ctx, now, async () => {
      const listFile = path.join(dir, 'restore.list');
      await writeFile(listFile, `${list.join('\n')}\n`, { mode: 0o600 });
      log.info(`restoring ${list.length} archive entries of ${tables.join(', ')} into ${target} in one transaction`);
      await log.group(`PostgreSQL: restore ${tables.join(', ')} of ${set.id} into ${target}`, () => engine.restoreTables(ectx, file, listFile, target));
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  checks.push({ name: 'postgres restore', result: 'passed', detail: `${tables.join(', ')} replaced in ${target} in one transaction` });

  // 4. Their counts against the manifest: from here, a difference says how to roll back.
  const counted = await engine.countDatabase(env, target, log, ctx.signal, set.manifest!.format);
  const want = new Set(tables);
  const restored = counted.tables.filter((t) => want.has(t.name));
  const wrong = compareCounts(pg.tables.filter((t) => want.has(t.name)), restored);
  if (wrong.length > 0) {
    for (const l of renderDifferences(wrong)) log.error(`  ${l}`);
    throw new JobError('restore.counts_differ', `the restored tables in ${target} differ from the manifest of ${set.id}: ${wrong.map((d) => d.table).join(', ')}`, { hint: `Do not use them as they are. To roll back: ${rollback}` });
  }
  checks.push({ name: 'postgres row counts', result: 'passed', detail: `${tables.length} table(s) match the manifest` });
  for (const t of restored) log.info(`  ${t.name}: ${t.rows} rows`);
  log.info(`to roll back: ${rollback}`);
  return {
    message: `restored ${tables.join(', ')} of ${set.id} into ${target}. To roll back: ${rollback}`,
    failed: false,
    set: { id: set.id, kind: set.kind, path: set.path, bytes: set.manifest!.bytes },
    checks,
    engines: { postgres: { database: target, server_version: pg.server_version, client_version: pg.client_version, bytes: set.manifest!.bytes, duration_ms: Date.now() - t0, tables: restored } },
  };
}
