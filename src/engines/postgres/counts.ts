/**
 * PostgreSQL row counts: which tables, counted how, and under which name. The backup counts the
 * production database on pg_dump's snapshot; verify and restore count the restored database by the
 * rules of the set's manifest format, so both sides of a comparison are counted alike.
 *
 * Format 2 rules (each count is what the table's TABLE DATA entry in the archive holds):
 * - every table with ONLY: pg_dump's `COPY t TO stdout` copies a parent's own rows, not its children's;
 * - an extension's config table (pg_extension_config_dump: pg_partman's part_config, TimescaleDB's
 *   catalog) is dumped, so it is counted, with its filter (pg_extension.extcondition) as pg_dump applies
 *   it: `SELECT ... FROM t <condition>`; other tables of an extension are not dumped and not counted;
 * - TimescaleDB (when `_timescaledb_catalog.hypertable` exists): a hypertable is counted WITHOUT ONLY,
 *   so its count covers its chunks, compressed or not; the chunks themselves (`_timescaledb_internal`,
 *   and any table `_timescaledb_catalog.chunk` lists) and the internal `_compressed_hypertable_N`
 *   are left out: they are not user data, and counting an internal compressed table directly raises.
 * Format 1 (older manifests): every non-extension table, counted without ONLY, named `schema.table`.
 */
import pg from 'pg';
import { MANIFEST_FORMAT, type ManifestFormat, type PgCountError, type PgTableCount } from '../../catalog/manifest.js';
import type { EngineContext } from '../engine.js';
import { disableTimeouts, withSession } from './session.js';
import { doneOfTotal, ticker } from '../../shared/progress.js';

export interface CountTarget {
  schema: string;
  table: string;
  /** The key compared with the manifest: qualifiedName (format 2) or `schema.table` (format 1). */
  name: string;
  how: 'only' | 'hypertable' | 'filter' | 'legacy';
  filter?: string;
}

export interface PgCounts {
  tables: PgTableCount[];
  /** Tables whose count the server refused; the transaction survived (it was re-opened). */
  errors: PgCountError[];
  largeObjects: number;
}

const UNQUOTED = /^[a-z_][a-z0-9_]*$/;

/** One part of a name as SQL writes it: bare when it can be, else double-quoted with `"` doubled. */
export function quoteIdent(part: string): string {
  return UNQUOTED.test(part) ? part : `"${part.replaceAll('"', '""')}"`;
}

/**
 * `schema.table`, each part quoted when it is not a plain lower-case identifier: `market."daily.adj"`
 * and `"market.daily".adj` stay two keys. Keywords are not quoted: this is a key, not SQL, and it must
 * not change with a server's keyword list.
 */
export function qualifiedName(schema: string, table: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(table)}`;
}

const TABLES_SQL = `
SELECT n.nspname AS schema, c.relname AS table, NULLIF(cfg.condition, '') AS filter, cfg.is_config IS TRUE AS is_config
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN LATERAL (
  SELECT true AS is_config, e.extcondition[array_position(e.extconfig, c.oid)] AS condition
  FROM pg_extension e
  -- pg_dump dumps config tables of the extensions it dumps: not the built-in ones (plpgsql)
  WHERE c.oid = ANY (e.extconfig) AND e.oid >= 16384
  LIMIT 1
) cfg ON true
WHERE c.relkind = 'r'
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
  -- an extension's own tables are not dumped as data, unless registered as config tables
  AND (cfg.is_config IS TRUE OR NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e'))
ORDER BY 1, 2`;

/** Format 1's list, unchanged, so that older sets are compared with counts taken the way they were. */
const LEGACY_TABLES_SQL = `
SELECT n.nspname AS schema, c.relname AS table
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r'
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY 1, 2`;

const TIMESCALE_INTERNAL = '_timescaledb_internal';

interface Timescale {
  hypertables: Set<string>;
  chunks: Set<string>;
}

/** TimescaleDB's hypertables and chunks, from its catalog; null when the catalog is not there. */
async function readTimescale(client: pg.Client): Promise<Timescale | null> {
  const r = await client.query<{ h: string | null; c: string | null }>(
    "SELECT to_regclass('_timescaledb_catalog.hypertable')::text AS h, to_regclass('_timescaledb_catalog.chunk')::text AS c",
  );
  const { h, c } = r.rows[0]!;
  if (!h) return null;
  const names = async (rel: string) =>
    new Set((await client.query<{ s: string; t: string }>(`SELECT schema_name::text AS s, table_name::text AS t FROM ${rel}`)).rows.map((x) => qualifiedName(x.s, x.t)));
  return { hypertables: await names(h), chunks: c ? await names(c) : new Set() };
}

/** The tables to count, in order, by the rules of `format`. */
export async function listCountTargets(client: pg.Client, format: ManifestFormat): Promise<CountTarget[]> {
  if (format === 1) {
    const rows = (await client.query<{ schema: string; table: string }>(LEGACY_TABLES_SQL)).rows;
    return rows.map((r) => ({ schema: r.schema, table: r.table, name: `${r.schema}.${r.table}`, how: 'legacy' }));
  }
  const rows = (await client.query<{ schema: string; table: string; filter: string | null; is_config: boolean }>(TABLES_SQL)).rows;
  const ts = await readTimescale(client);
  const out: CountTarget[] = [];
  for (const r of rows) {
    const name = qualifiedName(r.schema, r.table);
    if (ts && (r.schema === TIMESCALE_INTERNAL || ts.chunks.has(name))) continue;
    if (ts?.hypertables.has(name)) out.push({ schema: r.schema, table: r.table, name, how: 'hypertable' });
    else if (r.filter !== null) out.push({ schema: r.schema, table: r.table, name, how: 'filter', filter: r.filter });
    else out.push({ schema: r.schema, table: r.table, name, how: 'only' });
  }
  return out;
}

/** The count as pg_dump's copy of the table sees it (see the rules at the top). */
export function countSql(t: CountTarget): string {
  const rel = `${pg.escapeIdentifier(t.schema)}.${pg.escapeIdentifier(t.table)}`;
  switch (t.how) {
    case 'only':
      return `SELECT count(*)::text AS n FROM ONLY ${rel}`;
    // pg_dump: COPY (SELECT * FROM t <extcondition>) TO stdout, without ONLY; the condition is the
    // extension's own SQL, run here as pg_dump runs it, inside a read-only transaction.
    case 'filter':
      return `SELECT count(*)::text AS n FROM ${rel} ${t.filter}`;
    case 'hypertable':
    case 'legacy':
      return `SELECT count(*)::text AS n FROM ${rel}`;
  }
}

/**
 * No server error (the connection broke), or one that ended the session (FATAL: shutdown, terminated
 * backend): no count can follow it. An ERROR leaves the session usable, whatever its SQLSTATE: a
 * foreign table's unreachable server is 08001 from a healthy session.
 */
function sessionLost(err: unknown): boolean {
  return !(err instanceof pg.DatabaseError) || err.severity === 'FATAL' || err.severity === 'PANIC';
}

/** SQLSTATE 42501 insufficient_privilege. */
export function isPermissionError(e: PgCountError): boolean {
  return e.error.startsWith('42501');
}

function entry(t: CountTarget, rows: number): PgTableCount {
  if (t.how === 'legacy') return { name: t.name, rows };
  return { name: t.name, schema: t.schema, table: t.table, rows, ...(t.how === 'hypertable' ? { hypertable: true as const } : {}), ...(t.filter ? { filter: t.filter } : {}) };
}

/**
 * Counts each table in the open transaction of `client`. A count the server refuses (permission
 * denied, a broken chunk, a foreign table whose server is down) is recorded and the transaction is
 * rolled back and re-opened by `reopen` (on the same snapshot, for a backup), so the other tables are
 * still counted; a lost session is thrown.
 */
export async function countTables(client: pg.Client, targets: CountTarget[], ctx: CountContext, reopen: () => Promise<void>): Promise<PgCounts> {
  const tables: PgTableCount[] = [];
  const errors: PgCountError[] = [];
  const stop = ctx.progressMs ? ticker(ctx.progressMs, (l) => ctx.log.info(l), () => `counting rows: ${doneOfTotal(tables.length + errors.length, targets.length, 'tables counted')}`) : () => {};
  try {
    await countEach(client, targets, ctx, reopen, { tables, errors });
  } finally {
    stop();
  }
  const lo = await client.query<{ n: string }>('SELECT count(*)::text AS n FROM pg_largeobject_metadata');
  ctx.log.info(`counted rows of ${tables.length} tables${errors.length ? `; ${errors.length} could not be counted` : ''}`);
  return { tables, errors, largeObjects: Number(lo.rows[0]!.n) };
}

/** The log and cancel of the run; with progressMs, a "counting rows: n of m tables counted" line that often. */
export type CountContext = Pick<EngineContext, 'log' | 'signal'> & { progressMs?: number };

async function countEach(client: pg.Client, targets: CountTarget[], ctx: CountContext, reopen: () => Promise<void>, out: { tables: PgTableCount[]; errors: PgCountError[] }): Promise<void> {
  const { tables, errors } = out;
  for (const t of targets) {
    if (ctx.signal.aborted) throw ctx.signal.reason;
    try {
      const r = await client.query<{ n: string }>(countSql(t));
      tables.push(entry(t, Number(r.rows[0]!.n)));
    } catch (err) {
      if (sessionLost(err)) throw err;
      const e = err as pg.DatabaseError;
      errors.push({ name: t.name, schema: t.schema, table: t.table, error: `${e.code}: ${e.message}` });
      ctx.log.error(`cannot count ${t.name}: ${e.message}`);
      await client.query('ROLLBACK');
      await reopen();
    }
  }
}

/**
 * Counts every table of the database `opening` connects to (one transaction, so the counts are of
 * one moment) by the rules of manifest `format`: a restored set is counted the way its manifest was.
 */
export async function countDatabase(opening: Promise<pg.Client>, ctx: CountContext, format: ManifestFormat = MANIFEST_FORMAT): Promise<PgCounts> {
  return withSession(opening, async (client) => {
    await disableTimeouts(client);
    const begin = async () => {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY');
    };
    await begin();
    const targets = await listCountTargets(client, format);
    const counted = await countTables(client, targets, ctx, begin);
    await client.query('COMMIT');
    return counted;
  });
}
