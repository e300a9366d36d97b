// taosAdapter REST STAND-IN (test code only): POST /rest/sql and /rest/sql/<db> on 127.0.0.1,
// answering from the store of store.mjs as docs/tdengine.md ("Queries: use the
// REST API") describes. Response shapes follow taosadapter controller/rest/restful.go,
// error_resp.go, auth.go and httperror/errors.go (see README.md).
import http from 'node:http';
import { Store, childrenOf, toDbEpoch } from './store.mjs';

// error codes (httperror/errors.go, TDengine taoserror.h), as taosAdapter reports them (code & 0xffff)
const E = {
  NETWORK_UNAVAIL: [0x000b, 'Unable to establish connection'],
  AUTH_FAILURE: [0x0357, 'Authentication failure'], // 855
  DB_NOT_EXIST: [0x0388, 'Database not exist'],
  DB_ALREADY_EXIST: [0x0381, 'Database already exists'],
  SYNTAX: [0x2600, null], // 9728
  INVALID_COLUMN: [0x2602, null],
  TABLE_NOT_EXIST: [0x2603, 'Table does not exist'],
  DB_NOT_SPECIFIED: [0x2616, 'Database not specified or available'],
  NO_AUTH_INFO: [0x1105, 'no auth info input'],
  NO_MSG_INPUT: [0x1106, 'request is empty'],
  NO_SQL_INPUT: [0x1107, 'no sql input'],
  INVALID_AUTH_TYPE: [0x1122, 'invalid type of Authorization'],
  INVALID_BASIC_AUTH: [0x1124, 'invalid basic Authorization'],
};

class SqlError extends Error {
  constructor([code, desc], detail) {
    super(desc ?? detail);
    this.code = code;
    this.desc = detail && desc ? `${desc}: ${detail}` : desc ?? detail;
  }
}
const syntax = (sql) => new SqlError(E.SYNTAX, `syntax error near "${sql.slice(0, 40)}"`);

const IDENT = '(`[^`]+`|[A-Za-z_][A-Za-z0-9_]*)';
const ident = (s) => (s.startsWith('`') ? s.slice(1, -1) : s.toLowerCase());

// An epoch number is in the database's precision; a quoted time is converted into it (BigInt:
// ns epochs are beyond Number's exact integers).
function parseTime(v, precision) {
  if (/^[+-]?\d+$/.test(v)) return BigInt(v);
  const s = v.slice(1, -1).trim().replace(/^(\d{4}-\d{2}-\d{2})[ T](\d)/, '$1T$2').replace(/([+-]\d{2})(\d{2})$/, '$1:$2');
  const ms = Date.parse(s);
  if (Number.isNaN(ms)) throw new SqlError(E.SYNTAX, `Invalid timestamp format: ${v}`);
  return toDbEpoch(ms, precision);
}

function parseWhere(where, sql) {
  if (!where) return [];
  return where.split(/\s+and\s+/i).map((c) => {
    const m = new RegExp(`^${IDENT}\\s*(<=|>=|<>|!=|=|<|>)\\s*('[^']*'|"[^"]*"|[+-]?\\d+)$`).exec(c.trim());
    if (!m || (!m[1].startsWith('`') && KEYWORD_COLUMNS.has(m[1].toLowerCase()))) throw syntax(sql);
    return { col: ident(m[1]), op: m[2], raw: m[3], str: /^['"]/.test(m[3]) ? m[3].slice(1, -1) : m[3] };
  });
}

const cmp = (a, op, b) =>
  op === '=' ? a === b : op === '<' ? a < b : op === '<=' ? a <= b : op === '>' ? a > b : op === '>=' ? a >= b : a !== b;

// Column names of the system tables that are TDengine keywords: usable only backquoted
// (docs/zh/12-taos-sql/22-meta.md: "`precision` 为 TDengine 关键字，作为列名使用时需要使用 ` 进行转义").
const KEYWORD_COLUMNS = new Set(['precision']);

/** One select-list item: `name` as written (backquotes kept), lower-cased unless backquoted. */
function selectItem(raw, sql) {
  const t = raw.trim();
  if (/^`[^`]+`$/.test(t)) return { name: t.slice(1, -1), quoted: true };
  if (KEYWORD_COLUMNS.has(t.toLowerCase())) throw syntax(sql);
  return { name: t.replace(/\s+/g, '').toLowerCase(), quoted: false };
}

const INFO_TABLES = {
  ins_databases: { name: ['VARCHAR', 64], precision: ['VARCHAR', 2] },
  ins_stables: { stable_name: ['VARCHAR', 192], db_name: ['VARCHAR', 64] },
  ins_tables: { table_name: ['VARCHAR', 192], db_name: ['VARCHAR', 64], stable_name: ['VARCHAR', 192], type: ['VARCHAR', 21] },
};

function infoRows(store, table) {
  const dbs = store.listDatabases().map((n) => store.readDatabaseCached(n)).filter(Boolean);
  if (table === 'ins_databases')
    return [{ name: 'information_schema', precision: 'ms' }, { name: 'performance_schema', precision: 'ms' }, ...dbs.map((d) => ({ name: d.name, precision: d.precision }))];
  if (table === 'ins_stables') return dbs.flatMap((d) => Object.keys(d.stables).sort().map((s) => ({ stable_name: s, db_name: d.name })));
  return dbs.flatMap((d) =>
    Object.keys(d.tables)
      .sort()
      .map((t) => ({ table_name: t, db_name: d.name, stable_name: d.tables[t].stable ?? null, type: d.tables[t].stable ? 'CHILD_TABLE' : 'NORMAL_TABLE' })),
  );
}

/** @returns {{meta: any[][], data: any[][]} | {affected: number}} */
export function executeSql(store, sqlIn, defaultDb) {
  const sql = sqlIn.trim().replace(/;\s*$/, '').trim();
  const server = store.readServer();
  let m;
  if (/^select\s+server_version\s*\(\s*\)$/i.test(sql)) return { meta: [['server_version()', 'VARCHAR', 72]], data: [[server.version]] };

  if ((m = new RegExp(`^drop\\s+database\\s+(if\\s+exists\\s+)?${IDENT}$`, 'i').exec(sql))) {
    if (!store.dropDatabase(ident(m[2])) && !m[1]) throw new SqlError(E.DB_NOT_EXIST);
    return { affected: 0 };
  }
  if ((m = new RegExp(`^create\\s+database\\s+(if\\s+not\\s+exists\\s+)?${IDENT}(\\s+.*)?$`, 'is').exec(sql))) {
    const name = ident(m[2]);
    if (store.readDatabase(name)) {
      if (!m[1]) throw new SqlError(E.DB_ALREADY_EXIST);
      return { affected: 0 };
    }
    const p = /precision\s+'(ms|us|ns)'/i.exec(m[3] ?? '');
    store.ensureDatabase(name, p ? p[1].toLowerCase() : 'ms');
    return { affected: 0 };
  }

  m = new RegExp(`^select\\s+(.+?)\\s+from\\s+${IDENT}(?:\\s*\\.\\s*${IDENT})?(?:\\s+where\\s+(.+?))?(\\s+partition\\s+by\\s+tbname)?$`, 'is').exec(sql);
  if (!m) throw syntax(sql);
  const items = m[1].split(',').map((s) => selectItem(s, sql).name);
  const dbName = m[3] ? ident(m[2]) : defaultDb;
  const tbName = ident(m[3] ?? m[2]);
  const conds = parseWhere(m[4], sql);
  const partition = Boolean(m[5]);

  if (dbName === 'information_schema') {
    const cols = INFO_TABLES[tbName];
    if (!cols || partition) throw new SqlError(E.TABLE_NOT_EXIST);
    const count = items.length === 1 && items[0] === 'count(*)';
    if (!count && items.includes('count(*)')) throw syntax(sql); // no GROUP BY here
    for (const c of [...(count ? [] : items), ...conds.map((x) => x.col)]) if (!cols[c]) throw new SqlError(E.INVALID_COLUMN, `Invalid column name: ${c}`);
    const rows = infoRows(store, tbName).filter((r) => conds.every((c) => r[c.col] !== null && cmp(r[c.col], c.op, c.str)));
    // COUNT(*) is one row, as TDengine's table-count scan answers it (TD-21890)
    if (count) return { meta: [['count(*)', 'BIGINT', 8]], data: [[rows.length]] };
    return { meta: items.map((c) => [c, ...cols[c]]), data: rows.map((r) => items.map((c) => r[c])) };
  }

  if (!dbName) throw new SqlError(E.DB_NOT_SPECIFIED);
  const db = store.readDatabaseCached(dbName);
  if (!db) throw new SqlError(E.DB_NOT_EXIST);
  const tables = db.stables[tbName] ? childrenOf(db, tbName) : db.tables[tbName] ? [tbName] : null;
  if (!tables) throw new SqlError(E.TABLE_NOT_EXIST);
  if (!items.every((c) => c === 'count(*)' || c === 'tbname') || !items.includes('count(*)')) throw syntax(sql);
  if (items.includes('tbname') && !partition) throw syntax(sql);
  const tsCols = new Set(['_c0', 'ts', '_rowts']);
  const bounds = conds.map((c) => {
    if (!tsCols.has(c.col)) throw syntax(sql);
    return { op: c.op, v: parseTime(c.raw, db.precision) };
  });
  const meta = items.map((c) => (c === 'tbname' ? ['tbname', 'VARCHAR', 192] : ['count(*)', 'BIGINT', 8]));
  // ms: stored ts and bound are the same unit and exact as numbers (no BigInt per row: bench/ counts
  // millions of rows); us/ns epochs pass 2^53, so they stay BigInt.
  const one = db.precision === 'ms' ? (r, b) => cmp(r[0], b.op, Number(b.v)) : (r, b) => cmp(toDbEpoch(r[0], db.precision), b.op, b.v);
  const inRange = Object.assign((r) => bounds.every((b) => one(r, b)), { one });
  const counted = tables.map((t) => [t, countInRange(db.rows[t] ?? [], bounds, inRange)]);
  if (!partition) return { meta, data: [[counted.reduce((a, [, c]) => a + c, 0)]] };
  // PARTITION BY TBNAME: one row per table that has rows in range
  return { meta, data: counted.filter(([, c]) => c > 0).map(([t, c]) => items.map((i) => (i === 'tbname' ? t : c))) };
}

// Rows arrays known to be in timestamp order (parsed store objects are cached per file version and never mutated).
const ordered = new WeakMap();
function isOrdered(rows) {
  let known = ordered.get(rows);
  if (known === undefined) {
    known = true;
    for (let i = 1; i < rows.length && known; i++) known = rows[i - 1][0] < rows[i][0];
    ordered.set(rows, known);
  }
  return known;
}

/** First index in [lo, hi) where `pred` (false ... false true ... true over the rows) holds; hi if none. */
function firstTrue(rows, lo, hi, pred) {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (pred(rows[mid])) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/**
 * Rows of one table inside the time bounds. A real server does not scan rows for this: blocks are
 * in timestamp order with their time window and pre-computed aggregates (SMA) in the block index
 * (TDengine source/dnode/vnode/src/tsdb/tsdbRead.c), so COUNT(*) with a time range reads the index
 * and at most the blocks at the range's edges. Here: binary search on the time-ordered rows (a
 * linear scan cost the bench ~70 ms per statement on 200,000 rows); `=` and `<>` still scan.
 */
function countInRange(rows, bounds, inRange) {
  if (bounds.length === 0) return rows.length;
  if (!isOrdered(rows) || bounds.some((b) => b.op === '=' || b.op === '<>' || b.op === '!=')) return rows.filter(inRange).length;
  let lo = 0;
  let hi = rows.length;
  for (const b of bounds) {
    const one = (r) => inRange.one(r, b);
    // `>`/`>=` fail then hold along the rows; `<`/`<=` hold then fail
    if (b.op === '>' || b.op === '>=') lo = Math.max(lo, firstTrue(rows, 0, rows.length, one));
    else hi = Math.min(hi, firstTrue(rows, 0, rows.length, (r) => !one(r)));
  }
  return Math.max(0, hi - lo);
}

function send(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function handle(store, req, res) {
  const started = process.hrtime.bigint();
  const timing = () => Number(process.hrtime.bigint() - started);
  const fail = (status, [code, desc]) => send(res, status, { code, desc, timing: timing() });
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const route = /^\/rest\/sql(?:\/([^/]+))?\/?$/.exec(url.pathname);
  if (req.method !== 'POST' || !route) {
    res.writeHead(404, { 'Content-Type': 'text/plain' });
    res.end('404 page not found');
    return;
  }
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    // CheckAuth (auth.go): 401 only for a missing or malformed header
    const auth = (req.headers.authorization ?? '').trim();
    if (!auth) return fail(401, E.NO_AUTH_INFO);
    if (!(auth.startsWith('Basic') && auth.length > 6)) return fail(401, E.INVALID_AUTH_TYPE);
    const raw = auth.slice(6).trim();
    const decoded = /^[A-Za-z0-9+/]*={0,2}$/.test(raw) ? Buffer.from(raw, 'base64').toString('utf8') : '';
    const colon = decoded.indexOf(':');
    const user = colon < 0 ? '' : decoded.slice(0, colon);
    const password = colon < 0 ? '' : decoded.slice(colon + 1);
    if (!user || !password) return fail(401, E.INVALID_BASIC_AUTH);

    const body = Buffer.concat(chunks).toString('utf8');
    if (body.length === 0) return fail(400, E.NO_MSG_INPUT);
    if (body.trim().length === 0) return fail(400, E.NO_SQL_INPUT);

    let server;
    try {
      server = store.readServer();
    } catch {
      return fail(200, E.NETWORK_UNAVAIL);
    }
    // taosd down while taosAdapter is up: the connection pool's taos_connect fails with
    // TSDB_CODE_RPC_NETWORK_UNAVAIL (0x000B), returned as code 11 with HTTP 200 (error_resp.go,
    // default httpCodeServerError=false). Inferred from the source, not observed on a real server.
    if (!server.taosdUp) return fail(200, E.NETWORK_UNAVAIL);
    if (server.users[user] === undefined || server.users[user] !== password) return fail(200, E.AUTH_FAILURE);

    const withTiming = url.searchParams.get('timing') === 'true';
    const { failSql, shortListing } = server.faults;
    if (typeof failSql === 'string' && failSql && body.toLowerCase().includes(failSql.toLowerCase())) {
      return send(res, 200, { code: E.SYNTAX[0], desc: `stand-in fault failSql: ${failSql}`, timing: timing() });
    }
    try {
      const r = executeSql(store, body, route[1] ? ident(decodeURIComponent(route[1])) : undefined);
      // a fetch that failed mid-stream: code 0, a short `rows` (docs/tdengine.md, "Queries")
      if (typeof shortListing === 'number' && shortListing > 0 && 'data' in r && r.data.length > 1 && /information_schema/i.test(body)) r.data = r.data.slice(0, Math.max(0, r.data.length - shortListing));
      const base = 'affected' in r ? { code: 0, column_meta: [['affected_rows', 'INT', 4]], data: [[r.affected]], rows: 1 } : { code: 0, column_meta: r.meta, data: r.data, rows: r.data.length };
      send(res, 200, withTiming ? { ...base, timing: timing() } : base);
    } catch (e) {
      if (e instanceof SqlError) return send(res, 200, { code: e.code, desc: e.desc, timing: timing() });
      return send(res, 200, { code: 0xffff, desc: String(e?.message ?? e), timing: timing() });
    }
  });
}

/**
 * Start the REST stand-in on 127.0.0.1. It follows the store's `adapterUp` switch: when false the
 * listener is closed (clients get ECONNREFUSED) and reopened on the same port when true again.
 */
export async function startTaosAdapter({ store, port = 0, pollMs = 25 }) {
  const st = typeof store === 'string' ? new Store(store) : store;
  const sockets = new Set();
  const server = http.createServer((req, res) => handle(st, req, res));
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  let listening = false;
  let closed = false;
  let boundPort = port;
  const listen = () =>
    new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(boundPort, '127.0.0.1', () => {
        server.off('error', reject);
        boundPort = server.address().port;
        listening = true;
        resolve();
      });
    });
  const unlisten = () =>
    new Promise((resolve) => {
      listening = false;
      server.close(() => resolve());
      for (const s of sockets) s.destroy();
    });
  await listen(); // bind once to learn the port, even if the adapter starts "down"
  let chain = Promise.resolve();
  const refresh = () => {
    chain = chain.catch(() => {}).then(async () => {
      let up;
      try {
        up = st.readServer().adapterUp;
      } catch {
        up = false;
      }
      if (up && !listening && !closed) await listen();
      else if ((!up || closed) && listening) await unlisten();
    });
    return chain;
  };
  await refresh();
  const timer = setInterval(() => refresh().catch(() => {}), pollMs);
  timer.unref();
  return {
    port: boundPort,
    url: `http://127.0.0.1:${boundPort}`,
    refresh,
    close: async () => {
      closed = true;
      clearInterval(timer);
      await refresh();
    },
  };
}
