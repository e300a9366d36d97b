/**
 * Remote storage for copies of sets: the interface every driver implements (restic's
 * backend.Backend is the model). Drivers move bytes and nothing else: hashing, encryption,
 * which sets go where and the record of what was copied live in commands/replicate.ts.
 *
 * Keys are "/"-separated, relative (no leading "/", no "." or ".." parts), e.g.
 * "milestone/post_phase2_20261125/mystocks.dump.age". A driver applies its own prefix or folder.
 *
 * The one promise that matters: put() is atomic. After put() resolves, the key holds the whole
 * object; when put() rejects (stream error, abort, full disk, dropped connection), the key holds
 * what it held before or nothing, never a part. Drivers get this from a temporary name + rename
 * (path) or from a multipart upload that is completed only after its last part (s3).
 */
import type { Readable } from 'node:stream';
import { BackupError, JobError } from '../errors.js';

export interface RemoteStat {
  bytes: number;
  /** User metadata stored with the object (s3 x-amz-meta-*), lower-case keys; {} when the driver has none. */
  metadata: Record<string, string>;
}

export interface RemoteObject {
  key: string;
  bytes: number;
}

export interface PutOptions {
  signal?: AbortSignal;
  /** Small string metadata kept with the object where the driver can (s3); others ignore it. */
  metadata?: Record<string, string>;
  /** Expected size, when known (lets s3 pick the upload form); drivers must not trust it. */
  bytesHint?: number;
}

export interface Capabilities {
  /** Keeps `metadata` given to put() (s3: yes; path: no). */
  metadata: boolean;
}

export interface Remote {
  /** Name used in records and messages (config `name`, or derived from the location). */
  readonly name: string;
  /** The driver's type (config `type:`), as remotes.json records it. */
  readonly type: string;
  /** Where it is, for people: a folder or s3://bucket/prefix at an endpoint. Never holds credentials. */
  readonly location: string;
  readonly capabilities: Capabilities;
  /**
   * Can we write there now? Throws a RemoteError whose message says what is wrong (not mounted,
   * read-only, bucket missing, credentials refused) and whose hint says what to do.
   */
  check(signal?: AbortSignal): Promise<void>;
  /** Stores the whole stream under `key`, atomically (see above). Consumes `body`. */
  put(key: string, body: Readable, opts?: PutOptions): Promise<void>;
  /** The object's bytes, streamed (for re-reading a copy). Throws RemoteError when missing. */
  get(key: string, signal?: AbortSignal): Promise<Readable>;
  /** Size and metadata, or null when there is no such object. */
  stat(key: string): Promise<RemoteStat | null>;
  /** Whole objects whose key starts with `prefix`, sorted by key. Never lists a put in progress. */
  list(prefix: string): Promise<RemoteObject[]>;
  /** Removes the object; no error when it is not there. */
  delete(key: string): Promise<void>;
}

/** A remote failed: the job ran and failed (exit 1). */
export class RemoteError extends JobError {
  constructor(remote: string, message: string, opts: { hint?: string; cause?: unknown } = {}) {
    super('remote.failed', `remote ${remote}: ${message}`, opts);
    this.name = 'RemoteError';
  }
}

const KEY_PART = /^(?!\.{1,2}$)[^/\0\\]+$/;

/** Checks a key has the documented shape; throws otherwise (a bug, not a user error). */
export function checkKey(key: string): string {
  if (!key || key.startsWith('/') || !key.split('/').every((p) => KEY_PART.test(p))) {
    throw new Error(`internal: bad remote key ${JSON.stringify(key)}`);
  }
  return key;
}

/** Joins a prefix ("", "a", "a/b/") and a key without doubled or leading slashes. */
export function joinKey(prefix: string, key: string): string {
  const p = prefix.split('/').filter(Boolean).join('/');
  return p ? `${p}/${key}` : key;
}

export function isBackupError(err: unknown): err is BackupError {
  return err instanceof BackupError;
}
