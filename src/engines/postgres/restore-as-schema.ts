/**
 * restore --table ... --as-schema NAME: the chosen tables of a set restored into a NEW schema NAME of
 * the target, beside the tables they came from, replacing nothing, so that a person can compare.
 *   1. refused (exit 2, nothing done) when NAME is not a plain identifier or already exists (in the
 *      target, or in the set: its own schema would land in the copy), when two chosen tables have the
 *      same name, or a name is unknown; the set is read first; the target must exist;
 *   2. a scratch database on the same server (pgtaos_tables_<pid>, dropped whatever happens) gets the
 *      set's definitions without data (--section=pre-data: the types, schemas and functions the tables
 *      may need), then the chosen tables' data, indexes, constraints and the foreign keys between them;
 *   3. there, ALTER TABLE ... SET SCHEMA NAME moves each table with its indexes, constraints and owned
 *      sequences, and `pg_dump -n NAME` writes just that schema;
 *   4. that archive goes into the target with one `pg_restore --single-transaction` (all or nothing);
 *   5. the counts of NAME's tables against the manifest; the roll-back is DROP SCHEMA NAME CASCADE.
 * Why a scratch database: stock pg_restore cannot rename a schema on the way in, and restoring into the
 * target's own schemas would replace the tables. Foreign keys between a chosen table and one not
 * restored cannot come along (the other table is not in NAME): they are left out and named.
 * No safety set: nothing in the target is replaced.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { JobError, UsageError } from '../../errors.js';
import type { SetEntry } from '../../catalog/sets.js';
import { compareCounts, renderDifferences } from '../../catalog/compare.js';
import type { Check, CommandOutcome } from '../../report/result.js';
import type { RunContext } from '../../commands/context.js';
import { requireWholeSet } from '../restore-check.js';
import { step, type RestoreStage } from '../restore-stage.js';
import { qualifiedName } from './counts.js';
import { pgDumpPath } from './restore.js';
import { openRestore } from './restore-target.js';
import type { PgTableCount } from './schema.js';
import { checkTableNames } from './restore-tables.js';
import { archiveHasSchema, parseToc, sideCopyList } from './table-select.js';

/** A plain identifier: nothing to quote, not a system schema's prefix. */
const SCHEMA_NAME = /^(?!pg_)[a-z_][a-z0-9_]{0,62}$/;

/** Pure: NAME is a plain identifier, and no two chosen tables would have the same name in it. */
export function checkSideSchema(schema: string, tables: string[]): void {
  if (!SCHEMA_NAME.test(schema)) {
    throw new UsageError('restore.bad_schema', `--as-schema ${JSON.stringify(schema)}: not a plain identifier`, { hint: 'Use lower-case letters, digits and _, not starting with a digit or pg_, e.g. --as-schema restored_1206. Nothing was done.' });
  }
  const byName = new Map<string, string[]>();
  for (const t of tables) {
    const name = t.slice(t.indexOf('.') + 1);
    byName.set(name, [...(byName.get(name) ?? []), t]);
  }
  const clashes = [...byName.values()].filter((ts) => ts.length > 1);
  if (clashes.length) {
    throw new UsageError('restore.schema_clash', `--as-schema ${schema}: ${clashes.map((c) => c.join(' and ')).join('; ')} would have the same name there`, { hint: 'Restore them in separate runs, each into a schema of its own. Nothing was done.' });
  }
}

/** A manifest entry's schema and table as the server spells them (format 1 entries have only the name). */
function partsOf(t: PgTableCount): { schema: string; table: string } {
  if (t.schema !== undefined && t.table !== undefined) return { schema: t.schema, table: t.table };
  const [schema = '', table = ''] = t.name.split('.');
  return { schema, table };
}

/** Pure: the command that undoes a side copy. */
export function sideSchemaRollback(schema: string, target: string): string {
  return `psql -d ${target} -c 'DROP SCHEMA ${schema} CASCADE'`;
}

/** Over 80 lines: the steps read in order, as in restore-tables.ts. */
export async function restoreTablesAsSchema(ctx: RunContext, set: SetEntry, target: string, tables: string[], schema: string): Promise<CommandOutcome> {
  const { log, env } = ctx;
  const { pg, engine, ectx } = openRestore(ctx, set, target);
  const checks: Check[] = [];
  const t0 = Date.now();
  const stage: RestoreStage = { touched: false, setId: set.id, target };
  const now = () => stage;

  // 1. The names, the set, the target: nothing is created until all are known good.
  await step(ctx, now, async () => {
    checkSideSchema(schema, tables);
    checkTableNames(tables, pg.tables.map((t) => t.name), set.id);
  });
  checks.push(await step(ctx, now, () => requireWholeSet(set, 'postgres', engine.archives, ectx)));
  const file = await step(ctx, now, () => pgDumpPath(set));
  const toc = parseToc(await step(ctx, now, () => engine.archives.list(file, env, ctx.signal, Number.POSITIVE_INFINITY, true)));
  const { lines, missing, foreignKeys } = sideCopyList(toc, tables);
  await step(ctx, now, async () => {
    if (missing.length) throw new UsageError('restore.table_not_in_set', `the archive of set ${set.id} holds no table ${missing.join(', ')}`, { hint: `\`pgtaos-backup show ${set.id}\` lists its tables. Nothing was done.` });
    if (archiveHasSchema(toc, schema)) throw new UsageError('restore.schema_exists', `set ${set.id} has a schema ${schema} of its own`, { hint: 'Name another schema with --as-schema. Nothing was done.' });
    if (!(await engine.databaseExists(env, target))) throw new UsageError('restore.no_target_db', `database ${target} does not exist; --as-schema restores tables into an existing database`, { hint: `Restore the whole set (without --table) to create ${target}. Nothing was done.` });
    if (await engine.schemaExists(env, target, schema)) {
      throw new UsageError('restore.schema_exists', `${target} already has a schema ${schema}`, { hint: `Name a new schema with --as-schema (an earlier copy can be dropped: ${sideSchemaRollback(schema, target)}). Nothing was done.` });
    }
  });
  const rollback = sideSchemaRollback(schema, target);
  for (const fk of foreignKeys) log.warn(`foreign key ${fk} is left out of ${schema}: it links a chosen table with one not restored`);
  const want = new Set(tables);
  const chosen = pg.tables.filter((t) => want.has(t.name));

  // 2-4. Through a scratch database on the same server, then one transaction into the target.
  const scratch = `pgtaos_tables_${process.pid}`;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pgtaos-side-'));
  const sideDump = path.join(dir, `${schema}.dump`);
  try {
    await step(ctx, now, () => log.group(`PostgreSQL: ${tables.join(', ')} of ${set.id} moved into schema ${schema} in scratch database ${scratch}`, async () => {
      await engine.recreateScratch(env, scratch);
      await engine.restore(ectx, file, scratch, { jobs: 1, timescale: false, noOwner: true, sections: ['pre-data'] });
      const listFile = path.join(dir, 'tables.list');
      await writeFile(listFile, `${lines.join('\n')}\n`, { mode: 0o600 });
      await engine.restore(ectx, file, scratch, { jobs: 1, timescale: false, noOwner: true, listFile, sections: ['data', 'post-data'] });
      await engine.moveTables(env, scratch, chosen.map(partsOf), schema);
      await engine.dumpSchema(ectx, scratch, schema, sideDump);
    }));
    await step(ctx, now, () => log.group(`PostgreSQL: schema ${schema} into ${target}`, () => engine.restoreTables(ectx, sideDump, null, target)));
  } finally {
    await rm(dir, { recursive: true, force: true });
    await engine.dropScratch(env, scratch).then(
      () => log.info(`dropped scratch database ${scratch}`),
      (e: unknown) => log.error(`could not drop scratch database ${scratch}: ${(e as Error).message}; drop it by hand`),
    );
  }
  const left = foreignKeys.length ? `; left out: foreign key${foreignKeys.length > 1 ? 's' : ''} ${foreignKeys.join(', ')} (to or from tables not restored)` : '';
  checks.push({ name: 'postgres restore', result: 'passed', detail: `${tables.join(', ')} restored into the new schema ${schema} of ${target}, replacing nothing${left}` });

  // 5. NAME's tables against the manifest's counts of the tables they came from.
  const key = (t: PgTableCount) => (set.manifest!.format === 1 ? `${schema}.${partsOf(t).table}` : qualifiedName(schema, partsOf(t).table));
  const expected = chosen.map((t) => ({ ...t, name: key(t) }));
  const names = new Set(expected.map((t) => t.name));
  const counted = await engine.countDatabase(env, target, log, ctx.signal, set.manifest!.format);
  const restored = counted.tables.filter((t) => names.has(t.name));
  const wrong = compareCounts(expected, restored);
  if (wrong.length > 0) {
    for (const l of renderDifferences(wrong)) log.error(`  ${l}`);
    throw new JobError('restore.counts_differ', `the tables restored into ${schema} of ${target} differ from the manifest of ${set.id}: ${wrong.map((d) => d.table).join(', ')}`, { hint: `Do not use them as they are. To roll back: ${rollback}` });
  }
  checks.push({ name: 'postgres row counts', result: 'passed', detail: `${tables.length} table(s) match the manifest` });
  for (const t of restored) log.info(`  ${t.name}: ${t.rows} rows`);
  log.info(`to roll back: ${rollback}`);
  return {
    message: `restored ${tables.join(', ')} of ${set.id} into the new schema ${schema} of ${target}${left}. To roll back: ${rollback}`,
    failed: false,
    set: { id: set.id, kind: set.kind, path: set.path, bytes: set.manifest!.bytes },
    checks,
    engines: { postgres: { database: target, server_version: pg.server_version, client_version: pg.client_version, bytes: set.manifest!.bytes, duration_ms: Date.now() - t0, tables: restored } },
  };
}
