/**
 * prune's second part: run logs and JSON reports under <root>/logs past `retention.log_days`
 * (catalog/logs.ts decides). The running prune's own files and the lock holder's are kept;
 * --dry-run lists what would go and removes nothing.
 */
import { promises as fs } from 'node:fs';
import { LOGS_DIR } from '../catalog/sets.js';
import { refuseLinkedFolders } from '../catalog/set-files.js';
import { readLock } from '../catalog/lock.js';
import { listLogFiles, planLogRetention, type LiveRun } from '../catalog/logs.js';
import { formatBytes } from '../shared/format.js';
import type { PruneLogs } from '../report/result.js';
import type { RunContext } from './context.js';

export interface LogPruneOutcome {
  report: PruneLogs;
  /** One line per file that could not be removed. */
  problems: string[];
}

/** The running prune, and whoever holds the root's lock (the prune itself, normally). */
async function liveRuns(ctx: RunContext): Promise<LiveRun[]> {
  const live: LiveRun[] = [{ command: ctx.request.command, pid: process.pid, why: 'this run' }];
  const held = await readLock(ctx.config.root).catch(() => null);
  if (held?.info && !held.stale) live.push({ command: held.info.command, pid: held.info.pid, why: `the run holding the lock (${held.info.command})` });
  return live;
}

/** `remove` is fs.unlink; tests pass one that fails. */
export async function pruneLogs(ctx: RunContext, dryRun: boolean, remove: (p: string) => Promise<void> = (p) => fs.unlink(p)): Promise<LogPruneOutcome> {
  const { config, log } = ctx;
  const root = config.root;
  await refuseLinkedFolders(root, [LOGS_DIR]);
  const days = config.retention.log_days;
  const decisions = planLogRetention(await listLogFiles(root), { logDays: days, now: ctx.now(), live: await liveRuns(ctx) });
  const removals = decisions.filter((d) => d.action === 'remove');
  const removed: PruneLogs['removed'] = [];
  const problems: string[] = [];
  await log.group(`logs older than ${days} days: ${dryRun ? 'would remove' : 'removing'} ${removals.length} of ${decisions.length}`, async () => {
    for (const d of removals) {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      if (dryRun) {
        log.info(`would remove log ${d.name} (${formatBytes(d.bytes)}): ${d.reason}`);
        removed.push({ name: d.name, bytes: d.bytes });
        continue;
      }
      try {
        await remove(d.path);
        log.info(`removed log ${d.name} (${formatBytes(d.bytes)}): ${d.reason}`);
        removed.push({ name: d.name, bytes: d.bytes });
      } catch (e) {
        const msg = `could not remove the log ${d.path}: ${e instanceof Error ? e.message : String(e)}`;
        log.error(msg);
        problems.push(msg);
      }
    }
  });
  const bytes = removed.reduce((a, r) => a + r.bytes, 0);
  return { report: { log_days: days, removed, kept: decisions.length - removed.length, freed_bytes: bytes }, problems };
}
