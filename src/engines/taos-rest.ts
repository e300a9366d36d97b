/**
 * taosAdapter's REST API (POST /rest/sql), the only way this tool queries TDengine
 * (`taos -s` has no machine-readable output and exits 0 after SQL errors).
 * Every answer's `code` is checked: SQL errors and a wrong password come back as HTTP 200
 * (`{"code":855,"desc":"Authentication failure"}`); HTTP 401 only means a missing or malformed
 * Authorization header. taosAdapter is a separate service from taosd: a refused connection here
 * says nothing about taosd (the engine probes the native port for that).
 */

/** TDengine error codes as taosAdapter reports them (`code & 0xffff`). */
export const TAOS_CODE = {
  NETWORK_UNAVAIL: 0x000b, // 11: taosAdapter cannot reach taosd
  AUTH_FAILURE: 0x0357, // 855: wrong user or password
  DB_NOT_EXIST: 0x0388, // 904
  SYNTAX_ERROR: 0x2600, // 9728
  INVALID_COLUMN: 0x2602, // 9730
  TABLE_NOT_EXIST: 0x2603, // 9731
} as const;

export interface RestEndpoint {
  host: string;
  port: number;
  user: string;
  password: string;
}

export type RestErrorKind =
  /** nothing listens on the REST port */
  | 'refused'
  /** no answer within the timeout */
  | 'timeout'
  /** DNS, unreachable host, reset... */
  | 'network'
  /** code 855 */
  | 'auth'
  /** code 11: the adapter is up, taosd is not */
  | 'taosd_unreachable'
  /** any other non-zero code (SQL errors) */
  | 'sql'
  /** a non-200 HTTP status */
  | 'http'
  /** not taosAdapter's JSON */
  | 'bad_response';

export class TaosRestError extends Error {
  constructor(
    readonly kind: RestErrorKind,
    message: string,
    readonly code: number | null = null,
    readonly httpStatus: number | null = null,
  ) {
    super(message);
    this.name = 'TaosRestError';
  }
}

export interface RestResult {
  columns: string[];
  data: unknown[][];
  rows: number;
}

export function restUrl(host: string, port: number): string {
  const h = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return `http://${h}:${port}/rest/sql`;
}

function errnoOf(err: unknown): string | null {
  let e: unknown = err;
  for (let i = 0; i < 4 && e; i++) {
    const x = e as { code?: unknown; cause?: unknown; errors?: unknown[] };
    if (typeof x.code === 'string') return x.code;
    if (Array.isArray(x.errors) && x.errors.length) {
      const c = errnoOf(x.errors[0]);
      if (c) return c;
    }
    e = x.cause;
  }
  return null;
}

/**
 * Runs one statement. Throws TaosRestError for every failure, with `kind` saying which;
 * an abort of `signal` rethrows the signal's reason.
 */
export async function restQuery(ep: RestEndpoint, sql: string, opts: { timeoutMs: number; signal?: AbortSignal }): Promise<RestResult> {
  const url = restUrl(ep.host, ep.port);
  const timeout = AbortSignal.timeout(opts.timeoutMs);
  const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
  let res: Response;
  let text: string;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: {
        Authorization: `Basic ${Buffer.from(`${ep.user}:${ep.password}`, 'utf8').toString('base64')}`,
        'Content-Type': 'text/plain; charset=utf-8',
      },
      body: sql,
      signal,
    });
    text = await res.text();
  } catch (err) {
    if (opts.signal?.aborted) throw opts.signal.reason;
    if (timeout.aborted) throw new TaosRestError('timeout', `no answer from taosAdapter at ${url} within ${Math.round(opts.timeoutMs / 1000)} s`);
    const code = errnoOf(err);
    if (code === 'ECONNREFUSED') throw new TaosRestError('refused', `connection refused by ${url}`);
    throw new TaosRestError('network', `cannot reach taosAdapter at ${url}: ${code ?? (err instanceof Error ? err.message : String(err))}`);
  }
  let body: { code?: unknown; desc?: unknown; column_meta?: unknown; data?: unknown; rows?: unknown };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    throw new TaosRestError(res.status === 200 ? 'bad_response' : 'http', `${url} answered HTTP ${res.status} with something that is not taosAdapter's JSON: ${text.slice(0, 120)}`, null, res.status);
  }
  const code = typeof body.code === 'number' ? body.code : null;
  const desc = typeof body.desc === 'string' ? body.desc : '';
  if (res.status !== 200) throw new TaosRestError('http', `taosAdapter answered HTTP ${res.status}${code !== null ? ` code ${code}` : ''}: ${desc}`, code, res.status);
  if (code === null) throw new TaosRestError('bad_response', `taosAdapter's answer has no numeric code: ${text.slice(0, 120)}`);
  if (code !== 0) {
    const kind: RestErrorKind = code === TAOS_CODE.AUTH_FAILURE ? 'auth' : code === TAOS_CODE.NETWORK_UNAVAIL ? 'taosd_unreachable' : 'sql';
    throw new TaosRestError(kind, `TDengine error ${code} (0x${code.toString(16)}): ${desc || 'no description'}`, code, 200);
  }
  if (!Array.isArray(body.data) || !Array.isArray(body.column_meta)) throw new TaosRestError('bad_response', `taosAdapter's answer has no data: ${text.slice(0, 120)}`);
  const columns = (body.column_meta as unknown[]).map((c) => (Array.isArray(c) ? String(c[0]) : String(c)));
  const data = (body.data as unknown[]).filter((r): r is unknown[] => Array.isArray(r));
  return { columns, data, rows: typeof body.rows === 'number' ? body.rows : data.length };
}

/** SQL string literal (names are validated as plain identifiers before they get here). */
export function sqlString(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** Backquoted identifier. */
export function sqlIdent(s: string): string {
  if (s.includes('`')) throw new Error(`identifier ${s} holds a backquote`);
  return `\`${s}\``;
}
