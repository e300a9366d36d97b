/**
 * status: the runbook's daily and weekly checklists as pass/fail rows, each with the figures
 * behind it. Any failed row makes the run fail (exit 1): staleness is a failure too (Barman's
 * last_backup_maximum_age), not only a failed run.
 *
 * Rows (statusRows, pure; the command only gathers the facts):
 *  - postgres backup / tdengine backup: the newest complete daily or milestone set holding a dump
 *    of that engine's configured database is younger than staleness.max_age_hours. Safety sets
 *    (taken by restore, of whatever database it replaced) and dumps of other databases are not
 *    counted, or a restore would reset the clock of a nightly that stopped. Skipped when the
 *    engine is not configured. Sets dated more than 5 minutes in the future (clock skew) are not
 *    counted, so a bad clock cannot hide that backups stopped.
 *  - last run log: the newest run log under <root>/logs/, and the newest log of every other
 *    writing command that ran within max_age_hours (so a failed backup followed by a clean prune
 *    is still caught), have no ERROR lines. Skipped when there is no log yet. Ordered by file
 *    time: the log written last is the last run's.
 *  - free space: free space on root >= min_free_gb.
 *  - last verification: the most recent verification on record (by verified_at) passed and is
 *    younger than staleness.verify_max_age_days.
 *  - retention applied: planRetention has no removal pending that was already due max_age_hours
 *    ago (the plan at now - max_age_hours removes it too), so the hours between a set ageing out
 *    and the next scheduled prune are not an alarm. keep_last and the newest verified set are
 *    protected by the plan itself. Staging leftovers count as pending unless a live run holds the
 *    lock (then they are that run's work).
 *  - incomplete sets: fails only for damaged sets (a set folder whose manifest is missing,
 *    truncated or edited: it is not a backup, and prune leaves it for a person). Staging leftovers
 *    are listed but do not fail this row (the retention row covers them).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Config } from '../inputs/config-schema.js';
import { readLock } from '../catalog/lock.js';
import { parseInstant, planRetention, toRetentionInput, type Decision, type RetentionInput } from '../catalog/retention.js';
import { FUTURE_TOLERANCE_MS, LOGS_DIR, listSets, type SetEntry } from '../catalog/sets.js';
import { isScheduledBackup } from '../catalog/labels.js';
import { readFileNoFollow } from '../catalog/set-files.js';
import { GIB, freeBytes } from '../catalog/space.js';
import { formatBytes } from '../shared/format.js';
import type { Check, CommandOutcome } from '../report/result.js';
import type { RunContext } from './context.js';
import { milestoneCopiesCheck } from './replicate.js';

/** `<YYYYMMDD_HHMMSS>-<command>-<pid>.log`, as run.ts names them. */
export const RUN_LOG_RE = /^(\d{8}_\d{6})-([a-z]+)-(\d+)\.log$/;
/** Commands that write no log (and must not be taken for "the last run"). */
const QUIET_COMMANDS = new Set(['list', 'status']);
/** A set this far ahead of now is "from the future" for the staleness rows (the catalog's rule). */
export { FUTURE_TOLERANCE_MS };
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
const MAX_NAMED = 10;
/** Rows whose failure means the backups are stale: `notify:` entries with `on: [stale]` hear of it. */
export const STALE_CHECKS: ReadonlySet<string> = new Set(['postgres backup', 'tdengine backup', 'last verification']);

export interface RunLogInfo {
  file: string;
  command: string;
  mtimeMs: number;
}

export interface RunLogRead extends RunLogInfo {
  /** The text of each ERROR line (without time stamp and level). */
  errors: string[];
}

/** A set as status sees it: the retention facts, and which database each engine's dump holds. */
export interface StatusSet extends RetentionInput {
  databases: Partial<Record<'postgres' | 'tdengine', string>>;
}

export function toStatusSet(s: SetEntry): StatusSet {
  const m = s.manifest;
  return {
    ...toRetentionInput(s),
    databases: { ...(m?.postgres ? { postgres: m.postgres.database } : {}), ...(m?.tdengine ? { tdengine: m.tdengine.database } : {}) },
  };
}

export interface StatusInput {
  config: Pick<Config, 'root' | 'postgres' | 'tdengine' | 'min_free_gb' | 'staleness' | 'retention'>;
  sets: StatusSet[];
  /** The logs selectRunLogs chose, read. */
  logs: RunLogRead[];
  free: { bytes: number } | { error: string };
  /** The run holding the root's lock, when it is alive. */
  lock: { command: string; pid: number; hostname: string; started_at: string } | null;
}

/** The newest log overall, and the newest of each other command written within the last `windowHours`. */
export function selectRunLogs(logs: RunLogInfo[], now: Date, windowHours: number): RunLogInfo[] {
  const sorted = logs.filter((l) => !QUIET_COMMANDS.has(l.command)).sort((a, b) => b.mtimeMs - a.mtimeMs || (a.file < b.file ? 1 : -1));
  const newest = sorted[0];
  if (!newest) return [];
  const out = [newest];
  const seen = new Set([newest.command]);
  for (const l of sorted) {
    if (seen.has(l.command) || now.getTime() - l.mtimeMs > windowHours * HOUR_MS) continue;
    seen.add(l.command);
    out.push(l);
  }
  return out;
}

/** ERROR lines of a log written by RunLog (`<iso> ERROR <text>`). */
export function errorLines(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^\S+ ERROR (.*)$/.exec(line);
    if (m) out.push(m[1]!);
  }
  return out;
}

function hours(ms: number): string {
  return `${(Math.max(0, ms) / HOUR_MS).toFixed(1)} h`;
}

function named(items: string[]): string {
  return items.length > MAX_NAMED ? `${items.slice(0, MAX_NAMED).join(', ')} and ${items.length - MAX_NAMED} more` : items.join(', ');
}

function backupRow(input: StatusInput, engine: 'postgres' | 'tdengine', label: string, now: Date): Check {
  const name = `${engine} backup`;
  const configured = input.config[engine];
  if (!configured) return { name, result: 'skipped', detail: `no ${engine}: section in the config` };
  const max = input.config.staleness.max_age_hours;
  const nowMs = now.getTime();
  const holding = input.sets.filter((s) => s.status === 'complete' && !s.staging && s.engines.includes(engine));
  const counted = holding.filter((s) => isScheduledBackup(s.kind) && s.databases[engine] === configured.database);
  const safety = holding.filter((s) => s.kind === 'safety').length;
  const otherDbs = [...new Set(holding.filter((s) => isScheduledBackup(s.kind) && s.databases[engine] !== configured.database).map((s) => s.databases[engine] ?? '?'))];
  const dated = counted.map((s) => ({ s, at: parseInstant(s.started_at) })).filter((x): x is { s: StatusSet; at: number } => x.at !== null);
  const future = dated.filter((x) => x.at > nowMs + FUTURE_TOLERANCE_MS);
  const notes = [
    future.length ? `${future.length} set(s) dated in the future not counted (clock skew?): ${named(future.map((x) => x.s.id))}` : '',
    safety ? `${safety} safety set(s) not counted (restore takes them; they are not the scheduled backups)` : '',
    otherDbs.length ? `sets of ${named(otherDbs)} not counted (the configured database is ${configured.database})` : '',
  ].filter(Boolean);
  const note = notes.map((n) => `; ${n}`).join('');
  const usable = dated.filter((x) => x.at <= nowMs + FUTURE_TOLERANCE_MS).sort((a, b) => b.at - a.at);
  const newest = usable[0];
  if (!newest) return { name, result: 'failed', detail: `no complete daily or milestone set holds a ${label} dump of ${configured.database}${note}` };
  const age = nowMs - newest.at;
  const ok = age <= max * HOUR_MS;
  return {
    name,
    result: ok ? 'passed' : 'failed',
    detail: `newest: ${newest.s.id} (${newest.s.kind}), started ${newest.s.started_at}, ${hours(age)} old ${ok ? '<=' : '>'} ${max} h; ${usable.length} complete set(s) hold a ${label} dump of ${configured.database}${note}`,
  };
}

function logRow(input: StatusInput): Check {
  const name = 'last run log';
  const dir = path.join(input.config.root, LOGS_DIR);
  if (input.logs.length === 0) return { name, result: 'skipped', detail: `no run log under ${dir} yet` };
  const bad = input.logs.filter((l) => l.errors.length > 0);
  if (bad.length === 0) {
    return { name, result: 'passed', detail: `no ERROR lines in ${input.logs.map((l) => `${path.basename(l.file)} (${l.command})`).join(', ')}` };
  }
  return {
    name,
    result: 'failed',
    detail: bad.map((l) => `${path.basename(l.file)} (${l.command}) has ${l.errors.length} ERROR line(s), first: ${l.errors[0]}`).join('; '),
  };
}

function freeRow(input: StatusInput): Check {
  const name = 'free space';
  const root = input.config.root;
  if ('error' in input.free) return { name, result: 'failed', detail: `cannot read the free space on ${root}: ${input.free.error}` };
  const need = input.config.min_free_gb * GIB;
  const ok = input.free.bytes >= need;
  return { name, result: ok ? 'passed' : 'failed', detail: `${formatBytes(input.free.bytes)} free on ${root} ${ok ? '>=' : '<'} min_free_gb ${input.config.min_free_gb} (${formatBytes(need)})` };
}

/** The set holds a dump of a database the config names (postgres.database or tdengine.database). */
function ofConfiguredDatabase(input: StatusInput, s: StatusSet): boolean {
  return (['postgres', 'tdengine'] as const).some((e) => input.config[e] !== undefined && s.databases[e] === input.config[e].database);
}

function verifyRow(input: StatusInput, now: Date): Check {
  const name = 'last verification';
  const maxDays = input.config.staleness.verify_max_age_days;
  const nowMs = now.getTime();
  // A set dated in the future (clock skew, a copied set) says nothing about today's backups, verified or not.
  const future = (s: StatusSet) => (parseInstant(s.started_at) ?? 0) > nowMs + FUTURE_TOLERANCE_MS;
  const suspicious = input.sets.filter((s) => s.verification !== null && future(s));
  const note = suspicious.length ? `; ${suspicious.length} verified set(s) dated in the future not counted (suspicious: clock skew, or copied from elsewhere?): ${named(suspicious.map((s) => s.id))}` : '';
  const verified = input.sets
    // The scheduled proof is of the scheduled backups: a verified safety or config set, or a set of
    // another database, does not count.
    .filter((s) => s.verification !== null && isScheduledBackup(s.kind) && ofConfiguredDatabase(input, s) && !future(s))
    .map((s) => ({ s, v: s.verification!, at: parseInstant(s.verification!.verified_at) }))
    .filter((x): x is { s: StatusSet; v: NonNullable<RetentionInput['verification']>; at: number } => x.at !== null && x.at <= nowMs + FUTURE_TOLERANCE_MS)
    .sort((a, b) => b.at - a.at);
  const last = verified[0];
  if (!last) return { name, result: 'failed', detail: `no verification on record for any set; run \`pgtaos-backup verify\`${note}` };
  const ageDays = Math.max(0, nowMs - last.at) / DAY_MS;
  const fresh = ageDays <= maxDays;
  const passed = last.v.result === 'passed';
  return {
    name,
    result: fresh && passed ? 'passed' : 'failed',
    detail: `${last.s.id} verified ${last.v.verified_at}: ${last.v.result}, ${ageDays.toFixed(1)} days ago ${fresh ? '<=' : '>'} ${maxDays} days${note}`,
  };
}

function retentionRow(input: StatusInput, now: Date): Check {
  const name = 'retention applied';
  const graceH = input.config.staleness.max_age_hours;
  const plan = planRetention(input.sets, input.config.retention, now);
  const earlier = planRetention(input.sets, input.config.retention, new Date(now.getTime() - graceH * HOUR_MS));
  const dueEarlier = new Set(earlier.filter((d) => d.action === 'remove').map((d) => d.path));
  const staging = new Set(input.sets.filter((s) => s.staging).map((s) => s.path));
  const removals = plan.filter((d) => d.action === 'remove');
  const inUse = input.lock ? removals.filter((d) => staging.has(d.path)) : [];
  const pending: Decision[] = removals.filter((d) => (staging.has(d.path) ? !input.lock : dueEarlier.has(d.path)));
  const soon = removals.length - pending.length - inUse.length;
  const kept = plan.length - removals.length;
  const notes = [
    soon > 0 ? `${soon} set(s) aged out within the last ${graceH} h and go at the next prune` : '',
    inUse.length > 0 ? `${inUse.length} staging folder(s) belong to the running ${input.lock!.command} (pid ${input.lock!.pid})` : '',
  ].filter(Boolean);
  if (pending.length === 0) {
    return { name, result: 'passed', detail: [`nothing overdue: ${kept} set(s) kept by policy`, ...notes].join('; ') };
  }
  return {
    name,
    result: 'failed',
    detail: `${pending.length} set(s) should have been removed: ${named(pending.map((d) => `${d.id} (${d.reason})`))}; run \`pgtaos-backup prune\``,
  };
}

function incompleteRow(input: StatusInput): Check {
  const name = 'incomplete sets';
  const damaged = input.sets.filter((s) => !s.staging && (s.status !== 'complete' || parseInstant(s.started_at) === null));
  const staging = input.sets.filter((s) => s.staging);
  const stagingNote = staging.length
    ? `${staging.length} staging folder(s) ${input.lock ? `(a ${input.lock.command} run, pid ${input.lock.pid}, is in progress)` : 'left by runs that did not finish (the next backup, or prune, removes them)'}: ${named(staging.map((s) => s.id))}`
    : '';
  if (damaged.length > 0) {
    const why = damaged.map((s) => `${s.id} at ${s.path} (${s.status === 'complete' ? `started_at ${JSON.stringify(s.started_at)} is not a time with a UTC offset` : (s.damage ?? 'no valid manifest')})`);
    return {
      name,
      result: 'failed',
      detail: [`${damaged.length} damaged set(s), not counted as backups and kept for a person to inspect: ${named(why)}`, stagingNote].filter(Boolean).join('; '),
    };
  }
  return { name, result: 'passed', detail: stagingNote || 'none' };
}

/** The checklist rows, from the facts gathered by the command. Pure. */
export function statusRows(input: StatusInput, now: Date): Check[] {
  return [
    backupRow(input, 'postgres', 'PostgreSQL', now),
    backupRow(input, 'tdengine', 'TDengine', now),
    logRow(input),
    freeRow(input),
    verifyRow(input, now),
    retentionRow(input, now),
    incompleteRow(input),
    safetyRow(input),
  ];
}

/** Safety sets taken before restores are kept until a person removes them: say they are there. */
function safetyRow(input: StatusInput): Check {
  const safety = input.sets
    .filter((s) => s.kind === 'safety' && s.status === 'complete')
    .sort((a, b) => (parseInstant(b.started_at) ?? 0) - (parseInstant(a.started_at) ?? 0));
  if (safety.length === 0) return { name: 'safety sets', result: 'skipped', detail: 'none (restore takes one before replacing a database)' };
  return {
    name: 'safety sets',
    result: 'passed',
    detail: `${safety.length} kept until removed by hand, newest ${safety[0]!.id} (${safety[0]!.started_at}): remove ${safety.length > 1 ? 'them' : 'it'} from ${path.join(input.config.root, 'safety')} once the restore is settled`,
  };
}

async function runLogs(dir: string, now: Date, windowHours: number): Promise<RunLogRead[]> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const infos = (
    await Promise.all(
      names.map(async (n): Promise<RunLogInfo | null> => {
        const m = RUN_LOG_RE.exec(n);
        if (!m || QUIET_COMMANDS.has(m[2]!)) return null;
        const file = path.join(dir, n);
        try {
          return { file, command: m[2]!, mtimeMs: (await fs.stat(file)).mtimeMs };
        } catch {
          return null;
        }
      }),
    )
  ).filter((x): x is RunLogInfo => x !== null);
  return Promise.all(
    selectRunLogs(infos, now, windowHours).map(async (l) => {
      try {
        return { ...l, errors: errorLines(await readFileNoFollow(l.file)) };
      } catch (err) {
        return { ...l, errors: [`cannot read the log: ${(err as Error).message}`] };
      }
    }),
  );
}

export async function status(ctx: RunContext): Promise<CommandOutcome> {
  const { config, log } = ctx;
  const root = config.root;
  const now = ctx.now();
  const [sets, free, lock, logs] = await Promise.all([
    listSets(root),
    freeBytes(root).then(
      (bytes) => ({ bytes }),
      (err: unknown) => ({ error: err instanceof Error ? err.message : String(err) }),
    ),
    readLock(root).catch(() => null),
    runLogs(path.join(root, LOGS_DIR), now, config.staleness.max_age_hours),
  ]);
  const liveLock = lock && !lock.stale && lock.info ? { command: lock.info.command, pid: lock.info.pid, hostname: lock.info.hostname, started_at: lock.info.started_at } : null;
  const checks = statusRows({ config, sets: sets.map(toStatusSet), logs, free, lock: liveLock }, now);
  checks.push(await milestoneCopiesCheck(config, sets)); // the milestone checklist's "copied to remote storage"
  for (const c of checks) log.info(`${c.result.toUpperCase().padEnd(7)} ${c.name}: ${c.detail}`);
  const failed = checks.filter((c) => c.result === 'failed');
  const passed = checks.filter((c) => c.result === 'passed').length;
  const skipped = checks.length - failed.length - passed;
  const message = `status: ${passed} passed, ${failed.length} failed${failed.length ? ` (${failed.map((c) => c.name).join(', ')})` : ''}, ${skipped} skipped`;
  if (failed.length) log.error(message);
  else log.info(message);
  // Staleness (README, Staleness): backups that stopped, or a verification too old or failed, raise the `stale` event.
  const stale = failed.filter((c) => STALE_CHECKS.has(c.name)).map((c) => c.name);
  return { message, checks, failed: failed.length > 0, free_bytes: 'bytes' in free ? free.bytes : null, stale };
}
