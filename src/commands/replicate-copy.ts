/**
 * One set to one remote: every file of the manifest, then manifest.json last, each stored (age-
 * encrypted when recipients are set), read back in full and compared; the local bytes compared
 * with the manifest on the way. The outcome is recorded beside the set (remotes.json).
 */
import { describe as describeError } from '../errors.js';
import type { SetKind } from '../catalog/labels.js';
import { MANIFEST_FILE, manifestFiles, type Manifest } from '../catalog/manifest.js';
import { recordRemoteCopy, type CopiedFile, type RemoteCopy } from '../catalog/remote-copies.js';
import { setFilePath } from '../catalog/set-files.js';
import { localTime } from '../catalog/time.js';
import { formatBytes } from '../shared/format.js';
import { bytesOfTotal, ticker } from '../shared/progress.js';
import type { Remote } from '../remotes/remote.js';
import type { RunContext } from './context.js';
import { copySource, readBack } from './replicate-stream.js';

export interface SetToCopy {
  id: string;
  kind: SetKind;
  /** The set's folder (complete: its manifest is valid). */
  path: string;
  manifest: Manifest;
}

/** Records a copy beside the set, its texts masked: errors quote servers, and remotes.json must hold no secret. */
export function saveCopy(ctx: RunContext, setDir: string, rec: RemoteCopy): Promise<void> {
  // Only the free text: maskDeep would also reach the hex checksums and the enums of the record.
  const mask = (t: string) => ctx.log.mask(t);
  return recordRemoteCopy(setDir, { ...rec, location: mask(rec.location), error: rec.error === null ? null : mask(rec.error) });
}

/** The remote key of a set's file. */
export function remoteKey(set: Pick<SetToCopy, 'kind' | 'id'>, rel: string, encrypted: boolean): string {
  return `${set.kind}/${set.id}/${rel}${encrypted ? '.age' : ''}`;
}

/** The record of one copy of a set on one remote, as remotes.json keeps it. */
export function copyRecord(ctx: RunContext, remote: Remote, result: RemoteCopy['result'], files: CopiedFile[], error: string | null): RemoteCopy {
  return {
    remote: remote.name,
    type: remote.type,
    location: remote.location,
    result,
    copied_at: localTime(ctx.now(), ctx.config.timezone).iso,
    encrypted: ctx.config.encryption.age_recipients.length > 0,
    check: 'read-back',
    files,
    error,
  };
}

/**
 * Stores one file of the set and reads it back. Throws when the local file no longer matches the
 * manifest (`expect`; the stored object is removed again) or the read-back differs.
 */
async function copyFile(ctx: RunContext, set: SetToCopy, remote: Remote, rel: string, expect: { bytes: number; sha256: string } | null): Promise<CopiedFile> {
  const { log, signal } = ctx;
  const recipients = ctx.config.encryption.age_recipients;
  const encrypted = recipients.length > 0;
  const key = remoteKey(set, rel, encrypted);
  const src = await copySource(await setFilePath(set.path, rel, set.id), recipients);
  const every = Math.round(ctx.config.remote_progress_seconds * 1000);
  const stopUp = ticker(every, (l) => log.info(l), () => `${remote.name}: uploading ${key}: ${bytesOfTotal(src.sent(), src.size, 'sent')}`);
  try {
    await remote.put(key, src.body, { signal, metadata: { 'pgtaos-set': set.id, ...(expect ? { 'plaintext-sha256': expect.sha256 } : {}), ...(encrypted ? { encryption: 'age' } : {}) } });
  } finally {
    stopUp();
    await src.close();
  }
  const plain = src.plain();
  if (expect && (plain.bytes !== expect.bytes || plain.sha256 !== expect.sha256)) {
    const why = `the local ${rel} no longer matches the manifest (${plain.bytes} bytes, sha256 ${plain.sha256.slice(0, 16)}…; manifest: ${expect.bytes} bytes, ${expect.sha256.slice(0, 16)}…): not copied; run \`pgtaos-backup verify ${set.id}\``;
    // The object is already stored, its metadata naming the manifest's hash over other bytes: it must go.
    const left = await remote.delete(key).then(
      () => null,
      (e: unknown) => `and ${key}, stored from it with the manifest's sha256 in its metadata, could not be removed (${describeError(e).message}): delete it by hand`,
    );
    if (left) log.error(`${remote.name}: ${left}`);
    throw new Error(left ? `${why}; ${left}` : why);
  }
  const stored = src.stored();
  const got = { bytes: 0 };
  const stopBack = ticker(every, (l) => log.info(l), () => `${remote.name}: reading back ${key}: ${bytesOfTotal(got.bytes, stored.bytes, 'read')}`);
  const back = await readBack(remote, key, signal, got).finally(stopBack);
  if (back.bytes !== stored.bytes || back.sha256 !== stored.sha256) {
    throw new Error(`${key} read back as ${back.bytes} bytes, sha256 ${back.sha256.slice(0, 16)}…; ${stored.bytes} bytes, ${stored.sha256.slice(0, 16)}… were sent`);
  }
  log.info(`${remote.name}: ${key} (${formatBytes(stored.bytes)}${encrypted ? ', age-encrypted' : ''}) stored and read back: size and sha256 match`);
  return { path: rel, bytes: plain.bytes, sha256: plain.sha256, key, stored_bytes: stored.bytes, stored_sha256: stored.sha256 };
}

/**
 * Copies one set to one remote and reads every file back. Returns the record (also written
 * beside the set). Never throws for a remote failure (the record says failed); rethrows a cancel.
 */
export async function copySetTo(ctx: RunContext, set: SetToCopy, remote: Remote): Promise<RemoteCopy> {
  const { log, signal } = ctx;
  const files: CopiedFile[] = [];
  const wanted = [...manifestFiles(set.manifest).map((f) => ({ rel: f.path, expect: f as { bytes: number; sha256: string } | null })), { rel: MANIFEST_FILE, expect: null }];
  try {
    for (const { rel, expect } of wanted) {
      if (signal.aborted) throw signal.reason;
      files.push(await copyFile(ctx, set, remote, rel, expect));
    }
    // Objects of an earlier copy of this set that this copy did not write (e.g. unencrypted ones from before recipients were set).
    const keep = new Set(files.map((f) => f.key));
    for (const o of await remote.list(`${set.kind}/${set.id}/`)) {
      if (!keep.has(o.key)) {
        await remote.delete(o.key);
        log.info(`${remote.name}: removed ${o.key}, left by an earlier copy of ${set.id}`);
      }
    }
    const rec = copyRecord(ctx, remote, 'verified', files, null);
    await saveCopy(ctx, set.path, rec);
    return rec;
  } catch (err) {
    const rec = copyRecord(ctx, remote, 'failed', files, signal.aborted ? 'cancelled' : describeError(err).message);
    await saveCopy(ctx, set.path, rec).catch((e: unknown) => log.error(`could not record the copy beside ${set.id}: ${(e as Error).message}`));
    if (signal.aborted) throw signal.reason;
    return rec;
  }
}
