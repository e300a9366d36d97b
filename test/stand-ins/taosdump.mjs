// taosdump STAND-IN (test code only). Reproduces the behaviour written in docs/tdengine.md
// against the on-disk store of store.mjs (named in taosdump.stand-in.json beside the `taosdump` run).
// Message texts and control flow follow the taosdump source (TDengine tools/taos-tools/src/taosdump.c,
// dumpUtil.c, inc/dump.h; see README.md); data files are NOT Avro but a checksummed JSON-lines format.
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import tty from 'node:tty';
import { Store, childrenOf, toDbEpoch, upsertRows } from './store.mjs';

// The store and the switches come from taosdump.stand-in.json beside the `taosdump` that was run
// (index.ts standInBin writes both), never from the environment: the product passes nothing
// test-only to the tools it runs.
const SETTINGS_FILE = 'taosdump.stand-in.json';
const SETTINGS = readSettings();
const VERSION = (typeof SETTINGS?.version === 'string' && SETTINGS.version) || '3.3.6.13';
const COMMIT = 'stand-in';
const RETRY_MS = intSetting('retryMs', 50);
const SLOW_MS = intSetting('slowMs', 0);
const RESTORE_CONNECT_EXIT = intSetting('restoreConnectExit', 0);
const MAX_BATCH = 16383; // MAX_RECORDS_PER_REQ / 2
const SYSTEM_DBS = new Set(['information_schema', 'performance_schema', 'log', 'audit']);
const CODECS = ['null', 'deflate', 'snappy', 'lzma', 'unknown']; // g_avro_codec without "invalid"

function readSettings() {
  try {
    return JSON.parse(fs.readFileSync(path.join(path.dirname(process.argv[1] ?? ''), SETTINGS_FILE), 'utf8'));
  } catch {
    return null; // main() refuses to run
  }
}

function intSetting(name, dflt) {
  const v = SETTINGS?.[name];
  return Number.isInteger(v) && v >= 0 ? v : dflt;
}

// -W (rename on restore) since taos-tools 3.1.1.17 / 3.2.2.0 (PR #703); older ones reject it like any unknown option
const HAS_RENAME = verAtLeast(VERSION, '3.2.2.0') || (/^3\.1\./.test(VERSION) && verAtLeast(VERSION, '3.1.1.17'));
// 3.3.6 and later: -Z/--driver
const HAS_DRIVER = verAtLeast(VERSION, '3.3.6');
// g_args defaults: DEFAULT_START_TIME (-INT64_MAX + 1) and DEFAULT_END_TIME (INT64_MAX)
const DEFAULT_START_TIME = -(2n ** 63n - 1n) + 1n;
const DEFAULT_END_TIME = 2n ** 63n - 1n;

function verAtLeast(v, min) {
  const a = v.split('.').map((x) => Number.parseInt(x, 10) || 0);
  const b = min.split('.').map((x) => Number.parseInt(x, 10) || 0);
  for (let i = 0; i < b.length; i++) if ((a[i] ?? 0) !== b[i]) return (a[i] ?? 0) > b[i];
  return true;
}

// ---------------------------------------------------------------- output (synchronous, unbuffered)
function writeFd(fd, s) {
  const buf = Buffer.from(s);
  let off = 0;
  while (off < buf.length) {
    try {
      off += fs.writeSync(fd, buf, off);
    } catch (e) {
      if (e.code === 'EAGAIN') sleepSync(2);
      else if (e.code === 'EPIPE') return;
      else throw e;
    }
  }
}
const out = (s) => writeFd(1, s);
const info = (m) => out(`INFO: ${m}\n`);
// dump.h: the colour is written first, then "ERROR: ...\n", then the reset: so ESC[0m starts the next line.
const okPrint = (m) => writeFd(2, `\x1b[32mOK: ${m}\n\x1b[0m`);
const errorPrint = (m) => writeFd(2, `\x1b[31mERROR: ${m}\n\x1b[0m`);
const warnPrint = (m) => writeFd(2, `\x1b[33mWARN: ${m}\n\x1b[0m`);
const usageHint = () => writeFd(2, "Try `taosdump --help' or `taosdump --usage' for more information.\n");

function sleepSync(ms) {
  if (ms > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function die(code) {
  process.exit(code);
}

// ---------------------------------------------------------------- arguments
const args = {
  host: null,
  user: 'root',
  password: 'taosdata',
  port: 0,
  portInputted: false,
  outpath: '',
  inpath: '',
  resultFile: './dump_result.txt',
  allDatabases: false,
  databases: false,
  databasesSeq: null,
  schemaonly: false,
  codec: 'snappy',
  startTime: null, // BigInt epoch in the database's precision, or null
  endTime: null,
  humanStart: '',
  humanEnd: '',
  dataBatch: MAX_BATCH,
  threads: 8,
  argList: [],
  rename: null, // [{old, new}]
  retryCount: 3,
  retrySleepMs: null,
  connMode: null, // 'native' | 'websocket' | 'invalid'
  dsn: null,
  isDumpIn: false,
};

// parse_timestamp(): only the "-S VALUE" / "--start-time=VALUE" forms
function parseTimestamps(a) {
  for (let i = 0; i < a.length; i++) {
    let v;
    let start;
    if (a[i] === '-S' || a[i].startsWith('--start-time=')) start = true;
    else if (a[i] === '-E' || a[i].startsWith('--end-time=')) start = false;
    else continue;
    v = a[i].startsWith('--') ? a[i].slice(a[i].indexOf('=') + 1) : a[i + 1];
    if (v === undefined) {
      errorPrint('input timestamp need a valid value!');
      die(255);
    }
    if (v.includes(':') && v.includes('-')) {
      if (start) args.humanStart = v.slice(0, 27);
      else args.humanEnd = v.slice(0, 27);
    } else {
      const m = /^\s*([+-]?\d+)/.exec(v); // atol(): an epoch in the database's precision
      const n = m ? BigInt(m[1]) : 0n;
      if (start) args.startTime = n;
      else args.endTime = n;
    }
  }
}

// scanf("%255s"): skip whitespace, read one whitespace-free token; null on EOF
function scanToken(maxLen) {
  const one = Buffer.alloc(1);
  const readByte = () => {
    for (;;) {
      try {
        return fs.readSync(0, one, 0, 1, null) === 0 ? -1 : one[0];
      } catch (e) {
        if (e.code === 'EAGAIN') {
          sleepSync(5);
          continue;
        }
        if (e.code === 'EOF' || e.code === 'EBADF' || e.code === 'EINVAL') return -1;
        throw e;
      }
    }
  };
  const isSpace = (b) => b === 0x20 || (b >= 0x09 && b <= 0x0d);
  let b = readByte();
  while (b !== -1 && isSpace(b)) b = readByte();
  if (b === -1) return null;
  const bytes = [];
  while (b !== -1 && !isSpace(b)) {
    bytes.push(b);
    if (bytes.length >= maxLen) break;
    b = readByte();
  }
  return Buffer.from(bytes).toString('utf8');
}

function promptPassword() {
  out('Enter password: ');
  const echoErr = () => {
    if (!tty.isatty(0)) writeFd(2, 'Cannot get the attribution of the terminal: Inappropriate ioctl for device\n');
  };
  echoErr(); // setConsoleEcho(false)
  const tok = scanToken(verAtLeast(VERSION, '3.3.6') ? 255 : 20);
  echoErr(); // setConsoleEcho(true)
  if (tok !== null) args.password = tok;
}

function printVersion(write) {
  if (verAtLeast(VERSION, '3.3.6')) write('TDengine Community Edition\n');
  write(`taosdump version: ${VERSION}\n`);
  write(`git: ${COMMIT}\n`);
  write('build: Linux-x64 2025-06-01 00:00:00 +0000 (test/stand-ins/taosdump)\n');
}

// parse_args(): the pre-pass taosdump runs over argv before argp
function preParse(a) {
  for (let i = 0; i < a.length; i++) {
    const s = a[i];
    if (s.startsWith('-p') || s.startsWith('--password')) {
      if (s.length === 2 || s.startsWith('--password')) promptPassword();
      else {
        args.password = s.slice(2);
        a[i] = '-p';
      }
    } else if (s === '-n') a[i] = '';
    else if (s === '-s' || s === '--schemaonly') {
      args.schemaonly = true;
      a[i] = '';
    } else if (['-I', '--inspect', '-L', '--lose-mode', '-Q', '--dot-replace', '-gg', '-PP'].includes(s)) a[i] = '';
    else if (s === '-A' || s.startsWith('--all-database')) args.allDatabases = true;
    else if (s.startsWith('-D') || s.startsWith('--databases')) {
      if (s.length === 2 || s === '--databases') {
        if (i + 1 === a.length) {
          writeFd(2, s === '-D' ? "taosdump: option requires an argument -- 'D'\n" : "taosdump: option '--databases' requires an argument\n");
          usageHint();
          die(1);
        }
        args.databasesSeq = a[++i];
      } else if (s.startsWith('--databases=')) args.databasesSeq = s.slice('--databases='.length);
      else args.databasesSeq = s.slice(2);
      args.databases = true;
    } else if (s.startsWith('--version') || s.startsWith('-V')) {
      printVersion(out);
      die(0);
    }
  }
}

const SHORT_ARG = new Set('huPoircDdSEBTCtWkzXZ');
const SHORT_FLAG = new Set('paAesNLInRgQ?');
const LONG = {
  host: 'h', user: 'u', password: 'p', port: 'P', outpath: 'o', inpath: 'i', resultFile: 'r',
  'config-dir': 'c', 'all-databases': 'A', databases: 'D', 'escape-character': 'e', 'allow-sys': 'a',
  schemaonly: 's', 'without-property': 'N', 'avro-codec': 'd', 'start-time': 'S', 'end-time': 'E',
  'data-batch': 'B', 'thread-num': 'T', 'loose-mode': 'L', inspect: 'I', 'no-escape': 'n', restful: 'R',
  cloud: 'C', timeout: 't', debug: 'g', 'dot-replace': 'Q', rename: 'W', 'retry-count': 'k',
  'retry-sleep-ms': 'z', dsn: 'X', driver: 'Z', help: '?', usage: '?',
};

function argpError(msg) {
  writeFd(2, `taosdump: ${msg}\n`);
  usageHint();
  die(64); // argp_err_exit_status = EX_USAGE
}

// argp_parse() with GNU getopt permutation: options anywhere, non-options collected in order
function argpParse(a) {
  const hasZ = HAS_DRIVER;
  const known = (k) => (hasZ || k !== 'driver') && (HAS_RENAME || k !== 'rename');
  const positional = [];
  for (let i = 0; i < a.length; i++) {
    const s = a[i];
    if (s === '') continue; // blanked by the pre-pass
    if (s === '--') {
      positional.push(...a.slice(i + 1).filter((x) => x !== ''));
      break;
    }
    if (s.startsWith('--')) {
      const eq = s.indexOf('=');
      const name = eq < 0 ? s.slice(2) : s.slice(2, eq);
      let keys = Object.keys(LONG).filter((k) => k === name);
      if (keys.length === 0) keys = Object.keys(LONG).filter((k) => k.startsWith(name) && known(k));
      if (keys.length === 0 || !known(keys[0])) argpError(`unrecognized option '${s}'`);
      const uniq = [...new Set(keys.map((k) => LONG[k]))];
      if (uniq.length > 1) argpError(`option '${s}' is ambiguous`);
      const key = LONG[keys[0]];
      if (SHORT_ARG.has(key)) {
        let val = eq >= 0 ? s.slice(eq + 1) : a[++i];
        if (val === undefined) argpError(`option '--${keys[0]}' requires an argument`);
        parseOpt(key, val);
      } else {
        if (eq >= 0) argpError(`option '--${keys[0]}' doesn't allow an argument`);
        parseOpt(key, null);
      }
      continue;
    }
    if (s.startsWith('-') && s.length > 1) {
      for (let j = 1; j < s.length; j++) {
        const c = s[j];
        if ((c === 'Z' && !hasZ) || (c === 'W' && !HAS_RENAME)) argpError(`invalid option -- '${c}'`);
        if (SHORT_FLAG.has(c)) parseOpt(c, null);
        else if (SHORT_ARG.has(c)) {
          let val = s.slice(j + 1);
          if (val === '') {
            val = a[++i];
            if (val === undefined) argpError(`option requires an argument -- '${c}'`);
          }
          parseOpt(c, val);
          break;
        } else argpError(`invalid option -- '${c}'`);
      }
      continue;
    }
    positional.push(s);
  }
  args.argList = positional;
}

// wordexp(): ~ and $VAR expansion, then the FIRST word only (a path with a space is cut there)
function wordexp(arg) {
  let s = arg.replace(/^~(?=\/|$)/, process.env.HOME ?? '~');
  s = s.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a, b) => process.env[a ?? b] ?? '');
  return s.trim().split(/\s+/)[0] ?? '';
}

function parseOpt(key, arg) {
  switch (key) {
    case 'h':
      args.host = arg;
      break;
    case 'u':
      args.user = arg;
      break;
    case 'P': {
      if (!/^\d+$/.test(arg)) {
        writeFd(2, "taosdump: option requires a number argument '-P'\n");
        usageHint();
        die(1);
      }
      const port = Number.parseInt(arg, 10);
      if (port > 65535) {
        writeFd(2, `taosdump -P or --port: ${arg} is an invalid value\n`);
        usageHint();
        die(1);
      }
      args.port = port;
      args.portInputted = true;
      break;
    }
    case 'o': {
      const w = wordexp(arg);
      if (!w) {
        writeFd(2, "taosdump: option '-o or --outpath' requires an argument\n");
        die(1);
      }
      args.outpath = `${w}/`;
      break;
    }
    case 'i': {
      args.isDumpIn = true;
      const w = wordexp(arg);
      if (!w) {
        writeFd(2, "taosdump: option '-i or --inpath' requires an argument\n");
        die(1);
      }
      args.inpath = w;
      break;
    }
    case 'd':
      if (CODECS.includes(arg)) args.codec = arg;
      else {
        errorPrint('Invalid AVRO codec inputted. Exit program!');
        die(1);
      }
      break;
    case 'r':
      args.resultFile = arg;
      break;
    case 'D':
      args.databases = true;
      break;
    case 'B': {
      const m = /^\s*([+-]?\d+)/.exec(arg);
      args.dataBatch = Math.min(m ? Number(m[1]) : 0, MAX_BATCH);
      break;
    }
    case 'T':
      if (!/^\d+$/.test(arg)) {
        errorPrint('\n\t-T need a number following!');
        die(1);
      }
      args.threads = Number.parseInt(arg, 10);
      break;
    case 'R':
      warnPrint("'-R' is not supported, ignore this options.");
      break;
    case 'C':
    case 'X':
      if (arg) args.dsn = arg;
      break;
    case 't': // listed in the options table but unhandled in parse_opt (3.3.6)
      argpError('-t: (PROGRAM ERROR) Option should have been recognized!?');
      break;
    case 'W':
      args.rename = parseRename(arg);
      break;
    case 'k':
      args.retryCount = Number.parseInt(arg, 10) || 0;
      out(` set argument retry count=${args.retryCount}\n`);
      break;
    case 'z':
      args.retrySleepMs = Number.parseInt(arg, 10) || 0;
      out(` set argument retry interval sleep = ${args.retrySleepMs} ms\n`);
      break;
    case 'Z': {
      const m = String(arg).toLowerCase();
      args.connMode = m === 'native' || m === '0' ? 'native' : m === 'websocket' || m === '1' ? 'websocket' : 'invalid';
      if (args.connMode === 'invalid') errorPrint(`Invalid input driver: ${arg}, only support Native or WebSocket`);
      break;
    }
    case '?':
      out('Usage: taosdump [OPTION...] dbname [tbname ...]\n  or:  taosdump [OPTION...] --databases db1,db2,...\n  or:  taosdump [OPTION...] --all-databases\n  or:  taosdump [OPTION...] -i inpath\n  or:  taosdump [OPTION...] -o outpath\n(stand-in: see test/stand-ins/README.md)\n');
      die(0);
      break;
    default: // p a A e s N L I n g Q S E c: handled elsewhere or ignored
      break;
  }
}

// setRenameDbs(): spaces dropped, "old=new|old2=new2"
function parseRename(arg) {
  if (arg == null || arg.length <= 2) return null;
  const parts = arg.replace(/ /g, '').split(/[=|]/);
  const list = [];
  for (let i = 0; i + 1 < parts.length; i += 2) if (parts[i]) list.push({ old: parts[i], new: parts[i + 1] });
  return list.length ? list : null;
}

const findNewName = (old) => args.rename?.find((r) => r.old === old)?.new ?? null;

// afterRenameSql()/replaceNewName(): exact, case-sensitive match of the name after the prefix
function afterRenameSql(cmd) {
  for (const pre of ['CREATE DATABASE IF NOT EXISTS ', 'CREATE STABLE IF NOT EXISTS ', 'CREATE TABLE IF NOT EXISTS ']) {
    if (!cmd.startsWith(pre)) continue;
    let n = pre.length;
    let right = '.';
    if (cmd[n] === '`') {
      right = '`';
      n += 1;
    }
    const rest = cmd.slice(n);
    const e = rest.indexOf(right);
    const e1 = rest.indexOf(' ');
    let end;
    if (e < 0 && e1 < 0) return null;
    else if (e < 0) end = e1;
    else if (e1 < 0) end = e;
    else end = Math.min(e, e1);
    const nn = findNewName(rest.slice(0, end));
    return nn == null ? null : cmd.slice(0, n) + nn + rest.slice(end);
  }
  return null;
}

// ---------------------------------------------------------------- store / connection
let store;

function isLoopback(h) {
  return h === 'localhost' || h === '::1' || h === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(h);
}

function hostForMessages() {
  if (args.dsn) {
    try {
      return new URL(args.dsn.replace(/^[a-z+]+:\/\//i, 'http://')).hostname;
    } catch {
      return args.dsn;
    }
  }
  return args.host ?? '(null)'; // printf("%s", NULL) in glibc
}

function connectError() {
  const host = args.dsn ? hostForMessages() : args.host ?? 'localhost';
  if (!isLoopback(host)) {
    writeFd(2, `taosdump stand-in: refusing to connect to ${host}: the stand-in only talks to loopback hosts\n`);
    die(255);
  }
  const server = store.readServer();
  const unreachable = { code: '8000000b', reason: 'Unable to establish connection' };
  const websocket = Boolean(args.dsn) || args.connMode === 'websocket';
  if (websocket) {
    if (!server.adapterUp || !server.taosdUp) return unreachable;
  } else {
    const port = args.portInputted ? args.port : 6030;
    if (!server.taosdUp || port !== server.nativePort) return unreachable;
  }
  let user = args.user;
  let password = args.password;
  if (args.dsn) {
    try {
      const u = new URL(args.dsn.replace(/^[a-z+]+:\/\//i, 'http://'));
      if (u.username) user = decodeURIComponent(u.username);
      if (u.password) password = decodeURIComponent(u.password);
    } catch {
      /* keep -u/-p */
    }
  }
  if (server.users[user] === undefined || server.users[user] !== password) return { code: '80000357', reason: 'Authentication failure' };
  return null;
}

let connectFailed = false;

// dumpUtil.c taosConnect(): 1 + retryCount attempts, an ERROR line each, an INFO line before each retry
function taosConnect() {
  const host = hostForMessages();
  const port = args.portInputted ? args.port : args.dsn || args.connMode === 'websocket' ? 6041 : 6030;
  for (let i = 0; ; ) {
    const e = connectError();
    if (!e) {
      if (i > 0) okPrint(`Retry ${i} to connect ${host}:${port} successfully!`);
      return true;
    }
    errorPrint(`Failed to connect to server ${host}, code: 0x${e.code}, reason: ${e.reason}! `);
    if (++i > args.retryCount) {
      connectFailed = true;
      return false;
    }
    info(`Retry to connect for ${i} after sleep ${args.retrySleepMs ?? 1000}ms ...`);
    sleepSync(args.retrySleepMs ?? RETRY_MS);
  }
}

// ---------------------------------------------------------------- "avro" files (checksummed JSON lines)
const MAGIC = 'TDSTANDIN-AVRO sha256=';
let uidCounter = 0;
const uniqueId = () => Date.now() + ++uidCounter; // getUniqueIDFromEpoch(): epoch ms + a counter

function writeAvro(file, header, records) {
  const payload = `${JSON.stringify({ format: 'tdstandin-avro/1', ...header, count: records.length })}\n${records.map((r) => `${JSON.stringify(r)}\n`).join('')}`;
  const sum = crypto.createHash('sha256').update(payload).digest('hex');
  fs.writeFileSync(file, `${MAGIC}${sum}\n${payload}`);
}

/** @throws Error('Cannot decode file block') on any damage (flipped byte, truncation) */
function readAvro(file) {
  const text = fs.readFileSync(file, 'utf8');
  const nl = text.indexOf('\n');
  const first = nl < 0 ? text : text.slice(0, nl);
  const payload = nl < 0 ? '' : text.slice(nl + 1);
  const bad = new Error('Cannot decode file block');
  if (!first.startsWith(MAGIC)) throw bad;
  if (crypto.createHash('sha256').update(payload).digest('hex') !== first.slice(MAGIC.length)) throw bad;
  const lines = payload.split('\n');
  if (lines.at(-1) === '') lines.pop();
  try {
    const header = JSON.parse(lines[0]);
    const records = lines.slice(1).map((l) => JSON.parse(l));
    if (records.length !== header.count) throw bad;
    return { header, records };
  } catch {
    throw bad;
  }
}

// ---------------------------------------------------------------- time window
function parseHuman(s) {
  let t = s.trim().replace(/^(\d{4}-\d{2}-\d{2})[ T]?(\d{2}:)/, '$1T$2');
  t = t.replace(/([+-]\d{2})(\d{2})$/, '$1:$2');
  const ms = Date.parse(t);
  return Number.isNaN(ms) ? null : ms;
}

// getStartTime()/getEndTime(precision): epoch values are taken as they are (in the database's
// precision); human-readable times are converted into that precision.
function timeWindow(db) {
  let from = args.startTime ?? DEFAULT_START_TIME;
  let to = args.endTime ?? DEFAULT_END_TIME;
  if (args.humanStart) {
    const ms = parseHuman(args.humanStart);
    if (ms === null) {
      errorPrint(`Input ${args.humanStart}, time format error!`);
      return null;
    }
    from = toDbEpoch(ms, db.precision);
  }
  if (args.humanEnd) {
    const ms = parseHuman(args.humanEnd);
    if (ms === null) {
      errorPrint(`Input ${args.humanEnd}, time format error!`);
      return null;
    }
    to = toDbEpoch(ms, db.precision);
  }
  return { from, to };
}

// ---------------------------------------------------------------- misc output helpers
function now() {
  const d = new Date();
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

function printArgs(write) {
  write('========== arguments config =========\n');
  printVersion(write);
  write(`host: ${args.host ?? '(null)'}\nuser: ${args.user}\nport: ${args.port}\noutpath: ${args.outpath}\ninpath: ${args.inpath}\n`);
  write(`resultFile: ${args.resultFile}\nall_databases: ${args.allDatabases}\ndatabases: ${args.databases}\ndatabasesSeq: ${args.databasesSeq ?? '(null)'}\n`);
  write(`schemaonly: ${args.schemaonly}\nwith_property: true\navro codec: ${args.codec}\n`);
  if (args.humanStart) write(`human readable start time: ${args.humanStart} \n`);
  else if (args.startTime !== null) write(`start_time: ${args.startTime}\n`);
  if (args.humanEnd) write(`human readable end time: ${args.humanEnd} \n`);
  else if (args.endTime !== null) write(`end_time: ${args.endTime}\n`);
  write(`data_batch: ${args.dataBatch}\nthread_num: ${args.threads}\nallow_sys: false\nescape_char: true\nloose_mode: false\n`);
  write(`isDumpIn: ${args.isDumpIn}\narg_list_len: ${args.argList.length}\n`);
}

const colDefs = (cols) => cols.map((c) => `\`${c.name}\` ${c.type}`).join(',');
const shortHash = (s) => crypto.createHash('sha1').update(s).digest('hex').slice(0, 8);

// ---------------------------------------------------------------- dump out
const failed = { any: false, dbs: new Set() };

// Seen with a real 3.3.7 taosdump: taosd stopped mid-dump and taosdump blocked, silently, until it came
// back (still blocked after 242 s), then exited 0 with a short total. The query running when taosd went
// away is lost: its table is dumped with no rows. `faults.taosdDownAfterTables: n` stops the stand-in
// server (taosdUp false) once n tables were dumped, as if taosd had died; the test brings it back.
let tablesDumped = 0;
function serverGoneMidDump() {
  const s = store.readServer();
  const after = s.faults.taosdDownAfterTables;
  if (typeof after === 'number' && tablesDumped >= after && s.taosdUp) store.updateServer({ taosdUp: false, faults: { taosdDownAfterTables: null } });
  if (store.readServer().taosdUp) return false;
  while (!store.readServer().taosdUp) sleepSync(20);
  return true;
}

function dumpTableData(db, table, index, dataDir, def) {
  const win = timeWindow(db);
  if (!win) return -1;
  const lost = serverGoneMidDump();
  tablesDumped++;
  if (store.readServer().faults.failDumpTable === table) {
    const sql = `SELECT * FROM ${db.name}.\`${table}\` WHERE _c0 >= ${win.from} AND _c0 <= ${win.to} ORDER BY _c0 ASC;`;
    errorPrint(`Failed to execute taosQuery, code: 0x80002603, reason: Table does not exist, sql=${sql} `);
    info('error code not in retry range , give up retry.');
    errorPrint(`queryDbForDumpOutNative() LN2187, failed to run command <${sql}>. code: 0x80002603, reason: Table does not exist`);
    return -1;
  }
  const rows = (lost ? [] : db.rows[table] ?? []).filter((r) => {
    const ts = toDbEpoch(r[0], db.precision);
    return ts >= win.from && ts <= win.to;
  });
  const file = path.join(dataDir, `${db.name}.${uniqueId()}.${index}.avro`);
  writeAvro(file, { kind: 'data', namespace: db.name, table, stable: def.stable ?? null, codec: args.codec, columns: def.columns }, rows);
  info(`100% of ${table}`);
  return rows.length;
}

function dumpStable(db, dir, stb) {
  const def = db.stables[stb];
  info(`start dump out super table data (${stb}) ...`);
  info(`start dump super table meta (${stb}) col:${def.columns.length} tags:${def.tags.length} ...`);
  const children = childrenOf(db, stb);
  info(`The number of tables of ${stb} is ${children.length}!`);
  const tagsFile = path.join(dir, `${db.name}.${uniqueId()}.avro-tbtags`);
  info(`connection: 0x5f3a1c2e40 is dumping out schema of sub-table(s) of ${stb} `);
  writeAvro(
    tagsFile,
    { kind: 'tbtags', namespace: db.name, stbname: stb, tags: def.tags },
    children.map((c) => ({ stbname: stb, tbname: c, tags: db.tables[c].tags })),
  );
  fs.writeFileSync(`${tagsFile}.m`, JSON.stringify({ version: 1, stbName: stb, cols: def.columns, tags: def.tags }));
  children.forEach((c, k) => info(`connection 0x5f3a1c2e40 is dumping out schema: ${k + 1} from ${stb}.${c}`));
  okPrint(`total ${children.length} table(s) of stable: ${stb} schema dumped.`);
  if (children.length === 0) {
    info(`super table (${stb}) no child table, skip dump out.`);
    return 0;
  }
  if (args.schemaonly) return 0;
  info(`create ${Math.max(1, Math.min(args.threads, children.length))} thread(s) to export data ...`);
  const dataDir = path.join(dir, `data0-${shortHash(`${db.name}.${stb}`)}`);
  fs.mkdirSync(dataDir, { recursive: true });
  fs.writeFileSync(path.join(dataDir, 'stbname'), stb);
  let rows = 0;
  children.forEach((c, i) => {
    sleepSync(SLOW_MS);
    const n = dumpTableData(db, c, i, dataDir, { stable: stb, columns: def.columns });
    if (n < 0) {
      failed.any = true;
      failed.dbs.add(db.name);
    } else rows += n;
  });
  info(`super table (${stb}) dump ${children.length} child data ok. close taos connections...`);
  return rows;
}

function dumpNormalTable(db, dir, ntb, index) {
  const def = db.tables[ntb];
  const file = path.join(dir, `${db.name}.${uniqueId()}.avro-ntb`);
  writeAvro(file, { kind: 'ntb', namespace: db.name }, [{ tbname: ntb, columns: def.columns }]);
  fs.writeFileSync(`${file}.m`, JSON.stringify({ version: 1, tbName: ntb, cols: def.columns }));
  if (args.schemaonly) return 0;
  const dataDir = path.join(dir, 'data0-0');
  fs.mkdirSync(dataDir, { recursive: true });
  sleepSync(SLOW_MS);
  return dumpTableData(db, ntb, index, dataDir, { columns: def.columns });
}

function createDbClause(db) {
  return `CREATE DATABASE IF NOT EXISTS ${db.name} REPLICA 1   DURATION 14400m KEEP 5256000m,5256000m,5256000m PRECISION '${db.precision}'   ;\n`;
}
const createStbClause = (db, stb) =>
  `CREATE TABLE IF NOT EXISTS \`${db.name}\`.\`${stb}\` (${colDefs(db.stables[stb].columns)}) TAGS (${colDefs(db.stables[stb].tags)});\n`;

function headerLines() {
  // a real 3.3.7 taosdump writes the server's version as "ver:3.3.7.5" (seen on a real server)
  return `#!server_ver: ver:${store.readServer().version}\n#!taosdump_ver: ${VERSION}_${COMMIT}\n#!os_id: LINUX\n#!escape_char: true\n#!loose_mode: false\n#!charset: UTF-8\n`;
}

function newDbDir(db) {
  const dir = `${args.outpath}taosdump.${uniqueId()}`;
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'dbs.sql'), headerLines() + createDbClause(db));
  return dir;
}

function dumpWholeDatabase(db, topDbs, result) {
  info(`Start to dump out database: ${db.name}`);
  const dir = newDbDir(db);
  fs.appendFileSync(topDbs, `#!dumpdb: ${db.name}: ${dir}\n\n`);
  fs.appendFileSync(result, `\n#### database:                       ${db.name}\n`);
  let rows = 0;
  for (const stb of Object.keys(db.stables).sort()) {
    fs.appendFileSync(path.join(dir, 'dbs.sql'), createStbClause(db, stb));
    rows += dumpStable(db, dir, stb);
  }
  const ntbs = Object.keys(db.tables).filter((t) => !db.tables[t].stable).sort();
  if (Object.keys(db.tables).length === 0) warnPrint(`dumpNTablesOfDb() LN3911, database: ${db.name} has 0 tables`);
  ntbs.forEach((ntb, i) => {
    const n = dumpNormalTable(db, dir, ntb, i);
    if (n >= 0) {
      rows += n;
      okPrint(`dumpNTablesOfDb() LN3960, dump normal table: ${ntb}`);
    } else {
      failed.any = true;
      failed.dbs.add(db.name);
      errorPrint(`dumpNTablesOfDb() LN3963, dump normal table: ${ntb}`);
    }
  });
  return { rows, ok: !failed.dbs.has(db.name) };
}

// taosdump db tb1 tb2 ...: only the named tables, no "Database ... dumped" line
function dumpTables(db, names, result) {
  const dir = newDbDir(db);
  let rows = 0;
  names.forEach((name, i) => {
    const before = failed.any;
    if (db.stables[name]) {
      fs.appendFileSync(path.join(dir, 'dbs.sql'), createStbClause(db, name));
      rows += dumpStable(db, dir, name);
    } else if (db.tables[name]?.stable) {
      const stb = db.tables[name].stable;
      fs.appendFileSync(path.join(dir, 'dbs.sql'), createStbClause(db, stb));
      const saved = db.tables;
      db.tables = { [name]: saved[name] };
      rows += dumpStable(db, dir, stb);
      db.tables = saved;
    } else if (db.tables[name]) {
      const n = dumpNormalTable(db, dir, name, i + 1);
      if (n < 0) failed.any = true;
      else rows += n;
    } else {
      errorPrint(`input the invalid table ${name}`);
      return;
    }
    if (failed.any === before) okPrint(`table: ${name} dumped`);
  });
  fs.appendFileSync(result, `\n#### tables of database:             ${db.name}\n`);
  return rows;
}

function dumpOut(result) {
  const outDir = args.outpath;
  const shown = outDir || '.';
  let entries;
  try {
    if (!fs.statSync(shown).isDirectory()) throw new Error('not a dir');
    entries = fs.readdirSync(shown);
  } catch {
    errorPrint(`${outDir} is not exist!`);
    return -1;
  }
  const hasExt = (ext) => entries.some((e) => e.length > ext.length && e.endsWith(ext));
  if (
    fs.existsSync(path.join(shown, 'dbs.sql')) ||
    entries.some((e) => e.length > 'taosdump.'.length && e.startsWith('taosdump.')) ||
    hasExt('avro-tbstb') ||
    hasExt('avro-ntb') ||
    hasExt('avro')
  ) {
    errorPrint(`Found data file(s) exists in ${shown}! Please use other place to dump out!`);
    return -1;
  }
  // dbs.sql is opened for writing BEFORE connecting: a failed attempt leaves it behind
  const topDbs = `${outDir}dbs.sql`;
  fs.writeFileSync(topDbs, '');

  const seq = args.databases ? (args.databasesSeq ?? '').split(',').filter((s) => s !== '') : null;
  if (seq && seq.length === 0) {
    errorPrint('0 database(s) valid to dump');
    return -1;
  }
  let total = 0;
  const summary = (ret) => {
    const partial = failed.any && store.readServer().faults.partialSummary !== 'ok';
    if (ret === 0 && !partial) okPrint(`${total} row(s) dumped out!`);
    else errorPrint(`${total} row(s) dumped out!`);
    if (ret === 0) fs.appendFileSync(result, `# total row count:          ${total}\n`);
    return ret;
  };
  if (!taosConnect()) return summary(-1);
  fs.writeFileSync(topDbs, headerLines());

  const dbs = [];
  for (const name of store.listDatabases()) {
    if (SYSTEM_DBS.has(name)) continue;
    if (seq) {
      if (!seq.includes(name)) continue;
    } else if (!args.allDatabases && args.argList[0] !== name) continue;
    const db = store.readDatabase(name);
    if (!db) continue;
    okPrint(`Database: ${name} exists`);
    dbs.push(db);
    if (!seq && !args.allDatabases) break;
  }
  if (dbs.length === 0) {
    errorPrint('0 database(s) valid to dump');
    return summary(-1);
  }
  if (seq || args.allDatabases || args.argList.length === 1) {
    for (const db of dbs) {
      const r = dumpWholeDatabase(db, topDbs, result);
      total += r.rows;
      if (r.ok) okPrint(`Database ${db.name} dumped`);
    }
  } else total += dumpTables(dbs[0], args.argList.slice(1), result);
  return summary(0);
}

// ---------------------------------------------------------------- dump in (restore)
const restore = { success: 0, failed: 0, failedFiles: 0 };

function execSql(sql) {
  let m = /^CREATE DATABASE IF NOT EXISTS (`?)(\w+)\1(?:\s|;|$)(.*)$/.exec(sql);
  if (m) {
    const p = /PRECISION\s+'(\w+)'/i.exec(m[3]);
    store.ensureDatabase(m[2], p ? p[1] : 'ms');
    return null;
  }
  m = /^CREATE (?:TABLE|STABLE) IF NOT EXISTS `?(\w+)`?\.`?(\w+)`?\s*\((.*)\)\s*TAGS\s*\((.*)\)\s*;?$/.exec(sql);
  if (m) {
    const db = store.readDatabase(m[1]);
    if (!db) return 'Database not exist';
    const parse = (s) =>
      s.split(',').map((d) => {
        const mm = /^\s*`?(\w+)`?\s+(.+?)\s*$/.exec(d);
        return { name: mm[1], type: mm[2] };
      });
    if (!db.stables[m[2]]) {
      db.stables[m[2]] = { columns: parse(m[3]), tags: parse(m[4]) };
      store.writeDatabase(db);
    }
    return null;
  }
  return `syntax error near "${sql.slice(0, 20)}"`;
}

function dumpInDbs(dbPath) {
  if (!taosConnect()) return -1;
  const file = `${dbPath}/dbs.sql`;
  let text;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return -1;
  }
  text.split('\n').forEach((line, i) => {
    const cmd = line.replace(/\r/g, '');
    if (!cmd || cmd.startsWith('#')) return;
    const sql = (args.rename && afterRenameSql(cmd)) || cmd;
    const err = execSql(sql);
    if (err) {
      errorPrint(`Failed to run <${sql}>, reason: ${err}`);
      errorPrint(`dumpInOneDebugFile() LN2612, SQL: lineno:${i + 1}, file:${file}`);
    }
  });
  return 0;
}

function restoreFile(dbPath, kind, fileName) {
  const full = `${dbPath}/${fileName}`;
  let parsed;
  try {
    parsed = readAvro(full);
    if (kind === 'data' && parsed.header.table === store.readServer().faults.corruptOnRestore) throw new Error('Cannot decode file block');
  } catch (e) {
    errorPrint(`getSchemaAndReaderFromFile() LN1995, Unable to open avro file ${full}: ${e.code === 'ENOENT' ? 'No such file or directory' : 'Cannot decode file block'}`);
    errorPrint('dumpInOneAvroFile() LN2074, failed to get schema');
    return -1;
  }
  let ns = parsed.header.namespace;
  const nn = args.rename ? findNewName(ns) : null;
  if (nn) {
    info(` ------- rename DB Name ${ns} to ${nn} ------`);
    ns = nn;
  }
  if (!taosConnect()) return -1;
  sleepSync(SLOW_MS);
  const db = store.readDatabase(ns);
  if (!db) {
    errorPrint(`Failed to execute taosQuery, code: 0x80000388, reason: Database not exist, sql=USE ${ns} `);
    return -1;
  }
  if (kind === 'tbtags') {
    let n = 0;
    for (const r of parsed.records) {
      if (!db.stables[r.stbname]) {
        errorPrint(`dumpInAvroTbTagsImpl() LN2451, failed to create ${ns}.${r.tbname}: Super table does not exist`);
        continue;
      }
      if (!db.tables[r.tbname]) db.tables[r.tbname] = { stable: r.stbname, tags: r.tags };
      n++;
    }
    store.writeDatabase(db);
    return n;
  }
  if (kind === 'ntb') {
    for (const r of parsed.records) {
      if (!db.tables[r.tbname]) {
        // probe before create: benign errors a successful restore prints for every normal table
        const sql = `DESCRIBE ${ns}.\`${r.tbname}\``;
        errorPrint(`Failed to execute taosQuery, code: 0x80002603, reason: Table does not exist, sql=${sql} `);
        info('error code not in retry range , give up retry.');
        errorPrint(`getTableDes() LN1790, failed to run command <${sql}>. code: 0x80002603, reason: Table does not exist`);
        db.tables[r.tbname] = { columns: r.columns };
      }
    }
    store.writeDatabase(db);
    return parsed.records.length;
  }
  // data
  const table = parsed.header.table;
  if (!db.tables[table]) {
    errorPrint(`dumpInAvroDataImpl() LN2290 taos_stmt_prepare() failed! table: ${ns}.${table}, reason: Table does not exist`);
    return -1;
  }
  const drop = store.readServer().faults.dropRowsOnRestore;
  let rows = parsed.records;
  if (typeof drop === 'number') rows = rows.slice(0, Math.max(0, rows.length - drop));
  else if (drop && drop.table === table) rows = rows.slice(0, Math.max(0, rows.length - drop.rows));
  upsertRows(db, table, rows);
  store.writeDatabase(db);
  return parsed.records.length; // what the OK line reports, even when rows were dropped
}

function dumpInAvroWorkThreads(dbPath, ext) {
  info(`dumpInAvroWorkThreads() dump in ${ext} files ...`);
  let files;
  try {
    files = fs
      .readdirSync(dbPath, { withFileTypes: true })
      .filter((d) => d.isFile() && path.extname(d.name) === `.${ext}`)
      .map((d) => d.name)
      .sort();
  } catch {
    return 0;
  }
  if (files.length === 0) return 0;
  const kind = ext === 'avro' ? 'data' : ext === 'avro-tbtags' ? 'tbtags' : 'ntb';
  const threads = Math.max(1, Math.min(args.threads || 1, files.length));
  const a = Math.floor(files.length / threads);
  const b = files.length % threads;
  let from = 0;
  for (let t = 0; t < threads; t++) {
    const mine = files.slice(from, from + (t < b ? a + 1 : a));
    from += mine.length;
    let pct = 0;
    mine.forEach((f, i) => {
      if (pct === 0) info(`[${t}]: Restoring from ${f} ...`);
      const rows = restoreFile(dbPath, kind, f);
      if (rows < 0) {
        errorPrint(`dumpInAvroWorkThreadFp() LN2133, failed to dump file: ${f}`);
        if (kind === 'data') {
          restore.failed += rows;
          restore.failedFiles++;
          warnPrint(`[${t}] ${rows} row(s) of file(${f}) failed to dumped in!`);
        } else if (kind === 'tbtags') errorPrint(`[${t}] ${rows} table(s) belong stb from the file(${f}) failed to dumped in!`);
        else errorPrint(`[${t}] ${rows}  normal tables from (${f}) failed to dumped in!`);
      } else if (kind === 'data') {
        restore.success += rows;
        okPrint(`[${t}] ${rows} row(s) of file(${f}) be successfully dumped in!`);
      } else if (kind === 'tbtags') okPrint(`[${t}] ${rows}table(s) belong stb from the file(${f}) be successfully dumped in!`);
      else okPrint(`[${t}] ${rows} normal table(s) from (${f}) be successfully dumped in!`);
      const cur = Math.floor(((i + 1) * 100) / mine.length);
      if (cur > pct) {
        info(`[${t}]:${cur}%`);
        pct = cur;
      }
    });
  }
  return 0;
}

function dumpInWithDbPath(dbPath) {
  info(`dumpInWithDbPath(), dump in from ${dbPath} ...`);
  if (dumpInDbs(dbPath)) {
    errorPrint(`Failed to dump database path: ${dbPath} in!`);
    return -1;
  }
  let ret = dumpInAvroWorkThreads(dbPath, 'avro-tbtags');
  if (ret === 0) ret = dumpInAvroWorkThreads(dbPath, 'avro-ntb');
  if (ret === 0) {
    ret = dumpInAvroWorkThreads(dbPath, 'avro');
    for (const d of fs.readdirSync(dbPath, { withFileTypes: true }).filter((e) => e.isDirectory() && e.name.startsWith('data')).map((e) => e.name).sort()) {
      const dataPath = `${dbPath}/${d}`;
      if (!fs.existsSync(`${dataPath}/stbname`)) warnPrint(`open file failed. file=${dataPath}/stbname error=No such file or directory`);
      ret = dumpInAvroWorkThreads(dataPath, 'avro');
    }
  }
  return ret;
}

function dumpIn() {
  let ret = dumpInWithDbPath(args.inpath);
  if (ret) return ret;
  let subdirs;
  try {
    subdirs = fs.readdirSync(args.inpath).filter((e) => e.startsWith('taosdump.')).sort();
  } catch {
    errorPrint(`opendir(${args.inpath})`);
    return -1;
  }
  for (const d of subdirs) ret = dumpInWithDbPath(`${args.inpath}/${d}`); // keeps only the last status
  return ret;
}

// ---------------------------------------------------------------- entry
function checkParam() {
  if (args.codec === 'unknown') {
    errorPrint('Unknown AVRO codec inputted. Exit program!');
    die(1);
  }
  out('==============================\n');
  printArgs(out);
  args.argList.forEach((a, i) => {
    if (args.databases || args.allDatabases) {
      errorPrint(`${a} is an invalid input if database(s) be already specified.`);
      die(1);
    }
    out(`arg_list[${i}]: ${a}\n`);
  });
  if (args.allDatabases && args.databases) {
    errorPrint('conflict option --all-databases and --databases');
    die(1);
  }
  if (args.startTime !== null && args.endTime !== null && args.startTime > args.endTime) {
    errorPrint('start time is larger than end time');
    die(1);
  }
  if (args.argList.length === 0 && !args.allDatabases && !args.databases && !args.isDumpIn) {
    errorPrint('taosdump requires parameters');
    die(1);
  }
}

function main() {
  if (typeof SETTINGS?.store !== 'string' || !SETTINGS.store) {
    writeFd(2, `taosdump stand-in: no store named in ${SETTINGS_FILE} beside ${process.argv[1]}; refusing to run (run the copy test/stand-ins/index.ts standInBin makes).\n`);
    die(255);
  }
  store = new Store(SETTINGS.store);
  try {
    store.readServer();
  } catch (e) {
    writeFd(2, `taosdump stand-in: ${e.message}\n`);
    die(255);
  }
  const a = process.argv.slice(2);
  parseTimestamps(a);
  preParse(a);
  argpParse(a);

  if (args.dsn === null) {
    const dsn = process.env.TDENGINE_CLOUD_DSN;
    if (dsn) {
      if (args.connMode !== 'native') {
        args.dsn = dsn;
        info(`read dsn from evn dsn=${dsn}`);
      } else warnPrint(`command line pass native mode , ignore evn dsn:${dsn}`);
    }
  } else if (args.connMode === 'native') {
    errorPrint('DSN error, native mode and dsn conflict, please check it.');
    die(255);
  }
  if (args.connMode === 'invalid') die(255);

  checkParam();
  let result;
  try {
    fs.appendFileSync(args.resultFile, '');
    result = args.resultFile;
  } catch (e) {
    errorPrint(`Failed to open ${args.resultFile} for save res. Errno is ${e.errno}. Reason is ${e.message}.`);
    die(1);
  }
  printArgs((s) => fs.appendFileSync(result, s));
  out(`start time: ${now()}\n`);

  let ret = 0;
  if (args.isDumpIn) {
    fs.appendFileSync(result, `========== DUMP IN ========== \n# DumpIn start time: ${now()}\n`);
    if (dumpIn()) {
      errorPrint('dumpIn() failed!');
      okPrint(`${restore.success} row(s) dumped in!`);
      errorPrint(`${restore.failed} row(s) failed to dump in!`);
      ret = connectFailed ? RESTORE_CONNECT_EXIT : 255;
    } else if (restore.failed < 0) {
      if (store.readServer().faults.restoreFailureSummary === 'rows') {
        if (restore.success > 0) okPrint(`${restore.success} row(s) dumped in!`);
        errorPrint(`${restore.failed} row(s) failed to dump in!`);
      } else {
        okPrint(`${restore.success} row(s) dumped in!`);
        errorPrint(`${restore.failedFiles} failures occurred to dump in!`);
      }
    } else okPrint(`${restore.success} row(s) dumped in!`);
  } else {
    fs.appendFileSync(result, `========== DUMP OUT ========== \n# DumpOut start time: ${now()}\n`);
    if (dumpOut(result) < 0) ret = 255;
  }
  out(`end time: ${now()}\n`);
  fs.appendFileSync(result, `end time: ${now()}\n\n`);
  die(ret);
}

main();
