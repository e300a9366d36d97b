/**
 * A chat webhook on 127.0.0.1 for tests: records every request (path, query, headers, body) and
 * answers as the test says: a status and body, or never (to test timeouts).
 *
 *   const hook = await startWebhookServer((req, n) => n < 2 ? { status: 500 } : WECOM_OK);
 *   ... hook.url('/cgi-bin/webhook/send?key=abc') ...
 *   hook.requests[0].json()     hook.requests[0].rawUrl (still percent-encoded)     .at (arrival, ms)
 *   await hook.close();
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  method: string;
  /** The request target exactly as sent (path and query, still percent-encoded). */
  rawUrl: string;
  /** When the whole request had arrived (performance.now(), ms). */
  at: number;
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  body: string;
  json(): unknown;
}

export type Reply = { status: number; body?: string; headers?: Record<string, string> } | 'hang';
/** n: how many requests came before this one (0 for the first). */
export type Handler = (req: Received, n: number) => Reply;

export const WECOM_OK: Reply = { status: 200, body: '{"errcode":0,"errmsg":"ok"}' };
export const DINGTALK_OK: Reply = WECOM_OK;
export const FEISHU_OK: Reply = { status: 200, body: '{"code":0,"msg":"success","data":{}}' };
export const SLACK_OK: Reply = { status: 200, body: 'ok' };

/** The answer each kind's service gives on success. */
export const OK_BY_KIND: Record<'wecom' | 'dingtalk' | 'feishu' | 'slack' | 'generic', Reply> = {
  wecom: WECOM_OK,
  dingtalk: DINGTALK_OK,
  feishu: FEISHU_OK,
  slack: SLACK_OK,
  generic: { status: 204 },
};

export interface WebhookServer {
  /** http://127.0.0.1:<port><pathAndQuery> */
  url(pathAndQuery: string): string;
  requests: Received[];
  /** Requests whose path starts with `prefix`. */
  to(prefix: string): Received[];
  setHandler(h: Handler): void;
  close(): Promise<void>;
}

export async function startWebhookServer(handler: Handler = () => ({ status: 200, body: '{"errcode":0,"code":0}' })): Promise<WebhookServer> {
  let h = handler;
  const requests: Received[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const u = new URL(req.url ?? '/', 'http://127.0.0.1');
      const body = Buffer.concat(chunks).toString('utf8');
      const r: Received = { method: req.method ?? '', rawUrl: req.url ?? '/', at: performance.now(), path: u.pathname, query: u.searchParams, headers: req.headers, body, json: () => JSON.parse(body) as unknown };
      const n = requests.length;
      requests.push(r);
      const reply = h(r, n);
      if (reply === 'hang') return; // never answer; close() cuts the connection
      res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
      res.end(reply.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: (p) => `http://127.0.0.1:${port}${p}`,
    requests,
    to: (prefix) => requests.filter((r) => r.path.startsWith(prefix)),
    setHandler: (nh) => {
      h = nh;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
