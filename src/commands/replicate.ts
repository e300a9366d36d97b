/**
 * Copies of sets on remote storage (README, Remote copies and encryption): which sets go where, age encryption on the way out,
 * reading every copy back, and the record of it beside the set (remotes.json).
 *
 * - Every milestone set goes to every remote; config snapshots go to every remote only when
 *   encryption.age_recipients is set (they hold .env secrets), and otherwise stay local with a
 *   warning; dailies and safety copies only where a remote says `include: [daily]` / `[safety]`.
 * - A set is copied file by file to `<kind>/<id>/<file>` (`.age` appended when encrypted), each
 *   file read back in full and its size and SHA-256 compared with what was sent; manifest.json
 *   goes last, so a set on a remote without its manifest is an interrupted copy, as locally.
 * - The local file's SHA-256 is taken from the same bytes that are sent and compared with the
 *   manifest: a local file damaged since the backup is not copied.
 * - A remote that cannot be written (not mounted, read-only, keys refused) fails the run (exit 1)
 *   after the local set is complete; the failure is recorded, and the next backup, milestone or
 *   config run tries again for every milestone (and the newest config snapshot) not yet copied.
 */
import type { Hash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { describe as describeError } from '../errors.js';
import type { SetKind } from '../catalog/labels.js';
import { MANIFEST_FILE, manifestFiles, readManifest, type Manifest } from '../catalog/manifest.js';
import { readRemoteCopies, recordRemoteCopy, type CopiedFile, type RemoteCopy } from '../catalog/remote-copies.js';
import { listSets, type SetEntry } from '../catalog/sets.js';
import { openNoFollow, setFilePath } from '../catalog/set-files.js';
import { localTime } from '../catalog/time.js';
import { formatBytes } from '../shared/format.js';
import type { Config } from '../inputs/config-schema.js';
import { checkRemoteNames, openRemote, remoteName, remoteTakes } from '../remotes/registry.js';
import type { Remote } from '../remotes/remote.js';
import type { Check, CommandOutcome } from '../report/result.js';
import type { RunContext } from './context.js';
import { newSha256 } from '../shared/hash.js';

const CHUNK = 1 << 20;

export interface SetToCopy {
  id: string;
  kind: SetKind;
  /** The set's folder (complete: its manifest is valid). */
  path: string;
  manifest: Manifest;
}

interface Target {
  remote: Remote;
  /** Set when check() failed: every copy to this remote fails with it. */
  broken: string | null;
  checked: boolean;
}

/** Counts and hashes what flows through. */
class HashCount extends Transform {
  private readonly hash: Hash = newSha256();
  private hex: string | null = null;
  bytes = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    cb(null, chunk);
  }
  /** The SHA-256 of everything that went through (call once the stream has ended). */
  digest(): string {
    this.hex ??= this.hash.digest('hex');
    return this.hex;
  }
}

/** A file read in chunks on demand (pull), hashed on the way: flat memory whatever its size. */
function pullFile(fh: fs.FileHandle, plain: { hash: Hash; bytes: number }): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const buf = new Uint8Array(CHUNK);
      const { bytesRead } = await fh.read(buf, 0, CHUNK, null);
      if (bytesRead === 0) {
        controller.close();
        return;
      }
      const chunk = buf.subarray(0, bytesRead);
      plain.hash.update(chunk);
      plain.bytes += bytesRead;
      controller.enqueue(chunk);
    },
  });
}

interface Source {
  /** What to store. */
  body: Readable;
  /** Size and SHA-256 of what was stored (once body has ended). */
  stored: () => { bytes: number; sha256: string };
  /** Size and SHA-256 of the local file as read (once body has ended). */
  plain: () => { bytes: number; sha256: string };
  close: () => Promise<void>;
}

/**
 * The bytes to store for one local file: the file itself, or its age encryption, streamed (never
 * the whole file in memory), with the local file hashed from the same bytes that are sent.
 */
async function source(file: string, recipients: string[]): Promise<Source> {
  const stored = new HashCount();
  const storedResult = () => ({ bytes: stored.bytes, sha256: stored.digest() });
  // Never through a link: a set file linked to /etc/shadow must not reach the remote.
  const fh = await openNoFollow(file);
  if (recipients.length === 0) {
    const direct = fh.createReadStream({ highWaterMark: CHUNK });
    direct.on('error', (e) => stored.destroy(e));
    return { body: direct.pipe(stored), stored: storedResult, plain: storedResult, close: async () => void direct.destroy() };
  }
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await fh.close().catch(() => {});
  };
  // Loaded on first use: most runs encrypt nothing, and the CLI starts faster without it.
  const { Encrypter } = await import('age-encryption');
  const enc = new Encrypter();
  for (const r of recipients) enc.addRecipient(r);
  const plain = { hash: newSha256(), bytes: 0 };
  let plainHex: string | null = null;
  // Node 20: Readable.fromWeb on age's output stays flat in memory; Writable.toWeb would buffer the file.
  const raw = Readable.fromWeb((await enc.encrypt(pullFile(fh, plain))) as import('node:stream/web').ReadableStream<Uint8Array>);
  raw.on('error', (e) => stored.destroy(e));
  return {
    body: raw.pipe(stored),
    stored: storedResult,
    plain: () => {
      plainHex ??= plain.hash.digest('hex');
      return { bytes: plain.bytes, sha256: plainHex };
    },
    close,
  };
}

async function readBack(remote: Remote, key: string, signal: AbortSignal): Promise<{ bytes: number; sha256: string }> {
  const s = await remote.get(key, signal);
  const hash = newSha256();
  let bytes = 0;
  for await (const chunk of s) {
    if (signal.aborted) {
      s.destroy();
      throw signal.reason;
    }
    const b = chunk as Buffer;
    hash.update(b);
    bytes += b.length;
  }
  return { bytes, sha256: hash.digest('hex') };
}

/** Records a copy beside the set, its texts masked: errors quote servers, and remotes.json must hold no secret. */
function saveCopy(ctx: RunContext, setDir: string, rec: RemoteCopy): Promise<void> {
  // Only the free text: maskDeep would also reach the hex checksums and the enums of the record.
  const mask = (t: string) => ctx.log.mask(t);
  return recordRemoteCopy(setDir, { ...rec, location: mask(rec.location), error: rec.error === null ? null : mask(rec.error) });
}

/** The remote key of a set's file. */
export function remoteKey(set: Pick<SetToCopy, 'kind' | 'id'>, rel: string, encrypted: boolean): string {
  return `${set.kind}/${set.id}/${rel}${encrypted ? '.age' : ''}`;
}

/**
 * Copies one set to one remote and reads every file back. Returns the record (also written
 * beside the set). Never throws for a remote failure (the record says failed); rethrows a cancel.
 */
export async function copySetTo(ctx: RunContext, set: SetToCopy, remote: Remote): Promise<RemoteCopy> {
  const { log, signal } = ctx;
  const recipients = ctx.config.encryption.age_recipients;
  const encrypted = recipients.length > 0;
  const files: CopiedFile[] = [];
  const record = (result: RemoteCopy['result'], error: string | null): RemoteCopy => ({
    remote: remote.name,
    type: remote.type,
    location: remote.location,
    result,
    copied_at: localTime(ctx.now(), ctx.config.timezone).iso,
    encrypted,
    check: 'read-back',
    files,
    error,
  });
  const wanted = [...manifestFiles(set.manifest).map((f) => ({ rel: f.path, expect: f as { bytes: number; sha256: string } | null })), { rel: MANIFEST_FILE, expect: null }];
  try {
    for (const { rel, expect } of wanted) {
      if (signal.aborted) throw signal.reason;
      const key = remoteKey(set, rel, encrypted);
      const src = await source(await setFilePath(set.path, rel, set.id), recipients);
      try {
        await remote.put(key, src.body, { signal, metadata: { 'pgtaos-set': set.id, ...(expect ? { 'plaintext-sha256': expect.sha256 } : {}), ...(encrypted ? { encryption: 'age' } : {}) } });
      } finally {
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
      const back = await readBack(remote, key, signal);
      if (back.bytes !== stored.bytes || back.sha256 !== stored.sha256) {
        throw new Error(`${key} read back as ${back.bytes} bytes, sha256 ${back.sha256.slice(0, 16)}…; ${stored.bytes} bytes, ${stored.sha256.slice(0, 16)}… were sent`);
      }
      files.push({ path: rel, bytes: plain.bytes, sha256: plain.sha256, key, stored_bytes: stored.bytes, stored_sha256: stored.sha256 });
      log.info(`${remote.name}: ${key} (${formatBytes(stored.bytes)}${encrypted ? ', age-encrypted' : ''}) stored and read back: size and sha256 match`);
    }
    // Objects of an earlier copy of this set that this copy did not write (e.g. unencrypted ones from before recipients were set).
    const keep = new Set(files.map((f) => f.key));
    for (const o of await remote.list(`${set.kind}/${set.id}/`)) {
      if (!keep.has(o.key)) {
        await remote.delete(o.key);
        log.info(`${remote.name}: removed ${o.key}, left by an earlier copy of ${set.id}`);
      }
    }
    const rec = record('verified', null);
    await saveCopy(ctx, set.path, rec);
    return rec;
  } catch (err) {
    const d = describeError(err);
    const rec = record('failed', signal.aborted ? 'cancelled' : d.message);
    await saveCopy(ctx, set.path, rec).catch((e: unknown) => log.error(`could not record the copy beside ${set.id}: ${(e as Error).message}`));
    if (signal.aborted) throw signal.reason;
    return rec;
  }
}

export interface ReplicationReport {
  checks: Check[];
  /** Failed copies, as messages. */
  failures: string[];
  hints: string[];
}

/** The remotes of the config, opened. Throws UsageError (exit 2) for duplicate names or missing keys. */
export function openRemotes(ctx: RunContext): Remote[] {
  checkRemoteNames(ctx.config);
  return ctx.config.remotes.map((r) => openRemote(r, ctx.env, { backupRoot: ctx.config.root }));
}

/**
 * Copies `sets` to every remote that takes them, plus every complete milestone set and the newest
 * complete config set still lacking a verified copy on a remote that takes it (catch-up after an
 * outage). Copies that are already verified are not redone.
 */
export async function replicate(ctx: RunContext, sets: SetToCopy[], remotes: Remote[] = openRemotes(ctx)): Promise<ReplicationReport> {
  const { config, log } = ctx;
  const report: ReplicationReport = { checks: [], failures: [], hints: [] };
  const encrypted = config.encryption.age_recipients.length > 0;
  const all = await listSets(config.root);
  const newestConfig = all.find((s) => s.kind === 'config' && s.status === 'complete' && s.manifest);
  const catchUp = all.filter((s): s is SetEntry & { manifest: Manifest } => s.status === 'complete' && s.manifest !== null && (s.kind === 'milestone' || s === newestConfig));
  const queue: SetToCopy[] = [...sets];
  for (const s of catchUp) if (!queue.some((q) => q.path === s.path)) queue.push({ id: s.id, kind: s.kind, path: s.path, manifest: s.manifest });

  for (const set of sets) {
    if (set.kind === 'config' && !encrypted && remotes.length > 0) {
      log.warn(`config set ${set.id} stays on this machine: encryption.age_recipients is empty, and config snapshots (they hold .env secrets) never leave it unencrypted`);
    }
  }
  if (remotes.length === 0) return report;

  const targets: Target[] = remotes.map((remote) => ({ remote, broken: null, checked: false }));
  const configs = new Map(config.remotes.map((r) => [remoteName(r), r]));
  await log.group(`copies to remotes (${remotes.map((r) => r.name).join(', ')})`, async () => {
    for (const set of queue) {
      const done = await readRemoteCopies(set.path);
      for (const t of targets) {
        const rc = configs.get(t.remote.name);
        if (!rc) continue;
        const takes = remoteTakes(rc, set.kind, encrypted);
        const isNew = sets.includes(set);
        if (!takes.takes) {
          if (isNew && set.kind !== 'config') log.info(`${t.remote.name}: ${set.id} not copied: ${takes.why}`);
          continue;
        }
        // Already there (a skipped config snapshot, a milestone copied by an earlier run): not redone.
        if (done.some((c) => c.remote === t.remote.name && c.result === 'verified' && c.encrypted === encrypted)) continue;
        if (!isNew) log.info(`${t.remote.name}: ${set.id} has no verified copy there yet: copying it now`);
        if (!t.checked) {
          t.checked = true;
          try {
            await t.remote.check(ctx.signal);
          } catch (err) {
            if (ctx.signal.aborted) throw ctx.signal.reason;
            const d = describeError(err);
            t.broken = d.message;
            if (d.hint) report.hints.push(d.hint);
          }
        }
        let rec: RemoteCopy;
        if (t.broken) {
          rec = { remote: t.remote.name, type: t.remote.type, location: t.remote.location, result: 'failed', copied_at: localTime(ctx.now(), config.timezone).iso, encrypted, check: 'read-back', files: [], error: t.broken };
          await saveCopy(ctx, set.path, rec).catch((e: unknown) => log.error(`could not record the copy beside ${set.id}: ${(e as Error).message}`));
        } else {
          rec = await copySetTo(ctx, set, t.remote);
        }
        const bytes = rec.files.reduce((a, f) => a + f.stored_bytes, 0);
        if (rec.result === 'verified') {
          report.checks.push({ name: `copy ${set.id} to ${t.remote.name}`, result: 'passed', detail: `${rec.files.length} files, ${formatBytes(bytes)}${encrypted ? ' (age-encrypted)' : ''} at ${t.remote.location}, read back: sizes and sha256 match` });
          log.info(`${set.id} is on ${t.remote.name}: ${rec.files.length} files verified`);
        } else {
          const msg = `${set.id} was not copied to ${t.remote.name}: ${rec.error}`;
          report.checks.push({ name: `copy ${set.id} to ${t.remote.name}`, result: 'failed', detail: rec.error ?? 'failed' });
          report.failures.push(msg);
          log.error(msg);
        }
      }
    }
  });
  return report;
}

/** A set as replicate() wants it, from its folder (null when it has no valid manifest). */
export async function setToCopy(dir: string): Promise<SetToCopy | null> {
  const read = await readManifest(dir);
  if (!read.ok) return null;
  const m = read.manifest;
  return { id: m.id, kind: m.kind, path: dir, manifest: m };
}

/**
 * Runs a command that makes sets, then copies what it made (and what is still due) to the remotes.
 * Remotes are opened first, so missing keys are a usage error (exit 2) before any dump. A failed
 * copy fails the run (exit 1) but leaves the local set complete, and says so.
 */
export async function withRemotes(ctx: RunContext, run: () => Promise<CommandOutcome>): Promise<CommandOutcome> {
  const remotes = openRemotes(ctx);
  const outcome = await run();
  const made: SetToCopy[] = [];
  const dirs = [outcome.set?.path, ...(outcome.sets ?? []).filter((s) => s.status === 'complete').map((s) => s.path)].filter((d): d is string => Boolean(d));
  for (const d of new Set(dirs)) {
    const s = await setToCopy(d);
    if (s) made.push(s);
  }
  const report = await replicate(ctx, made, remotes);
  const checks = [...(outcome.checks ?? []), ...report.checks];
  if (report.failures.length === 0) {
    const copied = report.checks.filter((c) => c.result === 'passed').length;
    return { ...outcome, checks, message: copied ? `${outcome.message}; ${copied} cop${copied === 1 ? 'y' : 'ies'} on remotes verified` : outcome.message };
  }
  for (const h of new Set(report.hints)) ctx.log.error(`hint: ${h}`);
  const local = outcome.set ? `the local set ${outcome.set.id} is complete at ${outcome.set.path}, but ` : '';
  return {
    ...outcome,
    checks,
    failed: true,
    message: `${outcome.message}; ${local}${report.failures.length} cop${report.failures.length === 1 ? 'y' : 'ies'} to remotes failed: ${report.failures.join('; ')}`,
  };
}

export interface MilestoneCopies {
  id: string;
  copies: RemoteCopy[];
}

/**
 * The milestone checklist's "copied to remote storage", as a status row: every complete milestone
 * set has a verified copy on every configured remote. Skipped without milestones or without
 * remotes (then the detail says the milestones exist only here). Pure. `remotes` are the configured names.
 */
export function milestoneCopiesRow(remotes: string[], milestones: MilestoneCopies[]): Check {
  const name = 'milestones copied to every remote';
  if (milestones.length === 0) return { name, result: 'skipped', detail: 'no milestone sets' };
  if (remotes.length === 0) {
    // Like an engine that is not configured: skipped, but saying what it means.
    return { name, result: 'skipped', detail: `no remotes: in the config, so ${milestones.length} milestone set(s) exist only on this machine (the runbook keeps milestones locally and remotely)` };
  }
  const missing: string[] = [];
  for (const m of milestones) {
    const lacking = remotes.filter((r) => !m.copies.some((c) => c.remote === r && c.result === 'verified'));
    if (lacking.length) {
      const failed = lacking.map((r) => {
        const c = m.copies.find((x) => x.remote === r);
        return c ? `${r} (failed: ${c.error ?? 'unknown'})` : r;
      });
      missing.push(`${m.id} not on ${failed.join(', ')}`);
    }
  }
  if (missing.length === 0) return { name, result: 'passed', detail: `${milestones.length} milestone set(s), each verified on ${remotes.length} remote(s): ${remotes.join(', ')}` };
  const shown = missing.length > 10 ? [...missing.slice(0, 10), `and ${missing.length - 10} more`] : missing;
  return { name, result: 'failed', detail: `${shown.join('; ')}; the next backup, milestone or config run copies them (check the remote first)` };
}

/** status's row, from the catalog: reads remotes.json of every complete milestone set. */
export async function milestoneCopiesCheck(config: Pick<Config, 'remotes'>, sets: SetEntry[]): Promise<Check> {
  const milestones = await Promise.all(sets.filter((s) => s.kind === 'milestone' && s.status === 'complete').map(async (s) => ({ id: s.id, copies: await readRemoteCopies(s.path) })));
  return milestoneCopiesRow(config.remotes.map(remoteName), milestones);
}

/** One line per set with copies on remotes: "post_phase2_20261125: local + nas (verified ...), oss (FAILED: ...)". */
export async function whereSetsLive(sets: SetEntry[]): Promise<string[]> {
  const out: string[] = [];
  for (const s of sets) {
    if (s.status !== 'complete') continue;
    const copies = await readRemoteCopies(s.path);
    if (copies.length === 0) continue;
    const where = copies.map((c) => (c.result === 'verified' ? `${c.remote} (verified ${c.copied_at}${c.encrypted ? ', age-encrypted' : ''})` : `${c.remote} (FAILED: ${c.error ?? '?'})`));
    out.push(`${s.id}: here + ${where.join(', ')}`);
  }
  return out;
}
