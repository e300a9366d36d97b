/**
 * prune [--dry-run]: applies retention (src/catalog/retention.ts). Runs under the root's lock
 * (run.ts takes it: writes: true), so no run is writing a staging folder it removes.
 * --dry-run prints exactly what would go and why, and removes nothing.
 * A set is first renamed into .incomplete/ (one atomic step: from then on it is no longer a set),
 * then deleted; a prune killed half-way leaves a staging leftover, never a set with a manifest
 * but missing files.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { planRetention, toRetentionInput, type RetentionInput } from '../catalog/retention.js';
import { INCOMPLETE_DIR, folderBytes, listSets, type SetEntry } from '../catalog/sets.js';
import { refuseLinkedFolders } from '../catalog/set-files.js';
import { freeBytes } from '../catalog/space.js';
import { formatBytes } from '../shared/format.js';
import type { Check, CommandOutcome, PruneDecision } from '../report/result.js';
import type { RunContext } from './context.js';
import { pruneLogs, type LogPruneOutcome } from './prune-logs.js';
import { pruneRemotes } from './prune-remotes.js';
import type { planRemoteRetention } from '../catalog/remote-retention.js';

const REMOVE_CONCURRENCY = 8;

/** Is `p` strictly below `root`? (Removal's last check: nothing outside the backup root is ever deleted.) */
export function inside(root: string, p: string): boolean {
  const rel = path.relative(path.resolve(root), path.resolve(p));
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

/** Removes one set folder (a staging leftover directly, a set by first renaming it aside). */
export async function removeSet(root: string, d: Pick<PruneDecision, 'kind' | 'path'>, staging: boolean): Promise<void> {
  if (!inside(root, d.path)) throw new Error(`refusing to remove ${d.path}: it is not under the backup root ${root}`);
  await refuseLinkedRemoval(root, d.path, staging ? INCOMPLETE_DIR : d.kind);
  if (staging) {
    await fs.rm(d.path, { recursive: true, force: true });
    return;
  }
  const aside = path.join(root, INCOMPLETE_DIR, `${d.kind}-${path.basename(d.path)}.pruning-${process.pid}`);
  await fs.mkdir(path.join(root, INCOMPLETE_DIR), { recursive: true, mode: 0o700 });
  await fs.rename(d.path, aside);
  await fs.rm(aside, { recursive: true, force: true });
}

/**
 * Nothing is deleted through a link: the folder holding the set must be the root's own kind (or
 * .incomplete) folder, and the set folder a real folder (fs.rm then unlinks links inside, never follows them).
 */
async function refuseLinkedRemoval(root: string, p: string, parent: string): Promise<void> {
  await refuseLinkedFolders(root, [parent]);
  const [st, realParent, realRoot] = await Promise.all([fs.lstat(p), fs.realpath(path.dirname(p)), fs.realpath(root)]);
  if (!st.isDirectory() || realParent !== path.join(realRoot, parent)) {
    throw new Error(`refusing to remove ${p}: it is ${st.isSymbolicLink() ? 'a symbolic link' : !st.isDirectory() ? 'not a folder' : `not in ${path.join(root, parent)}`}; nothing is deleted through a link`);
  }
}

/**
 * Belt and braces: retention never plans to remove a milestone or a safety copy (they are only
 * ever removed by hand); if it ever did, nothing at all is removed.
 */
export function refuseProtectedRemovals(removals: Pick<PruneDecision, 'id' | 'kind' | 'path'>[], staging: (path: string) => boolean): void {
  for (const d of removals) {
    if (!staging(d.path) && (d.kind === 'milestone' || d.kind === 'safety')) {
      throw new Error(`internal: retention planned to remove ${d.kind} set ${d.id}; nothing was removed`);
    }
  }
}

/** prune --dry-run's line for one set: `keep   <id> (<kind>): <reason>` or `remove <id> (<kind>, <size>) at <path>: <reason>`. */
export function planLine(d: Pick<PruneDecision, 'id' | 'kind' | 'action' | 'reason' | 'bytes' | 'path'>): string {
  return d.action === 'keep' ? `keep   ${d.id} (${d.kind}): ${d.reason}` : `remove ${d.id} (${d.kind}, ${formatBytes(d.bytes)}) at ${d.path}: ${d.reason}`;
}

/** `plan` is retention's; tests inject a faulty one to prove the backstops above (and a failing log removal). */
export async function prune(ctx: RunContext, plan: typeof planRetention = planRetention, removeLog?: (p: string) => Promise<void>, remotePlan?: typeof planRemoteRetention): Promise<CommandOutcome> {
  const { config, log } = ctx;
  const root = config.root;
  const dryRun = ctx.request.dryRun;
  const sets = await listSets(root);
  const inputs = sets.map(toRetentionInput);
  const decisions = plan(inputs, config.retention, ctx.now(), config.timezone);
  const byPath = new Map<string, SetEntry>(sets.map((s) => [s.path, s]));
  const inputByPath = new Map<string, RetentionInput>(inputs.map((i) => [i.path, i]));

  const report: PruneDecision[] = await Promise.all(
    decisions.map(async (d): Promise<PruneDecision> => {
      const s = byPath.get(d.path);
      const bytes = s?.manifest ? s.manifest.bytes : await folderBytes(d.path);
      return { id: d.id, kind: d.kind, path: d.path, action: d.action, rule: d.rule, reason: d.reason, bytes };
    }),
  );
  const removals = report.filter((d) => d.action === 'remove');
  const kept = report.filter((d) => d.action === 'keep');
  const policy = config.retention;
  const gfs = [policy.keep_weekly ? `${policy.keep_weekly} weeks` : '', policy.keep_monthly ? `${policy.keep_monthly} months` : ''].filter(Boolean).join(' and ');
  const calendar = gfs ? `, the newest verified daily of each of the last ${gfs} (${config.timezone})` : '';
  log.info(`retention: dailies ${policy.daily_days} days (keep_last ${policy.keep_last} per engine, and the newest verified${calendar}), config ${policy.config_days} days, milestones forever; ${sets.length} sets under ${root}`);

  // A dry run's plan is its main output (stdout in the CLI), one line per set in plan order.
  if (dryRun) for (const d of report) log.output(planLine(d));
  else {
    await log.group(`kept (${kept.length})`, async () => {
      for (const d of kept) log.info(`keep ${d.id} (${d.kind}): ${d.reason}`);
    });
  }

  const checks: Check[] = [];
  let freed = 0;
  const problems: string[] = [];
  refuseProtectedRemovals(removals, (p) => inputByPath.get(p)?.staging ?? false);
  if (dryRun) {
    for (const d of removals) {
      checks.push({ name: `would remove ${d.id}`, result: 'skipped', detail: `${d.kind}, ${formatBytes(d.bytes)}: ${d.reason}` });
      freed += d.bytes;
    }
  } else await log.group(`removing (${removals.length})`, async () => {
    // A few at a time (a catalog of 1,000 sets is pruned well under a second); lines stay in plan order.
    for (let i = 0; i < removals.length; i += REMOVE_CONCURRENCY) {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      const batch = removals.slice(i, i + REMOVE_CONCURRENCY);
      const results = await Promise.allSettled(batch.map((d) => removeSet(root, d, inputByPath.get(d.path)?.staging ?? false)));
      batch.forEach((d, j) => {
        const r = results[j]!;
        const size = formatBytes(d.bytes);
        if (r.status === 'fulfilled') {
          freed += d.bytes;
          log.info(`removed ${d.id} (${d.kind}, ${size}) at ${d.path}: ${d.reason}`);
          checks.push({ name: `removed ${d.id}`, result: 'passed', detail: `${d.kind}, ${size}: ${d.reason}` });
        } else {
          const msg = `could not remove ${d.id} at ${d.path}: ${r.reason instanceof Error ? r.reason.message : String(r.reason)}`;
          log.error(msg);
          problems.push(msg);
          checks.push({ name: `removed ${d.id}`, result: 'failed', detail: msg });
        }
      });
    }
  });

  // Copies on remotes with a retention of their own (remotes[].retention); the others are not contacted.
  const remote = await pruneRemotes(ctx, sets, remotePlan);
  checks.push(...remote.checks);
  const logs = await pruneLogs(ctx, dryRun, removeLog);
  const free = await freeBytes(root).catch(() => null);
  const prune = { dry_run: dryRun, decisions: report, freed_bytes: freed, logs: logs.report };
  const wouldGo = remote.checks.filter((c) => c.result === 'skipped').length;
  const remotePart = remote.removed > 0 ? `; removed ${remote.removed} copies from remotes` : wouldGo > 0 ? `; would remove ${wouldGo} copies from remotes` : '';
  const remoteFail = remote.problems.length > 0 ? `; ${remote.problems.join('; ')}` : '';
  const message = pruneMessage({ root, dryRun, removals: removals.length, kept: kept.length, freed, problems, logs }) + remotePart + remoteFail;
  if (problems.length > 0 || logs.problems.length > 0 || remote.problems.length > 0) {
    log.error(message);
    log.error('hint: check the permissions of those folders and files (the run user must own them), then run prune again.');
    return { message, checks, prune, free_bytes: free, failed: true };
  }
  if (dryRun) log.output(message);
  else log.info(message);
  return { message, checks, prune, free_bytes: free };
}

/** The run's one-line result: sets, then the logs past log_days. */
export function pruneMessage(p: { root: string; dryRun: boolean; removals: number; kept: number; freed: number; problems: string[]; logs: LogPruneOutcome }): string {
  const gone = p.logs.report.removed;
  const logBytes = formatBytes(p.logs.report.freed_bytes);
  const logPart = gone.length === 0 ? '' : p.dryRun ? `; would remove ${gone.length} log files older than ${p.logs.report.log_days} days (${logBytes})` : `; removed ${gone.length} log files older than ${p.logs.report.log_days} days (${logBytes})`;
  if (p.problems.length > 0 || p.logs.problems.length > 0) {
    const what = [p.problems.length ? `${p.problems.length} of ${p.removals} sets` : '', p.logs.problems.length ? `${p.logs.problems.length} log files` : ''].filter(Boolean).join(' and ');
    return `${what} could not be removed (${formatBytes(p.freed)} freed${logPart}): ${[...p.problems, ...p.logs.problems].join('; ')}`;
  }
  if (p.removals === 0) return `nothing to remove: ${p.kept} sets kept under ${p.root}${logPart}`;
  if (p.dryRun) return `dry run: would remove ${p.removals} sets (${formatBytes(p.freed)}) and keep ${p.kept}${logPart}; nothing was deleted`;
  return `removed ${p.removals} sets, freed ${formatBytes(p.freed)}; ${p.kept} sets kept${logPart}`;
}
