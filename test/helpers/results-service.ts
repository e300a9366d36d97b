/**
 * A stand-in of the GitHub Actions results service on 127.0.0.1, enough for @actions/artifact v6's
 * uploadArtifact: Twirp CreateArtifact -> a signed blob URL on this server -> Azure block blob
 * uploads (PUT ?comp=block, PUT ?comp=blocklist) -> Twirp FinalizeArtifact. Records each artifact
 * and unzips it, so a test can check which files went up under which name.
 *
 * Only for tests: the real service is GitHub's; this one trusts any token and keeps everything in
 * memory. `fail` makes CreateArtifact answer 400 (a non-retryable refusal).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { inflateRawSync } from 'node:zlib';

export interface Artifact {
  name: string;
  expiresAt: string | null;
  finalized: boolean;
  /** File name inside the zip -> content. */
  files: Map<string, string>;
}

export interface ResultsService {
  url: string;
  /** A runtime token as the runner gives it (a JWT whose `scp` names the run and job). */
  token: string;
  artifacts: Artifact[];
  fail: boolean;
  close(): Promise<void>;
}

function b64url(s: string): string {
  return Buffer.from(s).toString('base64url');
}

/** Entries of a zip file (central directory; stored or deflated). */
export function unzip(buf: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  let eocd = buf.length - 22;
  while (eocd >= 0 && buf.readUInt32LE(eocd) !== 0x06054b50) eocd--;
  if (eocd < 0) throw new Error('not a zip file');
  const count = buf.readUInt16LE(eocd + 10);
  let p = buf.readUInt32LE(eocd + 16);
  for (let i = 0; i < count; i++) {
    if (buf.readUInt32LE(p) !== 0x02014b50) throw new Error('bad central directory');
    const method = buf.readUInt16LE(p + 10);
    const csize = buf.readUInt32LE(p + 20);
    const nlen = buf.readUInt16LE(p + 28);
    const elen = buf.readUInt16LE(p + 30);
    const clen = buf.readUInt16LE(p + 32);
    const local = buf.readUInt32LE(p + 42);
    const name = buf.subarray(p + 46, p + 46 + nlen).toString('utf8');
    const lnlen = buf.readUInt16LE(local + 26);
    const lelen = buf.readUInt16LE(local + 28);
    const data = buf.subarray(local + 30 + lnlen + lelen, local + 30 + lnlen + lelen + csize);
    out.set(name, (method === 8 ? inflateRawSync(data) : data).toString('utf8'));
    p += 46 + nlen + elen + clen;
  }
  return out;
}

export async function startResultsService(): Promise<ResultsService> {
  const artifacts: Artifact[] = [];
  const blocks = new Map<string, Map<string, Buffer>>();
  const committed = new Map<string, Buffer>();
  const svc: ResultsService = { url: '', token: '', artifacts, fail: false, close: async () => {} };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const u = new URL(req.url ?? '/', 'http://127.0.0.1');
      const json = (status: number, o: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(o));
      };
      if (u.pathname.endsWith('/CreateArtifact')) {
        if (svc.fail) return json(400, { code: 'invalid_argument', msg: 'stand-in told to refuse' });
        const r = JSON.parse(body.toString()) as { name: string; expires_at?: string; expiresAt?: string };
        artifacts.push({ name: r.name, expiresAt: r.expires_at ?? r.expiresAt ?? null, finalized: false, files: new Map() });
        return json(200, { ok: true, signed_upload_url: `${svc.url}/blob/${encodeURIComponent(r.name)}.zip?sig=standin` });
      }
      if (u.pathname.endsWith('/FinalizeArtifact')) {
        const r = JSON.parse(body.toString()) as { name: string };
        const a = artifacts.find((x) => x.name === r.name);
        const blob = committed.get(`/blob/${encodeURIComponent(r.name)}.zip`);
        if (!a || !blob) return json(404, { code: 'not_found', msg: 'no such artifact' });
        a.files = unzip(blob);
        a.finalized = true;
        return json(200, { ok: true, artifact_id: String(artifacts.indexOf(a) + 1) });
      }
      if (u.pathname.startsWith('/blob/') && req.method === 'PUT') {
        const id = u.pathname;
        const headers = { 'x-ms-request-id': 'standin', 'x-ms-version': '2024-08-04', etag: '"0x1"', 'last-modified': new Date().toUTCString() };
        if (u.searchParams.get('comp') === 'block') {
          const m = blocks.get(id) ?? new Map<string, Buffer>();
          m.set(u.searchParams.get('blockid') ?? '', body);
          blocks.set(id, m);
          res.writeHead(201, headers);
          return res.end();
        }
        if (u.searchParams.get('comp') === 'blocklist') {
          const ids = [...body.toString().matchAll(/<(?:Latest|Uncommitted|Committed)>([^<]+)<\//g)].map((m) => m[1]!);
          const m = blocks.get(id) ?? new Map<string, Buffer>();
          committed.set(id, Buffer.concat(ids.map((b) => m.get(b) ?? Buffer.alloc(0))));
          res.writeHead(201, headers);
          return res.end();
        }
        committed.set(id, body); // a single-shot upload
        res.writeHead(201, headers);
        return res.end();
      }
      json(404, { msg: `stand-in has no ${req.method} ${u.pathname}` });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  svc.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  svc.token = `${b64url('{"alg":"none","typ":"JWT"}')}.${b64url(JSON.stringify({ scp: 'Actions.GenericRead:1 Actions.Results:ce7f54c7-61c7-4aae-887f-30da475f5f1a:ca395085-040a-526b-2ce8-bdc85f692774' }))}.stand-in`;
  svc.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return svc;
}
