/**
 * The TDengine engine (src/engines/tdengine.ts) driven directly against the stand-ins
 * (test/stand-ins/: taosdump executable, taosAdapter REST on 127.0.0.1, and a TCP listener for the
 * native port, see test/helpers/tdengine-standin.ts). No real TDengine exists on these machines.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { compareLater, TdengineEngine, TDENGINE_DUMP_DIR, TDENGINE_RESULT_FILE, sumRows } from '../../src/engines/tdengine.js';
import type { EngineContext } from '../../src/engines/engine.js';
import { RunLog, silentSink } from '../../src/report/log.js';
import { BackupError, CancelledError, JobError, UsageError } from '../../src/errors.js';
import { tdengineSection } from '../../src/catalog/manifest.js';
import { listFiles, sha256File } from '../../src/catalog/checksum.js';
import { seedMarketData, upsertRows } from '../stand-ins/index.js';
import { startTdStandIn, type TdStandIn } from '../helpers/tdengine-standin.js';
import type { TdengineConfig } from '../../src/inputs/config-schema.js';

let td: TdStandIn;
let controller: AbortController;

beforeEach(async () => {
  td = await startTdStandIn();
  controller = new AbortController();
});
afterEach(async () => {
  controller.abort(new Error('test over'));
  await td.close();
});

function ctxFor(env: NodeJS.ProcessEnv = td.env()): EngineContext {
  return { log: new RunLog(silentSink, [td.password]), signal: controller.signal, env };
}

function engine(overrides: Partial<TdengineConfig> = {}, env: NodeJS.ProcessEnv = td.env()): TdengineEngine {
  const e = new TdengineEngine(td.config(overrides));
  e.findTools(env);
  return e;
}

function newSetDir(name = 'set 1'): string {
  const d = path.join(td.root, name);
  fs.mkdirSync(d, { recursive: true });
  return d;
}

/** What the seed holds, as countDatabase / the manifest should say. */
function expectedCounts() {
  const s = td.seed;
  return {
    stables: [...s.stables].sort().map((name) => ({ name, child_tables: s.childTables.filter((c) => c.startsWith(`${name}_sh`)).length, rows: s.stableRows[name]! })),
    tables: [...s.normalTables].sort().map((name) => ({ name, rows: s.rows[name]! })),
  };
}

/** A context whose log keeps its lines (masked as the run log masks them). */
function loggingCtx(env: NodeJS.ProcessEnv = td.env()): { ctx: EngineContext; lines: string[] } {
  const lines: string[] = [];
  const sink = { info: (l: string) => lines.push(l), warn: (l: string) => lines.push(l), error: (l: string) => lines.push(l), startGroup: () => {}, endGroup: () => {} };
  return { ctx: { log: new RunLog(sink, [td.password]), signal: controller.signal, env }, lines };
}

async function caught(p: Promise<unknown>): Promise<BackupError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof BackupError) return err;
    throw err;
  }
  throw new Error('expected a BackupError, the call succeeded');
}

async function dumpOnce(setDir = newSetDir()) {
  const e = engine();
  const ctx = ctxFor();
  const pre = await e.preflight(ctx);
  const section = await e.dump(ctx, setDir, pre, new Date());
  return { e, ctx, setDir, section };
}

interface Proc {
  pid: number;
  argv: string[];
  environ: string;
}

/** Processes whose working directory is `dir` (taosdump runs in the set folder). */
function processesIn(dir: string): Proc[] {
  const want = fs.realpathSync(dir);
  const out: Proc[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (fs.readlinkSync(`/proc/${name}/cwd`) !== want) continue;
      out.push({
        pid: Number(name),
        argv: fs.readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').filter(Boolean),
        environ: fs.readFileSync(`/proc/${name}/environ`, 'utf8'),
      });
    } catch {
      /* gone meanwhile, or not ours */
    }
  }
  return out;
}

/** Every process command line on the machine that contains `needle`. */
function cmdlinesContaining(needle: string): string[] {
  const hits: string[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const c = fs.readFileSync(`/proc/${name}/cmdline`, 'utf8');
      if (c.includes(needle)) hits.push(c.split('\0').join(' '));
    } catch {
      /* gone */
    }
  }
  return hits;
}

describe('dump', () => {
  it('a clean dump gives the counts, the versions and every file with size and sha256', async () => {
    // rows newer than the dump's end time: neither dumped nor counted
    const db = td.store.readDatabase('market_data')!;
    upsertRows(db, 'tick_sh600000', [[Date.now() + 3_600_000, 1, 1, 1]]);
    td.store.writeDatabase(db);

    const { setDir, section } = await dumpOnce();
    expect(tdengineSection.parse(section)).toEqual(section);
    expect(section).toMatchObject({ server_version: '3.3.6.13', client_version: '3.3.6.13', database: 'market_data', host: '127.0.0.1', port: td.nativePort, precision: 'ms' });
    expect(new Date(section.end_time).toISOString()).toBe(section.end_time);
    expect({ stables: section.stables, tables: section.tables }).toEqual(expectedCounts());
    expect(sumRows(section)).toBe(td.seed.totalRows);

    const onDisk = (await listFiles(path.join(setDir, TDENGINE_DUMP_DIR))).map((f) => `${TDENGINE_DUMP_DIR}/${f}`);
    expect(section.files.map((f) => f.path).sort()).toEqual([...onDisk, TDENGINE_RESULT_FILE].sort());
    expect(onDisk).toContain('tdengine/dbs.sql');
    expect(onDisk.filter((f) => f.endsWith('.avro'))).toHaveLength(td.seed.childTables.length + td.seed.normalTables.length);
    for (const f of section.files) {
      const abs = path.join(setDir, f.path);
      expect(fs.statSync(abs).size).toBe(f.bytes);
      expect(await sha256File(abs)).toBe(f.sha256);
      expect(fs.readFileSync(abs, 'utf8')).not.toContain(td.password);
    }
  });

  it('uses a fresh folder even when a failed attempt left one behind, in a path with a space, with TDENGINE_CLOUD_DSN set', async () => {
    const setDir = newSetDir('set with space');
    // a failed attempt's leftovers: taosdump refuses a folder holding dbs.sql
    fs.mkdirSync(path.join(setDir, TDENGINE_DUMP_DIR));
    fs.writeFileSync(path.join(setDir, TDENGINE_DUMP_DIR, 'dbs.sql'), '');
    fs.writeFileSync(path.join(setDir, TDENGINE_RESULT_FILE), 'old attempt\n');
    // in the environment, a DSN would switch taosdump to WebSocket with other credentials
    const env = td.env({ TDENGINE_CLOUD_DSN: 'wss://root:wrong-password@127.0.0.1:6041' });
    const e = engine({}, env);
    const ctx = ctxFor(env);
    const section = await e.dump(ctx, setDir, await e.preflight(ctx), new Date());
    expect(sumRows(section)).toBe(td.seed.totalRows);
    expect(fs.readFileSync(path.join(setDir, TDENGINE_RESULT_FILE), 'utf8')).not.toContain('old attempt');
  });

  it('TDENGINE_CLOUD_DSN is cleared from taosdump\'s environment (3.3.5: no -Z Native to fall back on)', async () => {
    // 3.3.5 has no -Z: only the cleared variable keeps it on the native driver. Were the DSN to reach
    // it, it would switch to WebSocket with the DSN's (wrong) credentials and fail to log in.
    const env = td.env({ TDENGINE_CLOUD_DSN: 'wss://root:wrong-password@127.0.0.1:6041' }, { version: '3.3.5.6' });
    const e = engine({}, env);
    const { ctx, lines } = loggingCtx(env);
    const section = await e.dump(ctx, newSetDir(), await e.preflight(ctx), new Date());
    expect(section.client_version).toBe('3.3.5.6');
    expect(sumRows(section)).toBe(td.seed.totalRows);
    const cmd = lines.find((l) => l.startsWith('$ taosdump '))!;
    expect(cmd.split(' ')).not.toContain('-Z');
  });

  it('-T and -B from the config reach taosdump, on dump and on restore (its result file lists them)', async () => {
    const e = engine({ threads: 3, batch_rows: 1000 });
    const ctx = ctxFor();
    const setDir = newSetDir();
    await e.dump(ctx, setDir, await e.preflight(ctx), new Date());
    const dumped = fs.readFileSync(path.join(setDir, TDENGINE_RESULT_FILE), 'utf8');
    expect(dumped).toMatch(/^thread_num: 3$/m);
    expect(dumped).toMatch(/^data_batch: 1000$/m);
    await e.recreateScratch(ctx.env, 'market_data_verify');
    const resultFile = path.join(td.root, 'restore-result.txt');
    await e.restore(ctx, path.join(setDir, TDENGINE_DUMP_DIR), 'market_data_verify', resultFile);
    const restored = fs.readFileSync(resultFile, 'utf8');
    expect(restored).toMatch(/^thread_num: 3$/m);
    expect(restored).toMatch(/^data_batch: 1000$/m);
  });

  it('the native port probed again right before taosdump: a taosd gone since preflight fails fast, taosdump never started', async () => {
    const e = engine();
    const ctx = ctxFor();
    const pre = await e.preflight(ctx);
    await td.nativeDown(); // e.g. during the PostgreSQL dump that runs between preflight and this dump
    const setDir = newSetDir();
    const err = await caught(e.dump(ctx, setDir, pre, new Date()));
    expect(err.code).toBe('tdengine.native_unreachable');
    expect(err.message).toContain(`native port 127.0.0.1:${td.nativePort}`);
    // no attempt: taosdump writes dbs.sql and its result file before it connects
    expect(fs.existsSync(path.join(setDir, TDENGINE_DUMP_DIR, 'dbs.sql'))).toBe(false);
    expect(fs.existsSync(path.join(setDir, TDENGINE_RESULT_FILE))).toBe(false);
  });

  it('a partial dump that exits 0 throws, quoting taosdump\'s lines', async () => {
    td.store.updateServer({ faults: { failDumpTable: 'tick_sh600001' } });
    const err = await caught(dumpOnce());
    expect(err).toBeInstanceOf(JobError);
    expect(err.code).toBe('tdengine.dump_failed');
    expect(err.message).toContain('ERROR: Failed to execute taosQuery, code: 0x80002603, reason: Table does not exist, sql=SELECT * FROM market_data.`tick_sh600001`');
    expect(err.message).toContain('did not print "OK: Database market_data dumped"');
  });

  it('a partial dump whose summary says OK (3.3.6-era source) throws too', async () => {
    td.store.updateServer({ faults: { failDumpTable: 'calendar', partialSummary: 'ok' } });
    const err = await caught(dumpOnce());
    expect(err.code).toBe('tdengine.dump_failed');
    expect(err.message).toContain('dump normal table: calendar');
  });

  it('rows written inside the time window during the dump (back-fill) make the counts disagree: refused', async () => {
    const setDir = newSetDir();
    const env = td.env({}, { slowMs: 100 });
    const e = engine({}, env);
    const ctx = ctxFor(env);
    const dumping = e.dump(ctx, setDir, await e.preflight(ctx), new Date());
    const dumpDir = path.join(setDir, TDENGINE_DUMP_DIR);
    for (let i = 0; i < 400; i++) {
      await new Promise((r) => setTimeout(r, 10));
      if (fs.existsSync(dumpDir) && (await listFiles(dumpDir)).some((f) => f.endsWith('.avro'))) break;
    }
    const db = td.store.readDatabase('market_data')!;
    upsertRows(db, 'tick_sh600000', [[td.seed.firstTs - 60_000, 1, 1, 1]]);
    td.store.writeDatabase(db);
    const err = await caught(dumping);
    expect(err.code).toBe('tdengine.count_mismatch');
    expect(err.message).toContain(`taosdump reported ${td.seed.totalRows} row(s) dumped, but market_data holds ${td.seed.totalRows + 1}`);
  });

  it('the password is never in a command line nor in taosdump\'s environment', async () => {
    const setDir = newSetDir();
    const env = td.env({}, { slowMs: 40 });
    const e = engine({}, env);
    // a log that masks nothing: the engine itself must not print the password
    const lines: string[] = [];
    const sink = { info: (l: string) => lines.push(l), warn: (l: string) => lines.push(l), error: (l: string) => lines.push(l), startGroup: () => {}, endGroup: () => {} };
    const ctx: EngineContext = { log: new RunLog(sink, []), signal: controller.signal, env };
    const seen: Proc[] = [];
    const leaks: string[] = [];
    const poll = setInterval(() => {
      seen.push(...processesIn(setDir));
      leaks.push(...cmdlinesContaining(td.password));
    }, 5);
    try {
      await e.dump(ctx, setDir, await e.preflight(ctx), new Date());
    } finally {
      clearInterval(poll);
    }
    const dumps = seen.filter((p) => p.argv.some((a) => a.endsWith('/taosdump')) && p.argv.includes('-D'));
    expect(dumps.length).toBeGreaterThan(0); // we did watch taosdump run
    expect(dumps[0]!.argv).toContain('-p'); // bare -p: the password went to stdin
    expect(leaks).toEqual([]);
    expect(lines.some((l) => l.startsWith('$ taosdump -h 127.0.0.1'))).toBe(true);
    expect(lines.filter((l) => l.includes(td.password))).toEqual([]);
    for (const p of dumps) {
      expect(p.argv.join(' ')).not.toContain(td.password);
      expect(p.environ).not.toContain(td.password);
      expect(p.environ).not.toContain('TDENGINE_CLOUD_DSN');
    }
  });

  it('an abort (SIGTERM) mid-dump kills taosdump and leaves no process behind', async () => {
    const setDir = newSetDir();
    const env = td.env({}, { slowMs: 300 });
    const e = engine({}, env);
    const ctx = ctxFor(env);
    const pre = await e.preflight(ctx);
    const dumping = e.dump(ctx, setDir, pre, new Date());
    let procs: Proc[] = [];
    for (let i = 0; i < 400 && procs.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 10));
      procs = processesIn(setDir).filter((p) => p.argv.includes('-D'));
    }
    expect(procs.length).toBe(1);
    const reason = new CancelledError('SIGTERM');
    controller.abort(reason);
    await expect(dumping).rejects.toBe(reason);
    expect(fs.existsSync(`/proc/${procs[0]!.pid}`)).toBe(false);
    expect(processesIn(setDir)).toEqual([]);
    // killed, not finished: it never reached its last table nor its closing line
    const avro = (await listFiles(path.join(setDir, TDENGINE_DUMP_DIR))).filter((f) => f.endsWith('.avro'));
    expect(avro.length).toBeLessThan(td.seed.childTables.length + td.seed.normalTables.length);
    const resultFile = path.join(setDir, TDENGINE_RESULT_FILE);
    expect(fs.existsSync(resultFile) ? fs.readFileSync(resultFile, 'utf8') : '').not.toContain('end time:');
  });
});

describe('seen on a real 3.3.7 server (docs/tdengine.md)', () => {
  it('future-dated rows are dumped and recorded apart; a restore that loses them fails the later-rows comparison', async () => {
    const s = seedMarketData(td.store, { database: 'md_future', childrenPerStable: 2, rowsPerChild: 5, normalTableRows: 3, futureRows: 20 });
    const e = engine({ database: 'md_future' });
    const { ctx, lines } = loggingCtx();
    const setDir = newSetDir();
    const section = await e.dump(ctx, setDir, await e.preflight(ctx), new Date());
    expect(section.tables).toEqual([{ name: 'calendar', rows: 3 }]);
    expect(section.rows_after_end_time).toBe(20);
    expect(lines.some((l) => l.includes('20 row(s) dated after') && l.includes('calendar 20'))).toBe(true);
    expect(sumRows(section) + section.rows_after_end_time!).toBe(s.totalRows);

    const dumpDir = path.join(setDir, TDENGINE_DUMP_DIR);
    await e.recreateScratch(ctx.env, 'md_scratch');
    await e.restore(ctx, dumpDir, 'md_scratch', path.join(td.root, 'r.txt'));
    const good = await e.countDatabase(ctx.env, 'md_scratch', section.end_time);
    expect(good.later).toEqual([{ name: 'calendar', rows: 20 }]);
    expect(compareLater(section.rows_after_end_time, good, section.end_time).ok).toBe(true);

    // the restore loses the last 20 calendar rows (the future ones): the bounded counts still match
    td.store.updateServer({ faults: { dropRowsOnRestore: { table: 'calendar', rows: 20 } } });
    await e.recreateScratch(ctx.env, 'md_scratch');
    await e.restore(ctx, dumpDir, 'md_scratch', path.join(td.root, 'r2.txt'));
    const bad = await e.countDatabase(ctx.env, 'md_scratch', section.end_time);
    expect({ stables: bad.stables, tables: bad.tables }).toEqual({ stables: section.stables, tables: section.tables });
    const cmp = compareLater(section.rows_after_end_time, bad, section.end_time);
    expect(cmp.ok).toBe(false);
    expect(cmp.detail).toContain('holds 0 row(s) dated after');
  });

  it('taosd gone mid-dump: taosdump, blocked without a word, is stopped after stall_timeout_seconds', async () => {
    td.store.updateServer({ faults: { taosdDownAfterTables: 2 } });
    const e = engine({ stall_timeout_seconds: 1 });
    const ctx = ctxFor();
    const setDir = newSetDir();
    const pre = await e.preflight(ctx);
    const err = await caught(e.dump(ctx, setDir, pre, new Date()));
    expect(err).toBeInstanceOf(JobError);
    expect(err.code).toBe('tdengine.stalled');
    expect(err.message).toContain('made no progress for 1 s');
    expect(err.message).toContain('2 table(s) done');
    expect(err.hint).toContain('tdengine.stall_timeout_seconds');
    expect(td.store.readServer().taosdUp).toBe(false); // still "down": taosdump did not come back on its own
    expect(processesIn(setDir)).toEqual([]);
  });

  it('a "Failed to connect" line stops taosdump at once instead of leaving it to retry', async () => {
    const e = engine();
    // the retries would sleep 10 minutes each: only stopping it at the first line ends this test
    const env = td.env({}, { retryMs: 600000 });
    const ctx = ctxFor(env);
    const pre = await e.preflight(ctx);
    // the checks pass (the native port still answers, REST too) but taosdump cannot connect
    td.store.updateServer({ nativePort: td.nativePort + 1 });
    const setDir = newSetDir();
    const err = await caught(e.dump(ctx, setDir, pre, new Date()));
    expect(err.code).toBe('tdengine.connect_failed');
    expect(err.message).toContain('ERROR: Failed to connect to server 127.0.0.1, code: 0x8000000b');
    expect(processesIn(setDir)).toEqual([]);
  });
});

describe('restore, scratch, counts', () => {
  const SCRATCH = 'market_data_verify';

  function productionState() {
    const file = path.join(td.store.dir, 'databases', 'market_data.json');
    return { text: fs.readFileSync(file, 'utf8'), mtime: fs.statSync(file).mtimeMs };
  }

  it('restores with -W into the scratch database, never touching market_data; counts match; scratch dropped', async () => {
    const { e, ctx, setDir, section } = await dumpOnce();
    const before = productionState();
    await e.recreateScratch(ctx.env, SCRATCH);
    const out = await e.restore(ctx, path.join(setDir, TDENGINE_DUMP_DIR), SCRATCH, path.join(td.root, 'restore-result.txt'));
    expect(out.source).toBe('market_data');
    expect(out.rowsReported).toBe(td.seed.totalRows);
    // the benign lines a good restore prints for each normal table are warnings, not failures
    expect(out.warnings.some((w) => w.includes('DESCRIBE market_data_verify.`calendar`'))).toBe(true);
    expect(productionState()).toEqual(before);
    expect(td.store.listDatabases()).toContain(SCRATCH);
    const restored = await e.countDatabase(ctx.env, SCRATCH, section.end_time);
    expect(restored).toEqual({ stables: section.stables, tables: section.tables, later: [] });
    await e.dropScratch(ctx.env, SCRATCH);
    expect(td.store.listDatabases()).not.toContain(SCRATCH);
  });

  it('refuses the production database as scratch or restore target (exit 2)', async () => {
    const { e, ctx, setDir } = await dumpOnce();
    const before = productionState();
    for (const p of [e.recreateScratch(ctx.env, 'market_data'), e.dropScratch(ctx.env, 'market_data'), e.restore(ctx, path.join(setDir, TDENGINE_DUMP_DIR), 'market_data', path.join(td.root, 'r.txt'))]) {
      const err = await caught(p);
      expect(err).toBeInstanceOf(UsageError);
    }
    expect(productionState()).toEqual(before);
  });

  it('a scratch equal to the database the dump records is refused before any DROP, whatever the config says', async () => {
    // a set made with --tdengine-database md_real (or imported, or a safety set of another target)
    const other = seedMarketData(td.store, { database: 'md_real', childrenPerStable: 2, rowsPerChild: 5, normalTableRows: 2 });
    const src = new TdengineEngine(td.config({ database: 'md_real' }));
    src.findTools(td.env());
    const ctx = ctxFor();
    const setDir = newSetDir();
    await src.dump(ctx, setDir, await src.preflight(ctx), new Date());
    const dumpDir = path.join(setDir, TDENGINE_DUMP_DIR);
    const real = () => fs.readFileSync(path.join(td.store.dir, 'databases', 'md_real.json'), 'utf8');
    const before = real();

    // verify's engine: configured for market_data, scratch md_real
    const fromDump = engine({ scratch_database: 'md_real' });
    let err = await caught(fromDump.recreateScratch(ctx.env, 'md_real', undefined, { dumpDir }));
    expect(err).toBeInstanceOf(UsageError);
    expect(err.code).toBe('tdengine.scratch_is_dump_source');
    expect(real()).toBe(before);
    // and so is every later step of that run: the restore into it, the final drop
    err = await caught(fromDump.restore(ctx, dumpDir, 'md_real', path.join(td.root, 'r.txt')));
    expect(err.code).toBe('tdengine.scratch_is_dump_source');
    err = await caught(fromDump.dropScratch(ctx.env, 'md_real'));
    expect(err.code).toBe('tdengine.scratch_is_dump_source');
    expect(real()).toBe(before);

    // the manifest's tdengine.database alone is enough too
    const fromManifest = engine();
    err = await caught(fromManifest.recreateScratch(ctx.env, 'md_real', undefined, { database: 'md_real' }));
    expect(err.code).toBe('tdengine.scratch_is_dump_source');
    // a restore without a prior recreateScratch reads the dump itself
    err = await caught(engine().restore(ctx, dumpDir, 'md_real', path.join(td.root, 'r.txt')));
    expect(err.code).toBe('tdengine.scratch_is_dump_source');
    expect(real()).toBe(before);
    expect(td.store.countRows('md_real', 'tick')).toBe(other.stableRows.tick);
  });

  // TDengine folds names to lower case, so "MD_Real" recorded in a set is the database md_real
  it('the scratch guard ignores case: a set or dump recording MD_Real refuses the scratch md_real', async () => {
    seedMarketData(td.store, { database: 'md_real', childrenPerStable: 1, rowsPerChild: 3, normalTableRows: 1 });
    const real = () => fs.readFileSync(path.join(td.store.dir, 'databases', 'md_real.json'), 'utf8');
    const before = real();
    const ctx = ctxFor();
    let err = await caught(engine().recreateScratch(ctx.env, 'md_real', undefined, { database: 'MD_Real' }));
    expect(err.code).toBe('tdengine.scratch_is_dump_source');
    // a dump whose dbs.sql records the name in another case
    const { setDir } = await dumpOnce();
    const dumpDir = path.join(setDir, TDENGINE_DUMP_DIR);
    const top = path.join(dumpDir, 'dbs.sql');
    fs.writeFileSync(top, fs.readFileSync(top, 'utf8').replace('#!dumpdb: market_data:', '#!dumpdb: MD_Real:'));
    err = await caught(engine().recreateScratch(ctx.env, 'md_real', undefined, { dumpDir }));
    expect(err.code).toBe('tdengine.scratch_is_dump_source');
    err = await caught(engine().restore(ctx, dumpDir, 'md_real', path.join(td.root, 'r.txt')));
    expect(err.code).toBe('tdengine.scratch_is_dump_source');
    expect(real()).toBe(before);
  });

  it('a taosdump without -W (before 3.1.1.17 / 3.2.2.0) is refused for a renaming restore', async () => {
    const { setDir } = await dumpOnce();
    td.store.updateServer({ version: '3.2.1.0' });
    const env = td.env({}, { version: '3.2.1.0' });
    const e = engine({}, env);
    const err = await caught(e.restore(ctxFor(env), path.join(setDir, TDENGINE_DUMP_DIR), SCRATCH, path.join(td.root, 'r.txt')));
    expect(err.code).toBe('tdengine.no_rename');
    expect(err.message).toContain('taosdump 3.2.1.0 has no -W');
    expect(err.message).toContain(`restore into market_data instead of ${SCRATCH}`);
    expect(td.store.listDatabases()).not.toContain(SCRATCH);
  });

  it('refuses to merge into a database that already exists', async () => {
    const { e, ctx, setDir } = await dumpOnce();
    td.store.ensureDatabase(SCRATCH);
    const err = await caught(e.restore(ctx, path.join(setDir, TDENGINE_DUMP_DIR), SCRATCH, path.join(td.root, 'r.txt')));
    expect(err.code).toBe('tdengine.target_exists');
    await e.recreateScratch(ctx.env, SCRATCH);
    await e.restore(ctx, path.join(setDir, TDENGINE_DUMP_DIR), SCRATCH, path.join(td.root, 'r.txt'));
  });

  it('a damaged data file fails the restore (taosdump exits 0)', async () => {
    const { e, ctx, setDir } = await dumpOnce();
    const avro = (await listFiles(path.join(setDir, TDENGINE_DUMP_DIR))).find((f) => f.endsWith('.avro'))!;
    const abs = path.join(setDir, TDENGINE_DUMP_DIR, avro);
    const buf = fs.readFileSync(abs);
    buf[buf.length - 5] = buf[buf.length - 5]! ^ 0x01;
    fs.writeFileSync(abs, buf);
    await e.recreateScratch(ctx.env, SCRATCH);
    const err = await caught(e.restore(ctx, path.join(setDir, TDENGINE_DUMP_DIR), SCRATCH, path.join(td.root, 'r.txt')));
    expect(err.code).toBe('tdengine.restore_failed');
    expect(err.message).toContain('failed to dump file');
    expect(err.message).toContain('1 failures occurred to dump in!');
  });

  it('rows silently lost on restore (taos-tools#516) are seen by countDatabase', async () => {
    const { e, ctx, setDir, section } = await dumpOnce();
    td.store.updateServer({ faults: { dropRowsOnRestore: { table: 'tick_sh600002', rows: 7 } } });
    await e.recreateScratch(ctx.env, SCRATCH);
    const out = await e.restore(ctx, path.join(setDir, TDENGINE_DUMP_DIR), SCRATCH, path.join(td.root, 'r.txt'));
    expect(out.rowsReported).toBe(td.seed.totalRows); // taosdump's own total hides the loss
    const restored = await e.countDatabase(ctx.env, SCRATCH, section.end_time);
    const tick = (c: typeof restored) => c.stables.find((s) => s.name === 'tick')!;
    expect(tick(restored).rows).toBe(tick(section).rows - 7);
    expect(tick(restored).child_tables).toBe(tick(section).child_tables);
  });
});

describe('database precision: the counts\' bound in the database\'s own unit', () => {
  it.each(['us', 'ns'] as const)('%s: rows after the dump\'s start are dumped too and counted apart; the scratch copy counts the same', async (precision) => {
    const start = new Date();
    // a second database, an hour either side of the dump's start, one row a minute
    const s = seedMarketData(td.store, { database: `md_${precision}`, precision, childrenPerStable: 2, rowsPerChild: 120, normalTableRows: 3, startTs: start.getTime() - 3_600_000 + 500, stepMs: 60_000 });
    const e = engine({ database: `md_${precision}` });
    const ctx = ctxFor();
    const setDir = newSetDir();
    const section = await e.dump(ctx, setDir, await e.preflight(ctx), start);
    expect(section.precision).toBe(precision);
    const before = (t: string) => td.store.countRows(`md_${precision}`, t, { to: start.getTime() })!;
    expect(before('tick')).toBe(2 * 60); // the first 60 rows of each child
    expect(before('tick')).toBeLessThan(s.stableRows.tick!);
    expect(section.stables.map((x) => [x.name, x.rows])).toEqual([['minute_bar', before('minute_bar')], ['tick', before('tick')]]);
    expect(section.tables).toEqual([{ name: 'calendar', rows: 1 }]); // one row a day: only today's first
    // everything else is in the dump, counted apart
    expect(section.rows_after_end_time).toBe(s.totalRows - before('tick') - before('minute_bar') - 1);

    await e.recreateScratch(ctx.env, 'md_scratch');
    await e.restore(ctx, path.join(setDir, TDENGINE_DUMP_DIR), 'md_scratch', path.join(td.root, 'r.txt'));
    expect(td.store.readDatabase('md_scratch')?.precision).toBe(precision);
    expect(td.store.countRows('md_scratch', 'tick')).toBe(s.stableRows.tick);
    const restored = await e.countDatabase(ctx.env, 'md_scratch', section.end_time);
    expect({ stables: restored.stables, tables: restored.tables }).toEqual({ stables: section.stables, tables: section.tables });
    expect(compareLater(section.rows_after_end_time, restored, section.end_time).ok).toBe(true);
  });
});

describe('counts come from COUNT(*), never from the length of a listing', () => {
  it('an SQL error on the child-table COUNT(*) fails with the query named (no fallback to listing names)', async () => {
    const e = engine();
    td.store.updateServer({ faults: { failSql: "AND stable_name='" } });
    const err = await caught(e.countDatabase(td.env(), 'market_data'));
    expect(err.code).toBe('tdengine.sql');
    expect(err.message).toContain("TDengine refused `SELECT COUNT(*) FROM information_schema.ins_tables WHERE db_name='market_data' AND stable_name='minute_bar'`");
    expect(err.message).toContain('stand-in fault failSql');
  });

  it('a listing cut short with code 0 (fetch failed mid-stream) is caught by its COUNT(*)', async () => {
    const e = engine();
    td.store.updateServer({ faults: { shortListing: 1 } });
    const err = await caught(e.countDatabase(td.env(), 'market_data'));
    expect(err.code).toBe('tdengine.short_listing');
    expect(err.message).toContain("FROM information_schema.ins_stables WHERE db_name='market_data'` listed 1 name(s), but COUNT(*) says 2");
  });
});

describe('fail fast, each with its own error', () => {
  it('wrong password', async () => {
    td.store.updateServer({ users: { root: 'another-password' } });
    const err = await caught(engine().preflight(ctxFor()));
    expect(err.code).toBe('tdengine.auth');
    expect(err.message).toContain('code 855');
  });

  it('taosAdapter down while taosd is up', async () => {
    await td.adapterDown();
    const err = await caught(engine().preflight(ctxFor()));
    expect(err.code).toBe('tdengine.adapter_down');
    expect(err.message).toContain(`taosd answers on 127.0.0.1:${td.nativePort}`);
  });

  it('taosd down (taosAdapter up, answering code 11)', async () => {
    await td.taosdDown();
    const err = await caught(engine().preflight(ctxFor()));
    expect(err.code).toBe('tdengine.server_down');
    expect(err.message).toContain('cannot reach it (code 11)');
  });

  it('the whole server down', async () => {
    await td.taosdDown();
    await td.adapterDown();
    const err = await caught(engine().preflight(ctxFor()));
    expect(err.code).toBe('tdengine.server_down');
    expect(err.message).toContain('unreachable');
  });

  it('native port not reachable while REST answers', async () => {
    const err = await caught(engine({ port: 1 }).preflight(ctxFor()));
    expect(err.code).toBe('tdengine.native_unreachable');
  });

  it('taosdump major.minor differs from the server\'s', async () => {
    const env = td.env({}, { version: '3.2.3.0' });
    const err = await caught(engine({}, env).preflight(ctxFor(env)));
    expect(err.code).toBe('tdengine.version_mismatch');
    expect(err.message).toContain('taosdump 3.2.3.0');
    expect(err.message).toContain('TDengine 3.3.6.13 server');
    expect(err.hint).toContain('TDengine-client-3.3.6.13-Linux-x64.tar.gz');
  });

  it('a 3.4.1+ server (taosBackup era)', async () => {
    td.store.updateServer({ version: '3.4.1.1' });
    const env = td.env({}, { version: '3.4.1.1' });
    const err = await caught(engine({}, env).preflight(ctxFor(env)));
    expect(err.code).toBe('tdengine.taosbackup_era');
  });

  it('a database that does not exist', async () => {
    const err = await caught(engine({ database: 'no_such_db' }).preflight(ctxFor()));
    expect(err.code).toBe('tdengine.no_database');
    expect(err.message).toContain('market_data');
  });
});

describe('usage errors before any connection (exit 2)', () => {
  it('taosdump missing from PATH or from bin_dir', () => {
    const env = { ...td.env(), PATH: process.env.PATH ?? '' }; // the test process's own PATH: no stand-in bin folder on it
    expect(() => new TdengineEngine(td.config()).findTools(env)).toThrow(UsageError);
    try {
      new TdengineEngine(td.config()).findTools(env);
    } catch (err) {
      expect((err as UsageError).code).toBe('binary.missing');
    }
    const empty = newSetDir('empty-bin');
    expect(() => new TdengineEngine(td.config({ bin_dir: empty })).findTools(td.env())).toThrow(/taosdump not found in bin_dir/);
  });

  it('TDENGINE_PASSWORD missing, or unusable by taosdump', () => {
    const env = td.env();
    delete env.TDENGINE_PASSWORD;
    expect(() => new TdengineEngine(td.config()).findTools(env)).toThrow(expect.objectContaining({ code: 'tdengine.no_password' }));
    expect(() => new TdengineEngine(td.config()).findTools(td.env({ TDENGINE_PASSWORD: 'two words' }))).toThrow(expect.objectContaining({ code: 'tdengine.password_unusable' }));
  });

  it('a password longer than taosdump 3.3.5 reads is refused before connecting', async () => {
    const env = td.env({ TDENGINE_PASSWORD: 'x'.repeat(21) }, { version: '3.3.5.6' });
    const err = await caught(engine({}, env).preflight(ctxFor(env)));
    expect(err).toBeInstanceOf(UsageError);
    expect(err.code).toBe('tdengine.password_too_long');
  });
});
