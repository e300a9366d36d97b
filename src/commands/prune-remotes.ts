/**
 * prune's remote half: each remote with a `retention:` of its own (catalog/remote-retention.ts) is
 * listed and its old daily copies deleted through the driver's delete(). Remotes without one are not
 * contacted (nothing on them is ever deleted). A copy's manifest goes first, so a copy deleted half
 * way reads as an interrupted copy, never as a complete one with files missing. The local sets are
 * untouched; the record beside a local set (remotes.json) forgets the deleted copy.
 */
import { describe as describeError } from '../errors.js';
import { forgetRemoteCopy } from '../catalog/remote-copies.js';
import { planRemoteRetention, remoteSetCopies, type RemoteDecision } from '../catalog/remote-retention.js';
import type { SetEntry } from '../catalog/sets.js';
import { remoteName } from '../remotes/registry.js';
import type { Remote } from '../remotes/remote.js';
import type { Check } from '../report/result.js';
import type { RunContext } from './context.js';
import { openRemotes } from './replicate.js';

export interface RemotePruneOutcome {
  checks: Check[];
  problems: string[];
  removed: number;
}

const isManifest = (key: string) => /\/manifest\.json(\.age)?$/.test(key);

/** prune --dry-run's line for one copy on a remote. */
export function remotePlanLine(remote: string, d: RemoteDecision): string {
  return d.action === 'keep' ? `keep   ${d.id} (${d.kind}) on ${remote}: ${d.reason}` : `remove ${d.id} (${d.kind}, ${d.keys.length} files) on ${remote}: ${d.reason}`;
}

/** Belt and braces: remote retention removes only dailies; if it ever planned more, nothing is removed. */
export function refuseProtectedRemoteRemovals(decisions: RemoteDecision[]): void {
  for (const d of decisions) {
    if (d.action === 'remove' && d.kind !== 'daily') throw new Error(`internal: remote retention planned to remove ${d.kind} copy ${d.id}; nothing was removed`);
  }
}

async function removeCopy(remote: Remote, d: RemoteDecision): Promise<void> {
  const keys = [...d.keys.filter(isManifest), ...d.keys.filter((k) => !isManifest(k))];
  for (const k of keys) await remote.delete(k);
}

/** Applies every remote's retention (dry run: only says what it would do). `plan` is injectable to prove the backstop. */
export async function pruneRemotes(ctx: RunContext, sets: SetEntry[], plan: typeof planRemoteRetention = planRemoteRetention): Promise<RemotePruneOutcome> {
  const { config, log } = ctx;
  const out: RemotePruneOutcome = { checks: [], problems: [], removed: 0 };
  const withRetention = config.remotes.filter((r) => r.retention !== undefined);
  if (withRetention.length === 0) return out;
  const names = new Set(withRetention.map(remoteName));
  const remotes = openRemotes(ctx).filter((r) => names.has(r.name));
  const policies = new Map(withRetention.map((r) => [remoteName(r), r.retention]));
  const local = new Map(sets.map((s) => [`${s.kind}/${s.id}`, s.path]));
  for (const remote of remotes) {
    if (ctx.signal.aborted) throw ctx.signal.reason;
    let decisions: RemoteDecision[];
    try {
      decisions = plan(remoteSetCopies((await remote.list('')).map((o) => o.key)), policies.get(remote.name), ctx.now(), config.timezone);
    } catch (err) {
      const msg = `could not list the copies on ${remote.name}: ${describeError(err).message}`;
      log.error(msg);
      out.problems.push(msg);
      out.checks.push({ name: `retention on ${remote.name}`, result: 'failed', detail: msg });
      continue;
    }
    refuseProtectedRemoteRemovals(decisions);
    const removals = decisions.filter((d) => d.action === 'remove');
    log.info(`retention on ${remote.name}: ${decisions.length} copies, ${removals.length} past its retention`);
    if (ctx.request.dryRun) {
      for (const d of decisions) log.output(remotePlanLine(remote.name, d));
      for (const d of removals) out.checks.push({ name: `would remove ${d.id} from ${remote.name}`, result: 'skipped', detail: d.reason });
      continue;
    }
    for (const d of removals) {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      try {
        await removeCopy(remote, d);
        const dir = local.get(`${d.kind}/${d.id}`);
        if (dir) await forgetRemoteCopy(dir, remote.name);
        out.removed++;
        log.info(`removed ${d.id} (${d.kind}) from ${remote.name}: ${d.reason}`);
        out.checks.push({ name: `removed ${d.id} from ${remote.name}`, result: 'passed', detail: d.reason });
      } catch (err) {
        const msg = `could not remove ${d.id} from ${remote.name}: ${describeError(err).message}`;
        log.error(msg);
        out.problems.push(msg);
        out.checks.push({ name: `removed ${d.id} from ${remote.name}`, result: 'failed', detail: msg });
      }
    }
  }
  return out;
}
