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
 *
 * Here: what goes where and the command around it, and the status and list views of the records.
 * One set to one remote is replicate-copy.ts; the streams (encryption, hashing, read-back) are
 * replicate-stream.ts. The drivers are looked up by type in remotes/registry.ts.
 */
import { describe as describeError } from '../errors.js';
import { readManifest, type Manifest } from '../catalog/manifest.js';
import { readRemoteCopies, type RemoteCopy } from '../catalog/remote-copies.js';
import { listSets, type SetEntry } from '../catalog/sets.js';
import { formatBytes } from '../shared/format.js';
import type { Config } from '../inputs/config-schema.js';
import { checkRemoteNames, openRemote, remoteName, remoteTakes } from '../remotes/registry.js';
import type { Remote } from '../remotes/remote.js';
import type { Check, CommandOutcome } from '../report/result.js';
import type { RunContext } from './context.js';
import { copyRecord, copySetTo, saveCopy, type SetToCopy } from './replicate-copy.js';

interface Target {
  remote: Remote;
  /** Set when check() failed: every copy to this remote fails with it. */
  broken: string | null;
  checked: boolean;
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
        const secret = set.manifest.postgres?.globals?.password_hashes === true;
        const takes = remoteTakes(rc, set.kind, encrypted, secret);
        const isNew = sets.includes(set);
        if (!takes.takes) {
          if (isNew && set.kind !== 'config') (secret ? log.warn : log.info).call(log, `${t.remote.name}: ${set.id} not copied: ${takes.why}`);
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
          rec = copyRecord(ctx, t.remote, 'failed', [], t.broken);
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
