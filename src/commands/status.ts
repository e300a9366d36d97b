/**
 * status: the runbook's daily and weekly checklists as pass/fail rows, each with the figures
 * behind it. Any failed row makes the run fail (exit 1): staleness is a failure too (Barman's
 * last_backup_maximum_age), not only a failed run.
 *
 * The rows are the checks registered in ./status-checks/ (each module says what its row checks);
 * they are pure, and this command only gathers the facts they read. Rows flagged `stale` raise the
 * `stale` event when they fail.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { readLock } from '../catalog/lock.js';
import { toRetentionInput } from '../catalog/retention.js';
import { engineDatabases } from '../catalog/manifest.js';
import '../engines/builtin.js';
import { enginePlugins } from '../engines/registry.js';
import { configuredDatabase } from './engines.js';
import { FUTURE_TOLERANCE_MS, LOGS_DIR, listSets, type SetEntry } from '../catalog/sets.js';
import { readFileNoFollow } from '../catalog/set-files.js';
import { freeBytes } from '../catalog/space.js';
import type { Check, CommandOutcome } from '../report/result.js';
import { formatRow } from '../shared/format.js';
import type { RunContext } from './context.js';
import { milestoneCopiesCheck } from './replicate.js';
import { barmanPaths } from '../engines/barman/conf.js';
import { probePitr, type PitrFacts } from '../engines/barman/probe.js';
import { evaluateChecks } from './status-checks/index.js';
import { QUIET_COMMANDS, errorLines, selectRunLogs } from './status-checks/run-log.js';
import type { RunLogInfo, RunLogRead, StatusEngine, StatusInput, StatusSet } from './status-checks/types.js';

export { errorLines, selectRunLogs };
export type { RunLogInfo, RunLogRead, StatusEngine, StatusInput, StatusSet };
export { evaluateChecks, statusChecks, STATUS_CHECKS } from './status-checks/index.js';

/** `<YYYYMMDD_HHMMSS>-<command>-<pid>.log`, as run.ts names them. */
export const RUN_LOG_RE = /^(\d{8}_\d{6})-([a-z]+)-(\d+)\.log$/;
/** A set this far ahead of now is "from the future" for the staleness rows (the catalog's rule). */
export { FUTURE_TOLERANCE_MS };

/** The engines status has backup rows for, in row order: the registered ones (with the database the config names, when given it). */
export function statusEngines(config?: Parameters<typeof configuredDatabase>[0]): StatusEngine[] {
  return enginePlugins().map((p) => ({ name: p.name, label: p.label, ...(config ? { database: configuredDatabase(config, p.name) } : {}) }));
}

export function toStatusSet(s: SetEntry): StatusSet {
  return { ...toRetentionInput(s), databases: s.manifest ? engineDatabases(s.manifest) : {} };
}

/** The checklist rows, from the facts gathered by the command. Pure. */
export function statusRows(input: StatusInput, now: Date): Check[] {
  return evaluateChecks(input, now).map((e) => e.check);
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
  // Only with a pitr: section: Barman's base backups and WAL on the runner, the slot on the database host.
  const pitr: PitrFacts | undefined = config.pitr ? await probePitr({ cfg: config.pitr, paths: barmanPaths(config.pitr), ctx: { log, signal: ctx.signal, env: ctx.env } }) : undefined;
  const liveLock = lock && !lock.stale && lock.info ? { command: lock.info.command, pid: lock.info.pid, hostname: lock.info.hostname, started_at: lock.info.started_at } : null;
  const evaluated = evaluateChecks({ config, engines: statusEngines(config), sets: sets.map(toStatusSet), logs, free, lock: liveLock, ...(pitr ? { pitr } : {}) }, now);
  const checks = evaluated.map((e) => e.check);
  checks.push(await milestoneCopiesCheck(config, sets)); // the milestone checklist's "copied to remote storage"
  // The rows and the summary are the main output (stdout in the CLI: `status | grep FAILED`).
  for (const c of checks) log.output(formatRow(c));
  const failed = checks.filter((c) => c.result === 'failed');
  const passed = checks.filter((c) => c.result === 'passed').length;
  const skipped = checks.length - failed.length - passed;
  const message = `status: ${passed} passed, ${failed.length} failed${failed.length ? ` (${failed.map((c) => c.name).join(', ')})` : ''}, ${skipped} skipped`;
  log.output(message);
  // Backups that stopped, or a verification too old or failed (the rows flagged stale), raise the `stale` event.
  const stale = evaluated.filter((e) => e.stale && e.check.result === 'failed').map((e) => e.check.name);
  return { message, checks, failed: failed.length > 0, free_bytes: 'bytes' in free ? free.bytes : null, stale };
}
