/**
 * One dump of the configured database into `<set>/tdengine/`, judged and counted.
 *
 * No upper time bound (`-E`): rows dated after the run's start are normal in market data
 * (calendars, scheduled events) and a bound would leave them out of every backup while backup,
 * verify and restore all said success. The counts stay bounded by the run's start (`end_time`) so
 * that rows written during the dump cannot make a good backup look wrong, and the rows after it are
 * counted apart: the dump's own total minus the bounded count is what it holds after end_time,
 * recorded as `rows_after_end_time`, which verify compares on the restored copy.
 * Why no -E and what a dump writes: docs/tdengine.md ("Seen on a real TDengine 3.3.7 server").
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { JobError } from '../../errors.js';
import type { TdengineSection } from '../../catalog/manifest.js';
import { fileEntry } from '../../catalog/checksum.js';
import { formatBytes, formatDuration } from '../../shared/format.js';
import type { EngineContext, PreflightInfo } from '../engine.js';
import { judgeDump, OutputAccumulator, parseDumpedDatabases, type Verdict } from '../taosdump-output.js';
import { sumLater, sumRows, type TdCounts } from './counts.js';
import { FolderHasher } from './folder-hasher.js';
import { Liveness } from './taosdump.js';
import type { TdParts } from './parts.js';

/** The dump folder inside a set, and taosdump's result file beside it. */
export const TDENGINE_DUMP_DIR = 'tdengine';
export const TDENGINE_RESULT_FILE = 'tdengine-dump-result.txt';

/** The precision, a fresh probe (preflight may have run hours ago, before a PostgreSQL dump) and a fresh folder, side by side. */
async function prepare(p: TdParts, ctx: EngineContext, outDir: string, resultFile: string) {
  const { env, signal } = ctx;
  // A failed attempt leaves dbs.sql behind and taosdump refuses such a folder: always a new one.
  const fresh = async () => {
    await fs.rm(outDir, { recursive: true, force: true });
    await fs.rm(resultFile, { force: true });
    await fs.mkdir(outDir);
  };
  const [info, probe, folder] = await Promise.allSettled([p.server.databaseInfo(env, p.cfg.database, signal), p.server.probe(env, signal), fresh()]);
  // the probe's error says best what is down
  if (probe.status === 'rejected') throw probe.reason;
  if (info.status === 'rejected') throw info.reason;
  if (folder.status === 'rejected') throw folder.reason;
  return info.value;
}

function checkHeld(verdict: Verdict, held: string[], db: string): void {
  if (!held.includes(db)) {
    verdict.ok = false;
    verdict.problems.push(`the dump's dbs.sql does not name ${db} (${held.length ? `it names ${held.join(', ')}` : 'no database'})`);
  }
}

/** taosdump's total against the counts: what it holds up to end_time must be all there is; the rest lies after it. */
function rowsAfterEnd(dumped: number | null, counts: TdCounts, db: string, end: string): number {
  const upTo = sumRows(counts);
  const laterNow = sumLater(counts);
  const n = dumped ?? 0;
  if (n < upTo) {
    throw new JobError('tdengine.count_mismatch', `taosdump reported ${n} row(s) dumped, but ${db} holds ${upTo} row(s) up to ${end} (COUNT(*) through REST)`, {
      hint: 'The dump and the counts must agree, or verification could never pass. Rows older than the dump\'s start time written during the dump (back-filled data), rows expired by KEEP, or a dump cut short (taosd gone and back mid-dump) cause this; run the backup again.',
    });
  }
  if (n > upTo + laterNow) {
    throw new JobError('tdengine.count_mismatch', `taosdump reported ${n} row(s) dumped, more than ${db} holds: ${upTo} up to ${end} and ${laterNow} after it (COUNT(*) through REST)`, {
      hint: 'Rows deleted during the dump (or expired by KEEP) cause this; run the backup again.',
    });
  }
  return n - upTo;
}

export async function dumpDatabase(p: TdParts, ctx: EngineContext, setDir: string, pre: PreflightInfo, endTime: Date): Promise<TdengineSection> {
  const { log, signal, env } = ctx;
  const { tool, server } = p;
  if (!tool.binary) tool.find(env);
  const password = server.password(env);
  const client = tool.knownVersion ?? (await tool.clientVersion(env));
  tool.checkPasswordFits(password, client);
  const db = p.cfg.database;
  const end = endTime.toISOString();
  const outDir = path.join(setDir, TDENGINE_DUMP_DIR);
  const resultFile = path.join(setDir, TDENGINE_RESULT_FILE);
  const info = await prepare(p, ctx, outDir, resultFile);

  // -o and -r relative to cwd = setDir: -o goes through wordexp(), which cuts a path at a space.
  const args = [...tool.connArgs(client), '-D', db, '-o', TDENGINE_DUMP_DIR, '-r', TDENGINE_RESULT_FILE, '-T', String(p.cfg.threads), '-B', String(p.cfg.batch_rows)];
  log.info(`$ ${path.basename(tool.binary)} ${args.join(' ')}   (in ${setDir}; password on stdin; no end time: rows dated after ${end} are dumped too and counted apart)`);
  const started = Date.now();
  const acc = new OutputAccumulator();
  const liveness = new Liveness();
  const hasher = new FolderHasher(setDir, TDENGINE_DUMP_DIR, liveness).start();
  try {
    const r = await tool.run(ctx, { args, cwd: setDir, password, acc, what: 'dump', liveness });
    await tool.scrub(resultFile, password);
    const verdict = judgeDump(acc.facts, db, r);
    checkHeld(verdict, parseDumpedDatabases(await fs.readFile(path.join(outDir, 'dbs.sql'), 'utf8').catch(() => '')), db);
    if (!verdict.ok) {
      throw tool.failure('tdengine.dump_failed', `taosdump did not dump ${db} whole`, verdict, password,
        'taosdump exits 0 even when tables fail, so its output is judged: read the lines above. "Table does not exist" for a table that exists, or a lost connection, usually passes on a second run; if a table keeps failing, inspect it in the taos shell. No set was kept.');
    }
    // Counts and the rest of the hashing side by side, AFTER taosdump: a row back-filled inside the
    // window while it ran is then either in the dump and the count or caught by rowsAfterEnd(). Counted
    // beside taosdump, such a row could be dumped but not counted and pass as a row after end_time
    // while live rows keep arriving (bench/README.md, "TDengine"); on a real server these COUNT(*)
    // read block metadata, so they cost round trips, not scans.
    const [counts, files, result] = await Promise.all([p.counter.countDatabase(env, db, end, signal, info.precision), hasher.finish(), fileEntry(setDir, TDENGINE_RESULT_FILE)]);
    const later = rowsAfterEnd(verdict.rows, counts, db, end);
    files.push(result);
    const bytes = files.reduce((a, f) => a + f.bytes, 0);
    const total = sumRows(counts);
    log.info(
      `taosdump: ${total} rows up to ${end} of ${counts.stables.length} super table(s) (${counts.stables.reduce((a, s) => a + s.child_tables, 0)} child tables) and ${counts.tables.length} normal table(s), ${files.length} files (${hasher.hashedEarly} hashed while taosdump wrote), ${formatBytes(bytes)} in ${formatDuration(Date.now() - started)}`,
    );
    if (later > 0 || sumLater(counts) > 0) {
      log.info(`${later} row(s) dated after ${end} (the run's start) are in the dump too, kept and counted apart${counts.later?.length ? `; ${db} holds ${sumLater(counts)} such row(s) now: ${counts.later.map((t) => `${t.name} ${t.rows}`).join(', ')}` : ''}`);
    }
    return {
      server_version: pre.serverVersion,
      client_version: pre.clientVersion,
      database: db,
      host: p.cfg.host,
      port: p.cfg.port,
      precision: info.precision,
      end_time: end,
      rows_after_end_time: later,
      files,
      stables: counts.stables,
      tables: counts.tables,
    };
  } finally {
    await hasher.stop();
  }
}
