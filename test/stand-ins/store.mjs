// On-disk store shared by the TDengine stand-ins (taosdump, taosAdapter).
// STAND-IN, test code only: see README.md in this folder and docs/tdengine.md.
//
// Layout of the store folder (named in taosdump.stand-in.json beside a taosdump copy; see index.ts):
//   server.json              server config + fault switches
//   databases/<name>.json    one file per database: super tables, tables, rows
// Every write is "write a temp file, then rename", so a reader never sees half a file.
import fs from 'node:fs';
import path from 'node:path';

export const DEFAULT_SERVER = Object.freeze({
  version: '3.3.6.13', // what SELECT SERVER_VERSION() and #!server_ver: report
  users: { root: 'taosdata' }, // user -> password (native connect and REST Basic auth)
  taosdUp: true, // false: taosdump cannot connect, REST answers code 11
  adapterUp: true, // false: the REST listener is closed (ECONNREFUSED)
  nativePort: 6030, // a taosdump -P other than this cannot connect
  faults: {},
});

/** Fault switches understood by the stand-ins (all off by default). */
export const FAULT_KEYS = Object.freeze([
  'corruptOnRestore', // table name: its data file fails to decode on restore
  'failDumpTable', // table name: dumping it fails (ERROR lines, exit 0)
  'dropRowsOnRestore', // number, or {table, rows}: rows silently lost on restore
  'partialSummary', // 'error' (default) | 'ok': summary line of a partially failed dump
  'restoreFailureSummary', // 'failures' (default) | 'rows': summary of a restore with failed files
  'failSql', // substring: any REST statement containing it answers an SQL error (code 0x2600)
  'shortListing', // n: multi-row information_schema listings lose their last n rows, still code 0
  'taosdDownAfterTables', // n: taosd "dies" (taosdUp false) once a dump has dumped n tables; taosdump blocks until it is back
]);

/**
 * Rows are stored at millisecond resolution (`[ts epoch-ms, ...]`) whatever the database's
 * precision; epoch numbers that clients send (taosdump -S/-E, REST `WHERE _c0 <= N`) are in the
 * database's precision, as on a real server. These convert exactly (BigInt: ns epochs pass 2^53).
 */
const PRECISION_FACTOR = Object.freeze({ ms: 1n, us: 1000n, ns: 1000000n });

/** A stored row's ts (epoch ms) as an epoch in the database's precision. */
export function toDbEpoch(tsMs, precision = 'ms') {
  const f = PRECISION_FACTOR[precision];
  if (f === undefined) throw new Error(`stand-in store: unknown precision ${JSON.stringify(precision)}`);
  return BigInt(tsMs) * f;
}

let tmpCounter = 0;

export function writeJsonAtomic(file, value) {
  const tmp = `${file}.tmp-${process.pid}-${Date.now()}-${++tmpCounter}`;
  fs.writeFileSync(tmp, JSON.stringify(value));
  fs.renameSync(tmp, file);
}

function readJson(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    if (err && err.code === 'ENOENT') return null;
    throw err;
  }
}

function dbFile(dir, name) {
  if (!/^[A-Za-z0-9_]+$/.test(name)) throw new Error(`stand-in store: bad database name ${JSON.stringify(name)}`);
  return path.join(dir, 'databases', `${name}.json`);
}

export class Store {
  constructor(dir) {
    this.dir = path.resolve(dir);
  }

  readServer() {
    const s = readJson(path.join(this.dir, 'server.json'));
    if (!s) throw new Error(`stand-in store: no server.json in ${this.dir} (use createStore first)`);
    return { ...DEFAULT_SERVER, ...s, users: { ...(s.users ?? DEFAULT_SERVER.users) }, faults: { ...(s.faults ?? {}) } };
  }

  /** Shallow merge; `faults` is merged key by key (a null value removes the switch). */
  updateServer(patch) {
    const cur = this.readServer();
    const faults = { ...cur.faults, ...(patch.faults ?? {}) };
    for (const k of Object.keys(faults)) if (faults[k] === null || faults[k] === undefined) delete faults[k];
    const next = { ...cur, ...patch, faults };
    writeJsonAtomic(path.join(this.dir, 'server.json'), next);
    return next;
  }

  listDatabases() {
    const d = path.join(this.dir, 'databases');
    if (!fs.existsSync(d)) return [];
    return fs
      .readdirSync(d)
      .filter((f) => f.endsWith('.json'))
      .map((f) => f.slice(0, -5))
      .sort();
  }

  readDatabase(name) {
    if (!/^[A-Za-z0-9_]+$/.test(name)) return null;
    return readJson(dbFile(this.dir, name));
  }

  /**
   * readDatabase for read-only callers (the REST stand-in's SELECTs), parsed once per version of
   * the file: parsing a store of a few hundred thousand rows per statement made every COUNT(*)
   * take a quarter of a second, which a real server answers in milliseconds (bench/). Every write
   * renames a new file into place, so (inode, mtime, size) names a version. Never mutate the result.
   */
  readDatabaseCached(name) {
    if (!/^[A-Za-z0-9_]+$/.test(name)) return null;
    let st;
    try {
      st = fs.statSync(dbFile(this.dir, name));
    } catch (err) {
      if (err && err.code === 'ENOENT') return null;
      throw err;
    }
    const key = `${st.ino}:${st.mtimeMs}:${st.size}`;
    this.cache ??= new Map();
    const hit = this.cache.get(name);
    if (hit && hit.key === key) return hit.db;
    const db = this.readDatabase(name);
    this.cache.set(name, { key, db });
    return db;
  }

  writeDatabase(db) {
    fs.mkdirSync(path.join(this.dir, 'databases'), { recursive: true });
    writeJsonAtomic(dbFile(this.dir, db.name), db);
  }

  /** @returns true if it existed */
  dropDatabase(name) {
    try {
      fs.unlinkSync(dbFile(this.dir, name));
      return true;
    } catch (err) {
      if (err && err.code === 'ENOENT') return false;
      throw err;
    }
  }

  /** CREATE DATABASE IF NOT EXISTS: returns the existing or the new database. */
  ensureDatabase(name, precision = 'ms') {
    const cur = this.readDatabase(name);
    if (cur) return cur;
    const db = emptyDatabase(name, precision);
    this.writeDatabase(db);
    return db;
  }

  /** Row count of a table (child or normal) or of a super table, optionally bounded by ts. */
  countRows(dbName, table, { from = -Infinity, to = Infinity } = {}) {
    const db = this.readDatabase(dbName);
    if (!db) return null;
    return countRowsIn(db, table, { from, to });
  }
}

export function emptyDatabase(name, precision = 'ms') {
  return { name, precision, stables: {}, tables: {}, rows: {} };
}

/** Child tables of a super table, sorted by name. */
export function childrenOf(db, stable) {
  return Object.keys(db.tables)
    .filter((t) => db.tables[t].stable === stable)
    .sort();
}

export function countRowsIn(db, table, { from = -Infinity, to = Infinity } = {}) {
  const tables = db.stables[table] ? childrenOf(db, table) : db.tables[table] ? [table] : null;
  if (!tables) return null;
  let n = 0;
  for (const t of tables) for (const r of db.rows[t] ?? []) if (r[0] >= from && r[0] <= to) n++;
  return n;
}

/** Insert rows into a table; a row with an existing timestamp overwrites it (TDengine semantics). */
export function upsertRows(db, table, rows) {
  const cur = db.rows[table] ?? [];
  const byTs = new Map(cur.map((r) => [r[0], r]));
  for (const r of rows) byTs.set(r[0], r);
  db.rows[table] = [...byTs.values()].sort((a, b) => a[0] - b[0]);
}

export function openStore(dir) {
  return new Store(dir);
}

/**
 * Create (or reset the server config of) a store folder.
 * seed: { server?: Partial<ServerConfig>, databases?: Database[] }
 */
export function createStore(dir, seed = {}) {
  fs.mkdirSync(path.join(dir, 'databases'), { recursive: true });
  const server = { ...DEFAULT_SERVER, ...(seed.server ?? {}) };
  server.users = { ...(seed.server?.users ?? DEFAULT_SERVER.users) };
  server.faults = { ...(seed.server?.faults ?? {}) };
  writeJsonAtomic(path.join(dir, 'server.json'), server);
  const store = new Store(dir);
  for (const db of seed.databases ?? []) store.writeDatabase(db);
  return store;
}

const STABLE_SCHEMAS = {
  tick: [
    { name: 'ts', type: 'TIMESTAMP' },
    { name: 'price', type: 'DOUBLE' },
    { name: 'volume', type: 'BIGINT' },
  ],
  minute_bar: [
    { name: 'ts', type: 'TIMESTAMP' },
    { name: 'open', type: 'DOUBLE' },
    { name: 'high', type: 'DOUBLE' },
    { name: 'low', type: 'DOUBLE' },
    { name: 'close', type: 'DOUBLE' },
    { name: 'volume', type: 'BIGINT' },
  ],
};
const TAGS = [
  { name: 'symbol', type: 'VARCHAR(16)' },
  { name: 'exchange', type: 'VARCHAR(8)' },
];

/**
 * Seed a market-data database: super tables (default tick, minute_bar) with child tables named
 * <stable>_<code> (e.g. tick_sh600000), and normal tables (default calendar).
 * Returns what was written, for tests to compare against.
 */
export function seedMarketData(store, opts = {}) {
  const {
    database = 'market_data',
    stables = ['tick', 'minute_bar'],
    childrenPerStable = 4,
    rowsPerChild = 50,
    normalTables = ['calendar'],
    normalTableRows = 10,
    startTs = Date.UTC(2024, 0, 2, 1, 30, 0),
    stepMs = 1000,
    precision = 'ms',
    futureRows = 0,
  } = opts;
  const stableNames = typeof stables === 'number' ? ['tick', 'minute_bar', ...Array.from({ length: 50 }, (_, i) => `stb${i + 3}`)].slice(0, stables) : stables;
  const normalNames = typeof normalTables === 'number' ? ['calendar', ...Array.from({ length: 50 }, (_, i) => `ntb${i + 2}`)].slice(0, normalTables) : normalTables;
  if (PRECISION_FACTOR[precision] === undefined) throw new Error(`seedMarketData: unknown precision ${JSON.stringify(precision)}`);
  const db = store.readDatabase(database) ?? emptyDatabase(database, precision);
  if (db.precision !== precision) throw new Error(`seedMarketData: ${database} exists with precision ${db.precision}, not ${precision}`);
  const counts = {};
  for (const stb of stableNames) {
    const columns = STABLE_SCHEMAS[stb] ?? STABLE_SCHEMAS.tick;
    db.stables[stb] = { columns, tags: TAGS };
    for (let c = 0; c < childrenPerStable; c++) {
      const code = String(600000 + c);
      const child = `${stb}_sh${code}`;
      db.tables[child] = { stable: stb, tags: [code, 'SH'] };
      const rows = [];
      for (let i = 0; i < rowsPerChild; i++) {
        const ts = startTs + i * stepMs;
        const vals = columns.slice(1).map((col, k) => (col.type === 'BIGINT' ? 100 * (i + 1) + c : Math.round((10 + c + i * 0.01 + k) * 100) / 100));
        rows.push([ts, ...vals]);
      }
      db.rows[child] = rows;
      counts[child] = rows.length;
    }
  }
  for (const ntb of normalNames) {
    db.tables[ntb] = {
      columns: [
        { name: 'ts', type: 'TIMESTAMP' },
        { name: 'is_open', type: 'BOOL' },
        { name: 'note', type: 'NCHAR(32)' },
      ],
    };
    db.rows[ntb] = Array.from({ length: normalTableRows }, (_, i) => [startTs + i * 86_400_000, i % 7 < 5, `day ${i}`]);
    if (ntb === normalNames[0] && futureRows > 0) {
      // a trading calendar holds the days ahead: rows dated after now, one a day from tomorrow
      const tomorrow = Math.ceil(Date.now() / 86_400_000) * 86_400_000 + 86_400_000;
      upsertRows(db, ntb, Array.from({ length: futureRows }, (_, i) => [tomorrow + i * 86_400_000, i % 7 < 5, `ahead ${i}`]));
    }
    counts[ntb] = db.rows[ntb].length;
  }
  store.writeDatabase(db);
  const stableRows = Object.fromEntries(stableNames.map((s) => [s, childrenPerStable * rowsPerChild]));
  return {
    database,
    precision,
    stables: stableNames,
    childTables: stableNames.flatMap((s) => childrenOf(db, s)),
    normalTables: normalNames,
    rows: counts,
    stableRows,
    totalRows: Object.values(counts).reduce((a, b) => a + b, 0),
    futureRows: normalNames.length > 0 ? futureRows : 0,
    firstTs: startTs,
    lastTs: Math.max(startTs, ...Object.keys(counts).map((t) => db.rows[t].at(-1)?.[0] ?? startTs)),
  };
}
