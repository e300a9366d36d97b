/**
 * A local S3-compatible server for tests: s3rver 3.7.1 on 127.0.0.1 (a free port), storing into
 * a temp folder, with the credentials s3rver accepts (S3RVER/S3RVER) handed out as the
 * environment variables the tool reads. Only loopback. startCorruptingProxy() puts a proxy in
 * front of it that alters what object reads return.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import S3rver from 's3rver';

export interface LocalS3 {
  endpoint: string;
  bucket: string;
  /** The folder s3rver stores objects in (to look for leftovers). */
  directory: string;
  env: { AWS_ACCESS_KEY_ID: string; AWS_SECRET_ACCESS_KEY: string };
  close(): Promise<void>;
}

export async function startS3(bucket = 'mystocks-backup'): Promise<LocalS3> {
  // Tests make their own S3 clients too; the SDK's Node 20 notice is noise here.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const directory = mkdtempSync(path.join(os.tmpdir(), 'pgtaos-s3rver-'));
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory, configureBuckets: [{ name: bucket }] });
  const addr = await server.run();
  return {
    endpoint: `http://127.0.0.1:${addr.port}`,
    bucket,
    directory,
    env: { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' },
    async close() {
      await server.close().catch(() => {});
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

export interface CorruptingProxy {
  endpoint: string;
  /** Object reads whose bytes were altered so far. */
  corrupted: number;
  close(): Promise<void>;
}

/**
 * A proxy on 127.0.0.1 in front of an S3 endpoint that passes every request through unchanged
 * (signatures stay valid: the Host header is the proxy's, as signed) except object reads
 * (GET /bucket/key, status 200), whose first byte it flips: a remote that stores or returns
 * other bytes than it was sent, which only reading the copy back can catch.
 */
export async function startCorruptingProxy(target: string): Promise<CorruptingProxy> {
  const to = new URL(target);
  const state = { corrupted: 0 };
  const server = http.createServer((req, res) => {
    const up = http.request({ host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers }, (ur) => {
      const url = new URL(req.url ?? '/', 'http://x');
      const objectRead = req.method === 'GET' && ur.statusCode === 200 && url.pathname.split('/').filter(Boolean).length >= 2 && !url.searchParams.has('uploadId');
      res.writeHead(ur.statusCode ?? 502, ur.headers);
      if (!objectRead) {
        ur.pipe(res);
        return;
      }
      let flipped = false;
      ur.on('data', (chunk: Buffer) => {
        if (!flipped && chunk.length > 0) {
          flipped = true;
          state.corrupted++;
          chunk[0] = chunk[0]! ^ 0xff;
        }
        res.write(chunk);
      });
      ur.on('end', () => res.end());
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    get corrupted() {
      return state.corrupted;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
