/**
 * The TDengine server as this tool reaches it: queries through taosAdapter's REST API (taos-rest.ts)
 * with failures turned into JobErrors that say what to do, and the probe run before taosdump (a
 * refused connection costs taosdump ~21 s x 3 before it says so).
 * The behaviours relied on: docs/tdengine.md ("Queries: use the REST API"; the probe: "Seen on a real TDengine 3.3.7 server").
 */
import net from 'node:net';
import { JobError, UsageError } from '../../errors.js';
import type { TdengineConfig } from '../../inputs/config-schema.js';
import { restQuery, sqlString, TaosRestError, type RestEndpoint, type RestResult } from '../taos-rest.js';
import { parseTdVersion, type TdVersion } from './versions.js';
import { SYSTEM_DATABASES } from './names.js';

const PROBE_TIMEOUT_MS = 5000;
const QUERY_TIMEOUT_MS = 300_000;

export type Precision = 'ms' | 'us' | 'ns';
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

export class TdServer {
  constructor(private readonly cfg: TdengineConfig) {}

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

  private endpoint(env: NodeJS.ProcessEnv): RestEndpoint {
    return { host: this.cfg.host, port: this.cfg.rest_port, user: this.cfg.user, password: this.password(env) };
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
    return new JobError('tdengine.auth', `TDengine refused the login ${this.cfg.user}@${this.cfg.host}: wrong user or password (code 855, Authentication failure)`, {
      hint: 'Check tdengine.user in the config and the password in TDENGINE_PASSWORD (the action input tdengine-password).',
    });
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
}
