/**
 * TDengine: the only module that runs taosdump or talks to TDengine (through taosAdapter's REST
 * API). Built against shared/tdengine-contract.md; its traps and how they are met:
 *  - exit 0 is not success: output is streamed, stripped of colour codes and judged
 *    (taosdump-output.ts); the counts must add up;
 *  - bare `-p` reads one token from stdin (EOF silently means `taosdata`): the password goes
 *    on stdin with a newline, never in argv, and a missing TDENGINE_PASSWORD is refused;
 *  - `-o` must exist, be empty, and is poisoned by a failed attempt: a fresh folder per attempt;
 *    `-o`/`-i` go through wordexp() (cut at a space): they are passed relative to the cwd;
 *  - `-D` silently skips a missing name: the dump's dbs.sql must name the database;
 *  - `-i` restores into the name recorded in the dump: a different target always gets `-W`, and a
 *    scratch database equal to that recorded name is refused before anything is dropped;
 *  - a refused connection costs taosdump ~21 s x 3: the native port and REST are probed first,
 *    and again right before each taosdump run;
 *  - a fetch failing mid-stream still answers code 0 with short rows: counts come from COUNT(*),
 *    and every listing is checked against its COUNT(*).
 */
import net from 'node:net';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { JobError, UsageError } from '../errors.js';
import type { TdengineConfig } from '../inputs/config-schema.js';
import type { FileEntry, TdengineSection } from '../catalog/manifest.js';
import { fileEntry, listFiles } from '../catalog/checksum.js';
import { formatBytes, formatDuration } from '../catalog/time.js';
import { findBinary } from './binaries.js';
import { MASK_MIN_LENGTH, maskText } from '../report/log.js';
import { childEnv, type Engine, type EngineContext, type PreflightInfo } from './engine.js';
import { readTool, runTool, type ToolResult } from './exec.js';
import { restQuery, sqlIdent, sqlString, TaosRestError, type RestEndpoint, type RestResult } from './taos-rest.js';
import { judgeDump, judgeRestore, OutputAccumulator, parseDumpedDatabases, parseTaosdumpVersion, type Verdict } from './taosdump-output.js';

const INSTALL_HINT =
  "Install taosdump of the TDengine server's major.minor version: it ships with the TDengine server and client packages (e.g. TDengine-client-3.3.6.13-Linux-x64.tar.gz installs it in /usr/local/taos/bin).";
const PROBE_TIMEOUT_MS = 5000;
const QUERY_TIMEOUT_MS = 300_000;
const PROGRESS_MS = 10_000;
/** The dump folder inside a set, and taosdump's result file beside it. */
export const TDENGINE_DUMP_DIR = 'tdengine';
export const TDENGINE_RESULT_FILE = 'tdengine-dump-result.txt';
const SYSTEM_DATABASES = new Set(['information_schema', 'performance_schema', 'log', 'audit']);
/** Plain TDengine names: unquoted names are folded to lower case by the server. */
const NAME = /^[a-z_][a-z0-9_]{0,63}$/;
/** `text` with the password replaced by ***, when it is long enough to mask (the run log's floor). */
export function maskPassword(text: string, password: string): string {
  return password.length >= MASK_MIN_LENGTH ? maskText(text, [password]) : text;
}

/**
 * A taosdump result file made safe to keep. Older taosdump versions wrote their settings into it,
 * `password: <value>` included (taos-tools src/taosdump.c main()): that line is blanked whatever
 * the password's length, and the password is masked anywhere else once it is MASK_MIN_LENGTH or longer.
 */
export function scrubResultText(text: string, password: string): string {
  const lines = text.replace(/^(\s*password\s*:[ \t]*)\S.*$/gim, '$1***');
  return password === '' ? lines : maskPassword(lines, password);
}

export type Precision = 'ms' | 'us' | 'ns';

export interface TdVersion {
  /** [major, minor, patch, build]; missing parts are 0. */
  parts: number[];
  text: string;
}

/** "3.3.7.5.alpha" -> [3,3,7,5]; "3.3.6.13" -> [3,3,6,13]. */
export function parseTdVersion(text: string): TdVersion | null {
  const m = /(\d+)\.(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(text);
  if (!m) return null;
  return { parts: [m[1], m[2], m[3], m[4]].map((x) => Number(x ?? 0)), text: text.trim() };
}

export function majorMinor(v: TdVersion): string {
  return `${v.parts[0]}.${v.parts[1]}`;
}

export function versionAtLeast(v: TdVersion, min: number[]): boolean {
  for (let i = 0; i < min.length; i++) {
    const a = v.parts[i] ?? 0;
    if (a !== min[i]) return a > min[i]!;
  }
  return true;
}

/** TDengine 3.4.1.1+ ships taosBackup, whose format and options differ (contract, "Known user problems"). */
export const TAOSBACKUP_SINCE = [3, 4, 1];
/** `-Z Native|WebSocket` exists from 3.3.6 (older ones exit 64 on it). */
export const supportsDriverOption = (v: TdVersion): boolean => versionAtLeast(v, [3, 3, 6]);
/** `-W old=new` since taos-tools 3.1.1.17 / 3.2.2.0 (PR #703). */
export const supportsRename = (v: TdVersion): boolean =>
  versionAtLeast(v, [3, 2, 2, 0]) || (majorMinor(v) === '3.1' && versionAtLeast(v, [3, 1, 1, 17]));
/** Bare `-p` reads at most this many bytes (scanf %20s before 3.3.6, %255s after); longer is silently cut. */
export const passwordLimit = (v: TdVersion): number => (versionAtLeast(v, [3, 3, 6]) ? 255 : 20);

export interface VersionProblem {
  code: string;
  message: string;
  hint: string;
}

/** Server and taosdump must share major.minor; 3.4.1+ is the taosBackup era, which this tool does not drive. */
export function versionProblem(server: TdVersion, client: TdVersion, taosdumpPath = 'taosdump'): VersionProblem | null {
  const era = [server, client].find((v) => versionAtLeast(v, TAOSBACKUP_SINCE));
  if (era) {
    return {
      code: 'tdengine.taosbackup_era',
      message: `${era === server ? `the TDengine server is ${server.text}` : `taosdump ${client.text} (${taosdumpPath}) is`} 3.4.1 or newer: that release line ships taosBackup, whose dump format and options differ (its -p takes an argument, its -D filters on restore), and its taosdump exits 255 when a table is written during the dump (TDengine#35415). This tool drives taosdump 3.3.x`,
      hint: 'Back up this server with taosBackup by hand until this tool supports it, or keep the server and its tools on TDengine 3.3.x (see the README, TDengine section).',
    };
  }
  if (majorMinor(server) !== majorMinor(client)) {
    const want = server.parts.join('.');
    return {
      code: 'tdengine.version_mismatch',
      message: `taosdump ${client.text} (${taosdumpPath}) does not match the TDengine ${server.text} server (major.minor ${majorMinor(client)} vs ${majorMinor(server)}); dump and restore need the taosdump of the server's version (an older taosdump against a newer server is reported to corrupt values, TDengine#18975)`,
      hint: `Install the TDengine ${majorMinor(server)} client of the server's version (TDengine-client-${want}-Linux-x64.tar.gz from https://docs.tdengine.com/, which ships taosdump ${want}) and set tdengine.bin_dir to its bin folder (e.g. /usr/local/taos/bin).`,
    };
  }
  return null;
}

/** `-E` and `WHERE _c0 <= ...` take epoch values in the database's precision. */
export function toEpoch(at: Date, precision: Precision): string {
  const ms = BigInt(at.getTime());
  return (precision === 'ms' ? ms : precision === 'us' ? ms * 1000n : ms * 1_000_000n).toString();
}

export type PortProbe = { open: true } | { open: false; reason: string };

/** A TCP connect to the native port, closed at once: is anything listening there? */
export function tcpProbe(host: string, port: number, timeoutMs: number): Promise<PortProbe> {
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    const done = (r: PortProbe) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => done({ open: false, reason: `no answer within ${timeoutMs / 1000} s` }), timeoutMs);
    sock.once('connect', () => done({ open: true }));
    sock.once('error', (e: NodeJS.ErrnoException) => done({ open: false, reason: e.code === 'ECONNREFUSED' ? 'connection refused' : (e.code ?? e.message) }));
  });
}

/** A super table's counts, as the manifest's tdengine section holds them. */
export type StableCount = TdengineSection['stables'][number];
/** What countDatabase answers: the manifest section's counts. */
export type TdCounts = Pick<TdengineSection, 'stables' | 'tables'>;

export interface TdRestoreOutcome {
  /** ERROR:/WARN: lines that did not fail the restore (e.g. the DESCRIBE probe of each normal table). */
  warnings: string[];
  /** taosdump's `OK: <N> row(s) dumped in!` (not trustworthy alone: compare counts). */
  rowsReported: number | null;
  /** The database name recorded in the dump (what `-W` renamed). */
  source: string;
}

export function sumRows(c: TdCounts): number {
  return c.stables.reduce((a, s) => a + s.rows, 0) + c.tables.reduce((a, t) => a + t.rows, 0);
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
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

export class TdengineEngine implements Engine {
  readonly name = 'tdengine' as const;
  private taosdump = '';
  private clientV: TdVersion | null = null;
  /** Databases recorded in dumps this engine read (restore targets of `-i`): never dropped as a scratch. */
  private readonly dumpSources = new Set<string>();

  constructor(private readonly cfg: TdengineConfig) {}

  get database(): string {
    return this.cfg.database;
  }

  /** The taosdump found by findTools (for messages). */
  get binary(): string {
    return this.taosdump;
  }

  /**
   * Everything that can be checked without a connection: taosdump found (bin_dir or PATH),
   * the database names usable, TDENGINE_PASSWORD present and usable. UsageError (exit 2) otherwise.
   */
  findTools(env: NodeJS.ProcessEnv): void {
    this.taosdump = findBinary('taosdump', this.cfg.bin_dir, env, INSTALL_HINT);
    checkName(this.cfg.database, 'tdengine.database');
    if (this.cfg.scratch_database) checkName(this.cfg.scratch_database, 'tdengine.scratch_database');
    this.password(env);
  }

  /**
   * TDENGINE_PASSWORD, refused when missing: taosdump given no password silently uses the
   * factory default `taosdata`, which would hide a misconfigured secret (or use a default that
   * should have been changed). A server that still uses the default gets it set explicitly.
   */
  password(env: NodeJS.ProcessEnv): string {
    const p = env.TDENGINE_PASSWORD;
    if (p === undefined || p === '') {
      throw new UsageError('tdengine.no_password', 'TDENGINE_PASSWORD is not set', {
        hint: 'Set the TDENGINE_PASSWORD environment variable (action input tdengine-password). Without it taosdump would silently use the factory default password; if the server really still uses it, set TDENGINE_PASSWORD=taosdata explicitly (and change it on the server).',
      });
    }
    if (/\s/.test(p)) {
      throw new UsageError('tdengine.password_unusable', 'TDENGINE_PASSWORD contains whitespace', {
        hint: 'taosdump reads its password as one whitespace-free token from stdin (scanf) and would silently use only the part before the space. Give the TDengine user a password without spaces.',
      });
    }
    return p;
  }

  private checkPasswordFits(password: string, client: TdVersion): void {
    const limit = passwordLimit(client);
    if (Buffer.byteLength(password, 'utf8') > limit) {
      throw new UsageError('tdengine.password_too_long', `TDENGINE_PASSWORD is longer than the ${limit} bytes taosdump ${client.text} reads`, {
        hint: `taosdump silently cuts a longer password (then fails to log in). Use a password of at most ${limit} bytes${limit === 20 ? ', or taosdump 3.3.6 or newer (255 bytes)' : ''}.`,
      });
    }
  }

  private endpoint(env: NodeJS.ProcessEnv): RestEndpoint {
    return { host: this.cfg.host, port: this.cfg.rest_port, user: this.cfg.user, password: this.password(env) };
  }

  private where(): string {
    return `${this.cfg.user}@${this.cfg.host}`;
  }

  /** Environment for taosdump: no password, no TDENGINE_CLOUD_DSN (it would switch to WebSocket). */
  toolEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
    // TAOS_*: client settings; LD_LIBRARY_PATH: libtaos of a bin_dir install; TDSTANDIN_*: the
    // test stand-ins' switches (test/stand-ins/README.md), inert for the real tool.
    return childEnv(env, { TDENGINE_CLOUD_DSN: undefined, TDENGINE_PASSWORD: undefined }, ['TAOS_', 'LD_LIBRARY_PATH', 'TDSTANDIN_']);
  }

  /** One statement through REST; failures become JobErrors that say what to do. */
  async query(env: NodeJS.ProcessEnv, sql: string, signal?: AbortSignal): Promise<RestResult> {
    try {
      return await restQuery(this.endpoint(env), sql, { timeoutMs: QUERY_TIMEOUT_MS, ...(signal ? { signal } : {}) });
    } catch (err) {
      throw this.restError(err, sql);
    }
  }

  private restError(err: unknown, sql: string): unknown {
    if (!(err instanceof TaosRestError)) return err;
    const rest = `${this.cfg.host}:${this.cfg.rest_port}`;
    switch (err.kind) {
      case 'auth':
        return this.authError();
      case 'taosd_unreachable':
        return new JobError('tdengine.server_down', `taosAdapter at ${rest} answers, but cannot reach taosd (${err.message})`, {
          hint: 'Start taosd on the server (systemctl start taosd) and check it with `systemctl status taosd`.',
          cause: err,
        });
      case 'refused':
      case 'timeout':
      case 'network':
        return new JobError('tdengine.adapter_unreachable', `taosAdapter at ${rest} does not answer: ${err.message}`, {
          hint: `This tool queries TDengine through taosAdapter's REST API (tdengine.rest_port, now ${this.cfg.rest_port}). Start it (systemctl start taosadapter) and check the port.`,
          cause: err,
        });
      case 'sql':
        return new JobError('tdengine.sql', `TDengine refused \`${sql}\`: ${err.message}`, { hint: 'Check the database and the user\'s privileges on it.', cause: err });
      default:
        return new JobError('tdengine.rest', `taosAdapter at ${rest}: ${err.message}`, { hint: `Check that tdengine.rest_port (${this.cfg.rest_port}) is taosAdapter's port.`, cause: err });
    }
  }

  private authError(): JobError {
    return new JobError('tdengine.auth', `TDengine refused the login ${this.where()}: wrong user or password (code 855, Authentication failure)`, {
      hint: 'Check tdengine.user in the config and the password in TDENGINE_PASSWORD (the action input tdengine-password).',
    });
  }

  /** `taosdump -V`. */
  async clientVersion(env: NodeJS.ProcessEnv): Promise<TdVersion> {
    if (!this.taosdump) this.findTools(env);
    const r = await readTool(this.taosdump, ['-V'], this.toolEnv(env));
    const text = parseTaosdumpVersion(r.out);
    const v = text ? parseTdVersion(text) : null;
    if (!r.ok || !v) throw new JobError('tdengine.client_version', `cannot read the version of ${this.taosdump}: ${(r.err || r.out).slice(0, 300)}`, { hint: INSTALL_HINT });
    this.clientV = v;
    return v;
  }

  /**
   * Fail fast, before taosdump ever tries (a refused connection costs it over a minute): a TCP
   * connect to the native port and `SELECT SERVER_VERSION()` through REST, side by side.
   */
  async probe(env: NodeJS.ProcessEnv, signal?: AbortSignal): Promise<{ server: TdVersion }> {
    const ep = this.endpoint(env);
    const [native, rest] = await Promise.all([
      tcpProbe(this.cfg.host, this.cfg.port, PROBE_TIMEOUT_MS),
      restQuery(ep, 'SELECT SERVER_VERSION()', { timeoutMs: PROBE_TIMEOUT_MS, ...(signal ? { signal } : {}) }).then(
        (r) => ({ ok: true as const, r }),
        (e: unknown) => ({ ok: false as const, e }),
      ),
    ]);
    if (signal?.aborted) throw signal.reason;
    const nativeAt = `${this.cfg.host}:${this.cfg.port}`;
    const restAt = `${this.cfg.host}:${this.cfg.rest_port}`;
    if (rest.ok) {
      if (!native.open) {
        throw new JobError('tdengine.native_unreachable', `taosAdapter at ${restAt} answers, but TDengine's native port ${nativeAt} does not (${native.reason}); taosdump connects to the native port`, {
          hint: `Check tdengine.port (taosd's serverPort, default 6030; now ${this.cfg.port}) and any firewall between this machine and ${this.cfg.host}.`,
        });
      }
      const text = String(rest.r.data[0]?.[0] ?? '');
      const server = parseTdVersion(text);
      if (!server) throw new JobError('tdengine.server_version', `cannot read the server version from SELECT SERVER_VERSION(): "${text}"`, { hint: `Check that ${restAt} is taosAdapter.` });
      return { server };
    }
    const e = rest.e;
    if (!(e instanceof TaosRestError)) throw e;
    if (e.kind === 'auth') throw this.authError();
    const nativeState = native.open ? 'answers' : `does not answer (${native.reason})`;
    if (e.kind === 'taosd_unreachable') {
      throw new JobError('tdengine.server_down', `the TDengine server (taosd) at ${this.cfg.host} is down: taosAdapter at ${restAt} answers but cannot reach it (code ${e.code}); the native port ${nativeAt} ${nativeState}`, {
        hint: 'Start taosd on the server (systemctl start taosd; `systemctl status taosd` and /var/log/taos/ say why it stopped).',
      });
    }
    if (e.kind === 'refused' || e.kind === 'timeout' || e.kind === 'network') {
      if (native.open) {
        throw new JobError('tdengine.adapter_down', `taosd answers on ${nativeAt}, but taosAdapter does not answer on ${restAt} (${e.message})`, {
          hint: 'taosAdapter is a separate service, shipped with the server but not started by taosd, and this tool runs every query through its REST API: start and enable it (systemctl enable --now taosadapter), or set tdengine.rest_port to its port.',
        });
      }
      throw new JobError('tdengine.server_down', `the TDengine server at ${this.cfg.host} is unreachable: the native port ${nativeAt} ${nativeState} and taosAdapter at ${restAt} does not answer (${e.message})`, {
        hint: `Is the server running (systemctl status taosd taosadapter)? Check tdengine.host, tdengine.port and tdengine.rest_port. taosdump was not started: it would have retried for over a minute.`,
      });
    }
    throw this.restError(e, 'SELECT SERVER_VERSION()');
  }

  async preflight(ctx: EngineContext): Promise<PreflightInfo> {
    const { env, signal } = ctx;
    if (!this.taosdump) this.findTools(env);
    const password = this.password(env);
    const client = await this.clientVersion(env);
    this.checkPasswordFits(password, client);
    const { server } = await this.probe(env, signal);
    const vp = versionProblem(server, client, this.taosdump);
    if (vp) throw new JobError(vp.code, vp.message, { hint: vp.hint });
    const db = await this.databaseInfo(env, this.cfg.database, signal);
    ctx.log.info(`TDengine ${server.text} at ${this.cfg.host}:${this.cfg.port} (REST ${this.cfg.rest_port}), taosdump ${client.text}; database ${db.name}, precision ${db.precision}`);
    return { serverVersion: server.text, clientVersion: client.text, estimatedBytes: null };
  }

  /** Name and precision of a database; JobError `tdengine.no_database` when it does not exist. */
  async databaseInfo(env: NodeJS.ProcessEnv, name: string, signal?: AbortSignal): Promise<{ name: string; precision: Precision }> {
    // `precision` is a TDengine keyword: as a column name it must be backquoted (TDengine docs,
    // taos-sql "元数据", INS_DATABASES).
    const r = await this.query(env, `SELECT name, \`precision\` FROM information_schema.ins_databases WHERE name=${sqlString(name)}`, signal);
    if (r.data.length === 0) {
      const all = (await this.query(env, 'SELECT name FROM information_schema.ins_databases', signal)).data.map((row) => String(row[0])).filter((n) => !SYSTEM_DATABASES.has(n));
      throw new JobError('tdengine.no_database', `TDengine database ${name} does not exist on ${this.cfg.host} (it has: ${all.join(', ') || 'no user database'})`, { hint: 'Check tdengine.database in the config.' });
    }
    const p = String(r.data[0]![1]).toLowerCase();
    if (p !== 'ms' && p !== 'us' && p !== 'ns') throw new JobError('tdengine.precision', `database ${name} has an unknown precision "${p}"`, { hint: 'Expected ms, us or ns.' });
    return { name, precision: p };
  }

  async databaseExists(env: NodeJS.ProcessEnv, name: string, signal?: AbortSignal): Promise<boolean> {
    const r = await this.query(env, `SELECT name FROM information_schema.ins_databases WHERE name=${sqlString(name)}`, signal);
    return r.data.length > 0;
  }

  /** COUNT(*) answers one row; a missing row (empty table on some versions) is 0. */
  private async countOne(env: NodeJS.ProcessEnv, sql: string, signal?: AbortSignal): Promise<number> {
    const r = await this.query(env, sql, signal);
    const v = r.data[0]?.[0];
    if (v === undefined || v === null) return 0;
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < 0) throw new JobError('tdengine.count', `\`${sql}\` answered ${JSON.stringify(v)}, not a count`, { hint: 'Run the query in the taos shell to see why.' });
    return n;
  }

  private childTableCount(env: NodeJS.ProcessEnv, db: string, stable: string, signal?: AbortSignal): Promise<number> {
    // One row from TDengine's table-count scan; an SQL error fails the run (never a listing's length).
    return this.countOne(env, `SELECT COUNT(*) FROM information_schema.ins_tables WHERE db_name=${sqlString(db)} AND stable_name=${sqlString(stable)}`, signal);
  }

  /**
   * Names from an information_schema listing, checked against COUNT(*) over the same rows: a fetch
   * that fails mid-stream still answers code 0 with short rows, which would silently leave tables
   * out of the manifest (and out of every later comparison).
   */
  private async listNames(env: NodeJS.ProcessEnv, column: string, from: string, signal?: AbortSignal): Promise<string[]> {
    const names = (await this.query(env, `SELECT ${column} ${from}`, signal)).data.map((r) => String(r[0])).sort();
    const expected = await this.countOne(env, `SELECT COUNT(*) ${from}`, signal);
    if (names.length !== expected) {
      throw new JobError('tdengine.short_listing', `\`SELECT ${column} ${from}\` listed ${names.length} name(s), but COUNT(*) says ${expected}: the answer was cut short`, {
        hint: 'taosAdapter answers code 0 even when a fetch fails mid-stream. Run it again; if it repeats, check taosAdapter\'s and taosd\'s logs.',
      });
    }
    return names;
  }

  /**
   * Super tables (child-table count, rows) and normal tables (rows) of `db`, by COUNT(*) through
   * REST (one row each, never by listing rows). With `endTime` (ISO, e.g. the manifest's
   * end_time) only rows with `_c0 <= endTime` are counted, in the database's precision.
   */
  async countDatabase(env: NodeJS.ProcessEnv, db: string, endTime?: string, signal?: AbortSignal): Promise<TdCounts> {
    const info = await this.databaseInfo(env, db, signal);
    let where = '';
    if (endTime !== undefined) {
      const at = new Date(endTime);
      if (Number.isNaN(at.getTime())) throw new JobError('tdengine.end_time', `cannot read the end time "${endTime}"`, { hint: 'Expected an ISO 8601 time such as 2025-06-01T01:00:00.000Z.' });
      where = ` WHERE _c0 <= ${toEpoch(at, info.precision)}`;
    }
    const qdb = sqlIdent(db);
    const stableNames = await this.listNames(env, 'stable_name', `FROM information_schema.ins_stables WHERE db_name=${sqlString(db)}`, signal);
    const stables: StableCount[] = [];
    for (const name of stableNames) {
      if (signal?.aborted) throw signal.reason;
      const child_tables = await this.childTableCount(env, db, name, signal);
      const rows = await this.countOne(env, `SELECT COUNT(*) FROM ${qdb}.${sqlIdent(name)}${where}`, signal);
      stables.push({ name, child_tables, rows });
    }
    const normalNames = await this.listNames(env, 'table_name', `FROM information_schema.ins_tables WHERE db_name=${sqlString(db)} AND type='NORMAL_TABLE'`, signal);
    const tables: { name: string; rows: number }[] = [];
    for (const name of normalNames) {
      if (signal?.aborted) throw signal.reason;
      tables.push({ name, rows: await this.countOne(env, `SELECT COUNT(*) FROM ${qdb}.${sqlIdent(name)}${where}`, signal) });
    }
    return { stables, tables };
  }

  private connArgs(client: TdVersion): string[] {
    return [
      '-h', this.cfg.host,
      '-P', String(this.cfg.port),
      '-u', this.cfg.user,
      // bare -p: the password is read from stdin (never -pSECRET: it shows in /proc/<pid>/cmdline)
      '-p',
      // the native driver, whatever TDENGINE_CLOUD_DSN says (the option exists from 3.3.6)
      ...(supportsDriverOption(client) ? ['-Z', 'Native'] : []),
    ];
  }

  private async runTaosdump(ctx: EngineContext, args: string[], cwd: string, password: string, acc: OutputAccumulator): Promise<ToolResult> {
    const { log, signal, env } = ctx;
    const mask = (s: string) => maskPassword(s, password);
    const started = Date.now();
    const progress = setInterval(() => {
      const f = acc.facts;
      log.info(`taosdump: ${f.tablesDone} table(s) done after ${formatDuration(Date.now() - started)}${f.lastTable ? ` (last: ${f.lastTable})` : ''}${f.errorCount ? `, ${f.errorCount} ERROR line(s)` : ''}`);
    }, PROGRESS_MS);
    progress.unref();
    const onLine = (fromStderr: boolean) => (raw: string) => {
      const line = acc.push(raw);
      if (!line) return;
      // INFO (per-table progress, can be huge) and the stdout settings block are only counted.
      if (line.level === 'info' || (!fromStderr && line.level === 'other')) return;
      if (/^Cannot get the attribution of the terminal/.test(line.text)) return; // bare -p with piped stdin: benign
      log.info(`taosdump: ${mask(line.text)}`);
    };
    try {
      return await runTool({
        file: this.taosdump,
        args,
        env: this.toolEnv(env),
        cwd,
        // one token and a newline: EOF or an empty line would silently mean "taosdata"
        input: `${password}\n`,
        signal,
        onStdout: onLine(false),
        onStderr: onLine(true),
      });
    } finally {
      clearInterval(progress);
    }
  }

  /** Older taosdump versions wrote their settings, password included, into the result file. */
  private async scrub(file: string, password: string): Promise<void> {
    let text: string;
    try {
      text = await fs.readFile(file, 'utf8');
    } catch {
      return; // no result file: nothing to scrub
    }
    const clean = scrubResultText(text, password);
    if (clean !== text) await fs.writeFile(file, clean);
  }

  private failure(code: string, what: string, v: Verdict, password: string, hint: string): JobError {
    const quoted = v.quoted.length ? `:\n  ${v.quoted.map((l) => maskPassword(l, password)).join('\n  ')}` : '';
    return new JobError(code, `${what}: ${v.problems.join('; ')}${quoted}`, { hint });
  }

  /**
   * Dumps the database into `<setDir>/tdengine/` (fresh and empty for this attempt), bounded by
   * `-E endTime`, judges taosdump's output, counts through REST within the same bound, and
   * returns the manifest section (every file under the dump folder plus the result file).
   */
  async dump(ctx: EngineContext, setDir: string, pre: PreflightInfo, endTime: Date): Promise<TdengineSection> {
    const { log, signal, env } = ctx;
    if (!this.taosdump) this.findTools(env);
    const password = this.password(env);
    const client = this.clientV ?? (await this.clientVersion(env));
    this.checkPasswordFits(password, client);
    const db = this.cfg.database;
    const info = await this.databaseInfo(env, db, signal);
    const endEpoch = toEpoch(endTime, info.precision);
    // preflight probed before the PostgreSQL dump, maybe hours ago: a taosd gone meanwhile would
    // cost taosdump ~21 s per attempt, three attempts, before it says so.
    await this.probe(env, signal);

    // A failed attempt leaves dbs.sql behind and taosdump refuses such a folder: always a new one.
    const outDir = path.join(setDir, TDENGINE_DUMP_DIR);
    const resultFile = path.join(setDir, TDENGINE_RESULT_FILE);
    await fs.rm(outDir, { recursive: true, force: true });
    await fs.rm(resultFile, { force: true });
    await fs.mkdir(outDir);

    // -o and -r relative to cwd = setDir: -o goes through wordexp(), which cuts a path at a space.
    const args = [
      ...this.connArgs(client),
      '-D', db,
      '-o', TDENGINE_DUMP_DIR,
      '-r', TDENGINE_RESULT_FILE,
      '-T', String(this.cfg.threads),
      '-B', String(this.cfg.batch_rows),
      '-E', endEpoch,
    ];
    log.info(`$ ${path.basename(this.taosdump)} ${args.join(' ')}   (in ${setDir}; password on stdin; -E ${endTime.toISOString()} in ${info.precision})`);
    const started = Date.now();
    const acc = new OutputAccumulator();
    const r = await this.runTaosdump(ctx, args, setDir, password, acc);
    if (signal.aborted) throw signal.reason;
    if (r.spawnError) throw new UsageError('tdengine.spawn', `cannot run ${this.taosdump}: ${r.spawnError}`, { hint: INSTALL_HINT });
    await this.scrub(resultFile, password);

    const verdict = judgeDump(acc.facts, db, r);
    let held: string[] = [];
    try {
      held = parseDumpedDatabases(await fs.readFile(path.join(outDir, 'dbs.sql'), 'utf8'));
    } catch {
      /* reported below */
    }
    if (!held.includes(db)) {
      verdict.ok = false;
      verdict.problems.push(`the dump's dbs.sql does not name ${db} (${held.length ? `it names ${held.join(', ')}` : 'no database'})`);
    }
    if (!verdict.ok) {
      throw this.failure('tdengine.dump_failed', `taosdump did not dump ${db} whole`, verdict, password,
        'taosdump exits 0 even when tables fail, so its output is judged: read the lines above. "Table does not exist" for a table that exists, or a lost connection, usually passes on a second run; if a table keeps failing, inspect it in the taos shell. No set was kept.');
    }

    const counts = await this.countDatabase(env, db, endTime.toISOString(), signal);
    const total = sumRows(counts);
    if (verdict.rows !== total) {
      throw new JobError('tdengine.count_mismatch', `taosdump reported ${verdict.rows} row(s) dumped, but ${db} holds ${total} row(s) up to ${endTime.toISOString()} (COUNT(*) through REST)`, {
        hint: 'The dump and the counts must agree, or verification could never pass. Rows older than the dump\'s start time written during the dump (back-filled data) or expired by KEEP cause this; run the backup again.',
      });
    }

    const rels = (await listFiles(outDir)).map((f) => `${TDENGINE_DUMP_DIR}/${f}`);
    const files: FileEntry[] = await mapLimit(rels, 8, (rel) => fileEntry(setDir, rel));
    files.push(await fileEntry(setDir, TDENGINE_RESULT_FILE));
    const bytes = files.reduce((a, f) => a + f.bytes, 0);
    log.info(
      `taosdump: ${total} rows of ${counts.stables.length} super table(s) (${counts.stables.reduce((a, s) => a + s.child_tables, 0)} child tables) and ${counts.tables.length} normal table(s), ${files.length} files, ${formatBytes(bytes)} in ${formatDuration(Date.now() - started)}`,
    );
    return {
      server_version: pre.serverVersion,
      client_version: pre.clientVersion,
      database: db,
      host: this.cfg.host,
      port: this.cfg.port,
      precision: info.precision,
      end_time: endTime.toISOString(),
      files,
      stables: counts.stables,
      tables: counts.tables,
    };
  }

  /**
   * The one database a dump holds, as its top-level dbs.sql records it (`#!dumpdb:`): the name
   * `taosdump -i` creates and writes into unless `-W` renames it. Remembered, so that no scratch
   * operation of this engine ever drops it.
   */
  async recordedDatabase(dumpDir: string): Promise<string> {
    let dbsSql: string;
    try {
      dbsSql = await fs.readFile(path.join(dumpDir, 'dbs.sql'), 'utf8');
    } catch {
      throw new JobError('tdengine.not_a_dump', `${dumpDir} holds no readable dbs.sql: it is not a taosdump -o folder`, { hint: 'Pass the folder taosdump dumped into (the set\'s tdengine/ folder).' });
    }
    const recorded = parseDumpedDatabases(dbsSql);
    if (recorded.length !== 1) {
      throw new JobError('tdengine.not_a_dump', `${dumpDir}/dbs.sql names ${recorded.length} databases (${recorded.join(', ') || 'none'}); a set's dump holds exactly one`, { hint: 'Restore such a dump by hand with taosdump -i ... -W "old=new|old2=new2".' });
    }
    this.dumpSources.add(recorded[0]!);
    return recorded[0]!;
  }

  /** Names a scratch database must never have: production, system databases, a dump's own database. */
  private refuseProduction(name: string, what: string): void {
    checkName(name, 'the scratch database');
    if (name === this.cfg.database || SYSTEM_DATABASES.has(name)) {
      throw new UsageError('tdengine.scratch_is_production', `refusing to ${what} ${name}: it is ${name === this.cfg.database ? 'the production database' : 'a system database'}`, {
        hint: 'Set tdengine.scratch_database to a different name.',
      });
    }
    if (this.dumpSources.has(name)) {
      throw new UsageError('tdengine.scratch_is_dump_source', `refusing to ${what} ${name} as the scratch database: it is the database the set's dump was made from (recorded in the set), a real database that taosdump -i would also write into`, {
        hint: `Set tdengine.scratch_database to a name no real database uses (a set made with --tdengine-database, an imported set or a safety set can record a name other than tdengine.database).`,
      });
    }
  }

  /**
   * The scratch guard alone, with no connection (verify runs it before anything is created):
   * refuses production, system databases, and the database the set records (`database`, from
   * the manifest) or its dump records (`dumpDir`'s dbs.sql).
   */
  async checkScratch(scratch: string, source: { dumpDir?: string; database?: string } = {}): Promise<void> {
    if (source.database !== undefined) this.dumpSources.add(source.database);
    if (source.dumpDir !== undefined) await this.recordedDatabase(source.dumpDir);
    this.refuseProduction(scratch, 'drop or overwrite');
  }

  /**
   * Makes room for a scratch restore: `DROP DATABASE IF EXISTS` (taosdump then creates it with the
   * dump's own CREATE DATABASE, precision included; restoring into an existing one would merge).
   * Refuses the production database whatever the config says, and, given the set (`source`), the
   * database its dump records: that name is read BEFORE the drop, as taosdump -i writes into it.
   */
  async recreateScratch(env: NodeJS.ProcessEnv, scratch: string, signal?: AbortSignal, source: { dumpDir?: string; database?: string } = {}): Promise<void> {
    await this.checkScratch(scratch, source);
    await this.query(env, `DROP DATABASE IF EXISTS ${sqlIdent(scratch)}`, signal);
  }

  /**
   * Drops a restore target, production included. Only the restore command calls this, after the
   * exact --confirm and after a safety set of the target was written.
   */
  async dropRestoreTarget(env: NodeJS.ProcessEnv, target: string, signal?: AbortSignal): Promise<void> {
    checkName(target, 'the restore target');
    await this.query(env, `DROP DATABASE IF EXISTS ${sqlIdent(target)}`, signal);
  }

  async dropScratch(env: NodeJS.ProcessEnv, scratch: string, signal?: AbortSignal): Promise<void> {
    this.refuseProduction(scratch, 'drop');
    await this.query(env, `DROP DATABASE IF EXISTS ${sqlIdent(scratch)}`, signal);
  }

  /**
   * `taosdump -i <dumpDir>` into `target`. taosdump restores into the name recorded in the dump,
   * so a different target is always given with `-W "<recorded>=<target>"`. Judged by the failure
   * lines only (a good restore prints benign ERROR lines); the caller must still compare counts.
   * `target` equal to the production database is refused unless `allowProduction`; a target that
   * already exists is refused unless `allowExisting` (taosdump would merge into it: CREATE DATABASE
   * IF NOT EXISTS, rows upserted), so a scratch restore must follow recreateScratch().
   */
  async restore(
    ctx: EngineContext,
    dumpDir: string,
    target: string,
    resultFile: string,
    opts: { allowProduction?: boolean; allowExisting?: boolean } = {},
  ): Promise<TdRestoreOutcome> {
    const { log, signal, env } = ctx;
    checkName(target, 'the restore target');
    if (SYSTEM_DATABASES.has(target) || (target === this.cfg.database && !opts.allowProduction)) {
      throw new UsageError('tdengine.restore_into_production', `refusing to restore into ${target}: it is ${SYSTEM_DATABASES.has(target) ? 'a system database' : 'the production database'}`, {
        hint: 'Restore into the scratch database (verify does), or use the restore command with --confirm.',
      });
    }
    if (!this.taosdump) this.findTools(env);
    const password = this.password(env);
    const source = await this.recordedDatabase(dumpDir);
    if (source === target && !opts.allowProduction) {
      // without -W taosdump writes into the recorded name: that is a real database, not a scratch
      throw new UsageError('tdengine.scratch_is_dump_source', `refusing to restore into ${target}: it is the database the dump was made from, so this would write into it rather than into a scratch copy`, {
        hint: 'Set tdengine.scratch_database to a name no real database uses, or use the restore command with --confirm to replace that database.',
      });
    }
    const base = path.basename(path.resolve(dumpDir));
    if (!/^[A-Za-z0-9._-]+$/.test(base)) {
      throw new UsageError('tdengine.dump_path', `the dump folder name "${base}" is unsafe for taosdump -i (it expands the path with wordexp and cuts it at a space)`, { hint: 'Rename the folder to letters, digits, ".", "_" and "-" only.' });
    }
    const client = await this.clientVersion(env);
    this.checkPasswordFits(password, client);
    if (source !== target && !supportsRename(client)) {
      throw new JobError('tdengine.no_rename', `taosdump ${client.text} has no -W (rename on restore; since 3.1.1.17 / 3.2.2.0): it would restore into ${source} instead of ${target}`, { hint: INSTALL_HINT });
    }
    const { server } = await this.probe(env, signal);
    const vp = versionProblem(server, client, this.taosdump);
    if (vp) throw new JobError(vp.code, vp.message, { hint: vp.hint });
    if (!opts.allowExisting && (await this.databaseExists(env, target, signal))) {
      throw new JobError('tdengine.target_exists', `database ${target} already exists: taosdump would merge the dump into it, and its counts would not be the dump's`, {
        hint: `Drop it first (verify drops its scratch database itself), or restore into a new name.`,
      });
    }

    const args = [
      ...this.connArgs(client),
      '-i', base,
      ...(source !== target ? ['-W', `${source}=${target}`] : []),
      '-r', path.resolve(resultFile),
      '-T', String(this.cfg.threads),
      '-B', String(this.cfg.batch_rows),
    ];
    const cwd = path.dirname(path.resolve(dumpDir));
    log.info(`$ ${path.basename(this.taosdump)} ${args.join(' ')}   (in ${cwd}; password on stdin)`);
    const acc = new OutputAccumulator();
    const r = await this.runTaosdump(ctx, args, cwd, password, acc);
    if (signal.aborted) throw signal.reason;
    if (r.spawnError) throw new UsageError('tdengine.spawn', `cannot run ${this.taosdump}: ${r.spawnError}`, { hint: INSTALL_HINT });
    await this.scrub(path.resolve(resultFile), password);
    const verdict = judgeRestore(acc.facts, r);
    if (!verdict.ok) {
      throw this.failure('tdengine.restore_failed', `taosdump could not restore ${source} into ${target}`, verdict, password,
        'A data file that "Cannot decode file block" is damaged (verify its checksums); "WAL size exceeds limit" asks for a lower tdengine.batch_rows; a connection failure means the server went away during the restore.');
    }
    const mask = (s: string) => maskPassword(s, password);
    log.info(`taosdump: restore of ${source} into ${target} reported ${verdict.rows} row(s)${verdict.warnings.length ? `, with ${verdict.warnings.length} benign ERROR/WARN line(s)` : ''}`);
    return { warnings: verdict.warnings.map(mask), rowsReported: verdict.rows, source };
  }
}

function checkName(name: string, what: string): void {
  if (!NAME.test(name)) {
    throw new UsageError('tdengine.bad_name', `${what} "${name}" is not a plain lower-case TDengine name`, {
      hint: 'TDengine folds unquoted names to lower case, and taosdump matches names exactly: use lower-case letters, digits and _ (not starting with a digit).',
    });
  }
}
