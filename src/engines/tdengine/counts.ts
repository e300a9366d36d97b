/**
 * Row counts of a TDengine database through REST: COUNT(*) (one row each), never the length of a
 * listing, and every listing checked against its own COUNT(*) (a fetch failing mid-stream still
 * answers code 0 with short rows).
 * The behaviours relied on: docs/tdengine.md ("Queries: use the REST API").
 */
import { JobError } from '../../errors.js';
import type { TdengineSection } from '../../catalog/manifest.js';
import { sqlIdent, sqlString } from '../taos-rest.js';
import type { Precision, TdServer } from './server.js';

/** A super table's counts, as the manifest's tdengine section holds them. */
export type StableCount = TdengineSection['stables'][number];
/** What countDatabase answers: the manifest section's counts, and the rows dated after the bound. */
export interface TdCounts extends Pick<TdengineSection, 'stables' | 'tables'> {
  /**
   * Rows dated after the bound (e.g. future-dated calendar rows), per super or normal table that
   * has any; empty when no bound was given. They are dumped too, so they must be reported and
   * compared, not silently left out.
   */
  later?: { name: string; rows: number }[];
}

const PARALLEL = 4;

/** `-E`-style epochs and `WHERE _c0 <= ...` take values in the database's precision. */
export function toEpoch(at: Date, precision: Precision): string {
  const ms = BigInt(at.getTime());
  return (precision === 'ms' ? ms : precision === 'us' ? ms * 1000n : ms * 1_000_000n).toString();
}

export function sumRows(c: TdCounts): number {
  return c.stables.reduce((a, s) => a + s.rows, 0) + c.tables.reduce((a, t) => a + t.rows, 0);
}

export function sumLater(c: TdCounts): number {
  return (c.later ?? []).reduce((a, t) => a + t.rows, 0);
}

export async function mapLimit<T, R>(items: T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

export class TdCounter {
  constructor(private readonly server: TdServer) {}

  /** COUNT(*) answers one row; a missing row (empty table on some versions) is 0. */
  private async countOne(env: NodeJS.ProcessEnv, sql: string, signal?: AbortSignal): Promise<number> {
    if (signal?.aborted) throw signal.reason;
    const r = await this.server.query(env, sql, signal);
    const v = r.data[0]?.[0];
    if (v === undefined || v === null) return 0;
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < 0) throw new JobError('tdengine.count', `\`${sql}\` answered ${JSON.stringify(v)}, not a count`, { hint: 'Run the query in the taos shell to see why.' });
    return n;
  }

  /**
   * Names from an information_schema listing, checked against COUNT(*) over the same rows: a fetch
   * that fails mid-stream still answers code 0 with short rows, which would silently leave tables
   * out of the manifest (and out of every later comparison).
   */
  private async listNames(env: NodeJS.ProcessEnv, column: string, from: string, signal?: AbortSignal): Promise<string[]> {
    const [listed, expected] = await Promise.all([this.server.query(env, `SELECT ${column} ${from}`, signal), this.countOne(env, `SELECT COUNT(*) ${from}`, signal)]);
    const names = listed.data.map((r) => String(r[0])).sort();
    if (names.length !== expected) {
      throw new JobError('tdengine.short_listing', `\`SELECT ${column} ${from}\` listed ${names.length} name(s), but COUNT(*) says ${expected}: the answer was cut short`, {
        hint: 'taosAdapter answers code 0 even when a fetch fails mid-stream. Run it again; if it repeats, check taosAdapter\'s and taosd\'s logs.',
      });
    }
    return names;
  }

  /**
   * Super tables (child-table count, rows) and normal tables (rows) of `db`, by COUNT(*) through
   * REST. With `endTime` (ISO, e.g. the manifest's end_time) `rows` counts only `_c0 <= endTime`,
   * in the database's precision, and `later` the rows after it, per table that has any.
   * `precision`, when the caller has just read it (the dump reads it before taosdump starts), saves
   * a round trip; without it the database is looked up first.
   */
  async countDatabase(env: NodeJS.ProcessEnv, db: string, endTime?: string, signal?: AbortSignal, precision?: Precision): Promise<TdCounts> {
    let bound: string | null = null;
    if (endTime !== undefined) {
      const at = new Date(endTime);
      if (Number.isNaN(at.getTime())) throw new JobError('tdengine.end_time', `cannot read the end time "${endTime}"`, { hint: 'Expected an ISO 8601 time such as 2025-06-01T01:00:00.000Z.' });
      bound = toEpoch(at, precision ?? (await this.server.databaseInfo(env, db, signal)).precision);
    } else if (precision === undefined) {
      await this.server.databaseInfo(env, db, signal); // a missing database is an error, not zero tables
    }
    const qdb = sqlIdent(db);
    const [stableNames, normalNames] = await Promise.all([
      this.listNames(env, 'stable_name', `FROM information_schema.ins_stables WHERE db_name=${sqlString(db)}`, signal),
      this.listNames(env, 'table_name', `FROM information_schema.ins_tables WHERE db_name=${sqlString(db)} AND type='NORMAL_TABLE'`, signal),
    ]);
    const rowsOf = async (name: string) => {
      const from = `SELECT COUNT(*) FROM ${qdb}.${sqlIdent(name)}`;
      if (bound === null) return { rows: await this.countOne(env, from, signal), later: 0 };
      const [rows, later] = await Promise.all([this.countOne(env, `${from} WHERE _c0 <= ${bound}`, signal), this.countOne(env, `${from} WHERE _c0 > ${bound}`, signal)]);
      return { rows, later };
    };
    // One row from TDengine's table-count scan; an SQL error fails the run (never a listing's length).
    const childCount = (name: string) => this.countOne(env, `SELECT COUNT(*) FROM information_schema.ins_tables WHERE db_name=${sqlString(db)} AND stable_name=${sqlString(name)}`, signal);
    // super and normal tables in one queue: after a dump every round trip is wall time
    const all = await mapLimit([...stableNames.map((name) => ({ name, stable: true })), ...normalNames.map((name) => ({ name, stable: false }))], PARALLEL, async ({ name, stable }) => {
      const [child_tables, r] = await Promise.all([stable ? childCount(name) : 0, rowsOf(name)]);
      return { name, stable, child_tables, ...r };
    });
    const stableCounts = all.filter((t) => t.stable);
    const tableCounts = all.filter((t) => !t.stable);
    const counts: TdCounts = {
      stables: stableCounts.map(({ name, child_tables, rows }) => ({ name, child_tables, rows })),
      tables: tableCounts.map(({ name, rows }) => ({ name, rows })),
    };
    if (bound !== null) counts.later = [...stableCounts, ...tableCounts].filter((t) => t.later > 0).map((t) => ({ name: t.name, rows: t.later }));
    return counts;
  }
}

/**
 * The rows dated after end_time that a restored copy holds, against what the dump recorded
 * (`rows_after_end_time`; absent in sets dumped with -E, which hold none).
 */
export function compareLater(recorded: number | undefined, restored: TdCounts, end: string): { ok: boolean; detail: string } {
  const want = recorded ?? 0;
  const got = sumLater(restored);
  const where = restored.later?.length ? ` (${restored.later.map((t) => `${t.name} ${t.rows}`).join(', ')})` : '';
  if (got === want) return { ok: true, detail: `${got} row(s) dated after ${end} (the backup's start), as the dump recorded${where}` };
  return { ok: false, detail: `the restored copy holds ${got} row(s) dated after ${end}${where}, the dump recorded ${want}` };
}
