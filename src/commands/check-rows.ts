/**
 * The rows of `check` that are not an engine's: the backup root, free space, each remote (a test
 * object written, read back and removed), the age recipients and the notify variables. Each row
 * is a pass/fail/skip with what was found; a failure is a row, never a throw. Nothing is left in
 * the root or on a remote.
 */
import { constants as fsConstants, promises as fs } from 'node:fs';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { Config } from '../inputs/config-schema.js';
import { openRemote, remoteName } from '../remotes/registry.js';
import type { RemoteEntry } from '../remotes/driver.js';
import { failedRow, type Check } from '../report/result.js';
import { freeBytes, GIB } from '../catalog/space.js';
import { formatBytes } from '../shared/format.js';


/** The folder itself, or the nearest one above it that exists (where a run would create it). */
async function nearestExisting(dir: string): Promise<string> {
  let d = path.resolve(dir);
  for (;;) {
    try {
      await fs.stat(d);
      return d;
    } catch {
      const up = path.dirname(d);
      if (up === d) return d;
      d = up;
    }
  }
}

async function writable(dir: string): Promise<string | null> {
  return fs.access(dir, fsConstants.W_OK).then(
    () => null,
    (e: NodeJS.ErrnoException) => (e.code === 'EROFS' ? 'it is on a read-only file system (EROFS)' : `it cannot be written (${e.code ?? e.message})`),
  );
}

/** The root is a folder of the running user's that it can write; a missing root can be created. */
export async function rootRow(root: string, uid: number | null = process.getuid?.() ?? null): Promise<Check> {
  const name = 'backup root';
  const at = await nearestExisting(root);
  const st = await fs.lstat(at);
  if (at !== path.resolve(root)) {
    const why = await writable(at);
    if (why) return { name, result: 'failed', detail: `${root} does not exist and cannot be created in ${at}: ${why} (hint: create ${root} as the user that runs pgtaos-backup)` };
    return { name, result: 'passed', detail: `${root} does not exist yet; the first run creates it in ${at}` };
  }
  if (st.isSymbolicLink() || !st.isDirectory()) return { name, result: 'failed', detail: `${root} is ${st.isSymbolicLink() ? 'a symbolic link' : 'not a folder'} (hint: point root at a real folder)` };
  if (uid !== null && st.uid !== uid) {
    return { name, result: 'failed', detail: `${root} is owned by uid ${st.uid}, not by the running user (uid ${uid}) (hint: chown -R ${os.userInfo().username} ${root}, or run pgtaos-backup as its owner)` };
  }
  const why = await writable(root);
  if (why) return { name, result: 'failed', detail: `${root}: ${why} (hint: check that the disk is mounted read-write and that the running user owns the folder)` };
  return { name, result: 'passed', detail: `${root} is a folder of the running user's and writable` };
}

/** Free space where the sets are written (or would be, for a root not yet created) against min_free_gb. */
export async function spaceRow(config: Pick<Config, 'root' | 'min_free_gb'>): Promise<Check> {
  const name = 'free space';
  try {
    const free = await freeBytes(await nearestExisting(config.root));
    const floor = config.min_free_gb * GIB;
    const detail = `${formatBytes(free)} free on ${config.root}, min_free_gb ${config.min_free_gb}`;
    return free >= floor ? { name, result: 'passed', detail } : { name, result: 'failed', detail: `${detail}: below the floor (hint: free space, or lower min_free_gb)` };
  } catch (err) {
    return failedRow(name, err);
  }
}

async function readAll(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c as Uint8Array));
  return Buffer.concat(chunks);
}

/** Opens the remote, checks it, writes a small object, reads it back, removes it. */
export async function remoteRow(entry: RemoteEntry, config: Pick<Config, 'root'>, env: NodeJS.ProcessEnv, signal: AbortSignal): Promise<Check> {
  const name = `remote ${remoteName(entry)}`;
  let remote;
  try {
    remote = openRemote(entry, env, { backupRoot: config.root });
    await remote.check(signal);
  } catch (err) {
    return failedRow(name, err);
  }
  const key = `pgtaos-backup-check-${os.hostname().replace(/[^A-Za-z0-9._-]/g, '_')}-${process.pid}-${randomBytes(4).toString('hex')}`;
  const body = Buffer.from(`pgtaos-backup check ${new Date().toISOString()}\n`);
  let wrote = false;
  try {
    await remote.put(key, Readable.from([body]), { signal, bytesHint: body.length });
    wrote = true;
    const back = await readAll(await remote.get(key, signal));
    if (!back.equals(body)) return { name, result: 'failed', detail: `${remote.location}: the test object ${key} read back differs from what was written (hint: the remote stores or returns other bytes; do not trust copies there)` };
    await remote.delete(key);
    wrote = false;
    if (await remote.stat(key)) return { name, result: 'failed', detail: `${remote.location}: the test object ${key} is still there after it was removed` };
    return { name, result: 'passed', detail: `${remote.location}: a test object written, read back and removed` };
  } catch (err) {
    return failedRow(name, err);
  } finally {
    if (wrote) await remote.delete(key).catch(() => undefined);
  }
}

/** Each age recipient is a key age can encrypt to (its checksum too, not only its shape). */
export async function recipientsRow(recipients: readonly string[]): Promise<Check> {
  const name = 'age recipients';
  if (recipients.length === 0) return { name, result: 'skipped', detail: 'none configured: copies leave unencrypted and config snapshots stay on this machine' };
  const { Encrypter } = await import('age-encryption');
  const bad: string[] = [];
  for (const r of recipients) {
    try {
      const enc = new Encrypter();
      enc.addRecipient(r);
      await enc.encrypt('pgtaos-backup check');
    } catch (err) {
      const why = err instanceof Error ? err.message.replace(` in ${r}`, '') : String(err);
      bad.push(`${r} (${why})`);
    }
  }
  if (bad.length) return { name, result: 'failed', detail: `not a valid age recipient: ${bad.join('; ')} (hint: copy the public key exactly as age-keygen printed it)` };
  return { name, result: 'passed', detail: `${recipients.length} recipient${recipients.length === 1 ? '' : 's'}: a test message encrypted to each` };
}

/** Each notify entry's variables are set (the URL an http(s) URL). Values are never shown. */
export function notifyRows(entries: Config['notify'], env: NodeJS.ProcessEnv): Check[] {
  if (entries.length === 0) return [{ name: 'notify', result: 'skipped', detail: 'no notify entries configured' }];
  return entries.map((e) => {
    const name = `notify ${e.kind} ${e.url_env}`;
    const url = env[e.url_env]?.trim();
    const missing = [!url ? e.url_env : null, e.secret_env && !env[e.secret_env]?.trim() ? e.secret_env : null].filter((v): v is string => v !== null);
    if (missing.length) return { name, result: 'failed', detail: `${missing.join(' and ')} not set in the environment (hint: in Actions, map a repository secret to each in the step's env:; under cron, export them in the job's environment)` };
    const proto = URL.canParse(url!) ? new URL(url!).protocol : '';
    if (proto !== 'https:' && proto !== 'http:') return { name, result: 'failed', detail: `${e.url_env} is set but is not an http(s) URL (hint: paste the webhook URL the chat tool gave)` };
    return { name, result: 'passed', detail: `${e.url_env}${e.secret_env ? ` and ${e.secret_env}` : ''} set` };
  });
}
