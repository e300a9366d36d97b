/**
 * S3-compatible object storage (Alibaba OSS, Tencent COS, MinIO, AWS) through @aws-sdk/client-s3.
 * Keys come from the environment only (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, optional
 * AWS_SESSION_TOKEN), handed to the client explicitly: no ~/.aws files, no instance metadata.
 *
 * Uploads go through lib-storage's Upload: one PutObject for a small body, a multipart upload for
 * a large one. Neither makes an object visible before its last byte has arrived (a multipart
 * upload becomes an object only at CompleteMultipartUpload), and a failed or aborted upload is
 * aborted on the server (leavePartsOnError: false), so an interrupted copy leaves no object.
 *
 * Checksums: the SDK's default CRC32 trailers are switched off (requestChecksumCalculation:
 * WHEN_REQUIRED); several S3-compatible services reject them. The copy is checked by reading it
 * back instead (commands/replicate.ts), and the SHA-256 of the plain file is kept in x-amz-meta-plaintext-sha256.
 *
 * The SDK is loaded on first use (dynamic import): it is most of the bundle's start-up time, and
 * list, status, prune and every run without an s3 remote never need it. The constructor stays
 * synchronous and checks the keys, so missing keys are still a usage error before any work.
 */
import type { ListObjectsV2CommandOutput, S3ClientConfig } from '@aws-sdk/client-s3';
import os from 'node:os';
import { Readable } from 'node:stream';
import { z } from 'zod';
import { UsageError } from '../errors.js';
import { remoteConfigSchema, type RemoteDriver } from './driver.js';
import { RemoteError, checkKey, joinKey, type Capabilities, type PutOptions, type Remote, type RemoteObject, type RemoteStat } from './remote.js';

const s3Config = remoteConfigSchema('s3', {
  /** S3-compatible endpoint (Alibaba OSS, Tencent COS, MinIO); AWS when absent. Keys come from the environment. */
  endpoint: z.string().url().refine((u) => !/\/\/[^/]*@/.test(u), 'must not hold credentials (keys come from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)').optional(),
  bucket: z.string().min(3),
  prefix: z.string().default(''),
  region: z.string().default('us-east-1'),
  force_path_style: z.boolean().default(true),
  /** Bytes per multipart part (5 MiB minimum, as S3 requires). */
  part_size_mb: z.number().int().min(5).max(1024).default(16),
});
export type S3RemoteConfig = z.infer<typeof s3Config>;

/** `type: s3`: keys from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (AWS_SESSION_TOKEN); named `s3:<bucket>/<prefix>` unless given a name. */
export const s3Driver: RemoteDriver<S3RemoteConfig> = {
  type: 's3',
  configSchema: s3Config,
  secretEnv: ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN'],
  defaultName: (c) => {
    const p = c.prefix.split('/').filter(Boolean).join('/');
    return `s3:${c.bucket}${p ? `/${p}` : ''}`;
  },
  create: (c, ctx) => new S3Remote({ name: ctx.name, endpoint: c.endpoint, bucket: c.bucket, prefix: c.prefix, region: c.region, forcePathStyle: c.force_path_style, partSizeMb: c.part_size_mb, env: ctx.env }),
};

export interface S3RemoteOptions {
  name: string;
  endpoint?: string | undefined;
  bucket: string;
  prefix: string;
  region: string;
  forcePathStyle: boolean;
  partSizeMb: number;
  env: NodeJS.ProcessEnv;
}

const MIB = 1024 * 1024;

interface Sdk {
  s3: typeof import('@aws-sdk/client-s3');
  Upload: typeof import('@aws-sdk/lib-storage').Upload;
  client: import('@aws-sdk/client-s3').S3Client;
}

/** A short, secret-free description of an SDK error. */
function why(err: unknown): string {
  const e = err as { name?: string; Code?: string; message?: string; $metadata?: { httpStatusCode?: number }; code?: string };
  const status = e.$metadata?.httpStatusCode;
  const name = e.Code ?? e.name ?? e.code ?? 'error';
  const msg = e.message && e.message !== name && e.message !== 'UnknownError' ? `: ${e.message}` : '';
  return `${name}${status ? ` (HTTP ${status})` : ''}${msg}`;
}

function hintFor(err: unknown): string {
  const e = err as { name?: string; Code?: string; code?: string; $metadata?: { httpStatusCode?: number } };
  const n = e.Code ?? e.name ?? e.code ?? '';
  const status = e.$metadata?.httpStatusCode;
  if (n === 'NoSuchBucket' || (n === 'NotFound' && status === 404)) return 'Create the bucket, or fix `bucket` (and `endpoint`/`region`) in the remote\'s config.';
  if (/InvalidAccessKeyId|SignatureDoesNotMatch|AccessDenied|Forbidden/.test(n) || status === 403) {
    return 'Check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (action inputs aws-access-key-id, aws-secret-access-key) and that the key may write to this bucket and prefix.';
  }
  if (/ECONNREFUSED|ENOTFOUND|ETIMEDOUT|EAI_AGAIN|TimeoutError|ECONNRESET/.test(n)) return 'Check the endpoint URL and that the runner can reach it.';
  return 'Check the endpoint, bucket, region and keys of this remote, then run again. The local set is complete either way.';
}

export class S3Remote implements Remote {
  readonly type = 's3' as const;
  readonly name: string;
  readonly location: string;
  readonly capabilities: Capabilities = { metadata: true };
  private sdk: Promise<Sdk> | null = null;
  private readonly clientConfig: S3ClientConfig;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly partSize: number;

  constructor(opts: S3RemoteOptions) {
    this.name = opts.name;
    this.bucket = opts.bucket;
    this.prefix = opts.prefix.split('/').filter(Boolean).join('/');
    this.partSize = opts.partSizeMb * MIB;
    this.location = `s3://${opts.bucket}/${this.prefix}${this.prefix ? '/' : ''}${opts.endpoint ? ` at ${opts.endpoint}` : ` (AWS ${opts.region})`}`;
    const accessKeyId = opts.env.AWS_ACCESS_KEY_ID;
    const secretAccessKey = opts.env.AWS_SECRET_ACCESS_KEY;
    if (!accessKeyId || !secretAccessKey) {
      throw new UsageError('remote.no_keys', `remote ${this.name} (${this.location}) needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment`, {
        hint: 'Set them from secrets (action inputs aws-access-key-id and aws-secret-access-key); keys are never read from the config file.',
      });
    }
    // The SDK warns on Node 20 about its own future releases; the lock file pins a version that supports Node 20.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    this.clientConfig = {
      region: opts.region,
      ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
      forcePathStyle: opts.forcePathStyle,
      credentials: { accessKeyId, secretAccessKey, ...(opts.env.AWS_SESSION_TOKEN ? { sessionToken: opts.env.AWS_SESSION_TOKEN } : {}) },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: 3,
      requestHandler: { connectionTimeout: 10_000, requestTimeout: 300_000 },
    };
  }

  /** The SDK and a client, loaded once, on the first call that talks to the server. */
  private load(): Promise<Sdk> {
    this.sdk ??= Promise.all([import('@aws-sdk/client-s3'), import('@aws-sdk/lib-storage')]).then(
      ([s3, storage]) => ({ s3, Upload: storage.Upload, client: new s3.S3Client(this.clientConfig) }),
      (err: unknown) => {
        this.sdk = null;
        // ncc puts the SDK in chunk files beside index.js: a dist/ copied without them lands here.
        throw new RemoteError(this.name, `the S3 client library could not be loaded: ${(err as Error).message}`, { hint: 'Install the action or CLI with its whole dist/ folder (chunk files included).', cause: err });
      },
    );
    return this.sdk;
  }

  private key(key: string): string {
    return joinKey(this.prefix, checkKey(key));
  }

  private fail(what: string, err: unknown): RemoteError {
    return new RemoteError(this.name, `${what} (${this.location}): ${why(err)}`, { hint: hintFor(err), cause: err });
  }

  async check(signal?: AbortSignal): Promise<void> {
    const { s3, client } = await this.load();
    try {
      await client.send(new s3.HeadBucketCommand({ Bucket: this.bucket }), signal ? { abortSignal: signal } : {});
    } catch (err) {
      throw this.fail(`bucket ${this.bucket} cannot be reached`, err);
    }
    // A real write: read-only keys fail here, before any upload.
    const probe = this.key(`.pgtaos-probe-${os.hostname()}-${process.pid}`);
    try {
      await client.send(new s3.PutObjectCommand({ Bucket: this.bucket, Key: probe, Body: 'probe' }), signal ? { abortSignal: signal } : {});
      await client.send(new s3.DeleteObjectCommand({ Bucket: this.bucket, Key: probe }));
    } catch (err) {
      throw this.fail(`cannot write to bucket ${this.bucket}`, err);
    }
  }

  async put(key: string, body: Readable, opts: PutOptions = {}): Promise<void> {
    let sdk: Sdk;
    try {
      sdk = await this.load();
    } catch (err) {
      body.destroy();
      throw err;
    }
    const { Upload, client } = sdk;
    const upload = new Upload({
      client,
      params: { Bucket: this.bucket, Key: this.key(key), Body: body, ...(opts.metadata ? { Metadata: opts.metadata } : {}) },
      queueSize: 2,
      partSize: this.partSize,
      leavePartsOnError: false,
    });
    const onAbort = () => {
      body.destroy();
      void upload.abort().catch(() => {});
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      if (opts.signal?.aborted) throw opts.signal.reason;
      await upload.done();
    } catch (err) {
      if (opts.signal?.aborted) throw opts.signal.reason;
      throw this.fail(`upload of ${key} failed`, err);
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
    }
  }

  async get(key: string, signal?: AbortSignal): Promise<Readable> {
    const { s3, client } = await this.load();
    try {
      const r = await client.send(new s3.GetObjectCommand({ Bucket: this.bucket, Key: this.key(key) }), signal ? { abortSignal: signal } : {});
      if (!(r.Body instanceof Readable)) throw new Error('the response has no body stream');
      return r.Body;
    } catch (err) {
      throw this.fail(`reading ${key} back failed`, err);
    }
  }

  async stat(key: string): Promise<RemoteStat | null> {
    const { s3, client } = await this.load();
    try {
      const r = await client.send(new s3.HeadObjectCommand({ Bucket: this.bucket, Key: this.key(key) }));
      return { bytes: r.ContentLength ?? 0, metadata: Object.fromEntries(Object.entries(r.Metadata ?? {}).map(([k, v]) => [k.toLowerCase(), v])) };
    } catch (err) {
      const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
      if (e.name === 'NotFound' || e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404) return null;
      throw this.fail(`stat of ${key} failed`, err);
    }
  }

  async list(prefix: string): Promise<RemoteObject[]> {
    const out: RemoteObject[] = [];
    const { s3, client } = await this.load();
    const full = this.prefix ? `${this.prefix}/${prefix}` : prefix;
    let token: string | undefined;
    do {
      let r: ListObjectsV2CommandOutput;
      try {
        r = await client.send(new s3.ListObjectsV2Command({ Bucket: this.bucket, Prefix: full, ...(token ? { ContinuationToken: token } : {}) }));
      } catch (err) {
        throw this.fail('listing failed', err);
      }
      for (const o of r.Contents ?? []) {
        if (!o.Key) continue;
        const key = this.prefix ? o.Key.slice(this.prefix.length + 1) : o.Key;
        if (key.startsWith('.pgtaos-probe-')) continue;
        out.push({ key, bytes: o.Size ?? 0 });
      }
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token);
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async delete(key: string): Promise<void> {
    const { s3, client } = await this.load();
    try {
      await client.send(new s3.DeleteObjectCommand({ Bucket: this.bucket, Key: this.key(key) }));
    } catch (err) {
      throw this.fail(`delete of ${key} failed`, err);
    }
  }
}
