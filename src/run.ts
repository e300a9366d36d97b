/**
 * One run of one command, shared by the CLI and the action, in phases: openRun (log, signals),
 * prepare (validate the request and config: exit 2 before anything is touched), lock (writing
 * commands), execute, then always finalResult (run-result.ts), notifyEntries and writeReport.
 */
import { constants as fsConstants, promises as fs } from 'node:fs';
import path from 'node:path';
import { CancelledError, JobError, UsageError, describe } from './errors.js';
import { loadConfig, type LoadedConfig } from './inputs/config.js';
import { runRequestSchema, secretEnvNames, type RunRequest, type RunRequestInput } from './inputs/options.js';
import { RunLog, type Sink } from './report/log.js';
import type { CommandOutcome, Notification, RunResult, Storage } from './report/result.js';
import { notify, webhookSecrets, type NotifyTuning } from './report/notify.js';
import { storageEstimate, type StorageSet } from './report/storage.js';
import { LOCK_FILE, acquireLock, describeHolder, formatWait, type Lock } from './catalog/lock.js';
import { LOGS_DIR, listSets } from './catalog/sets.js';
import { refuseLinkedFolders } from './catalog/set-files.js';
import { freeBytes } from './catalog/space.js';
import type { Config } from './inputs/config-schema.js';
import { localTime } from './catalog/time.js';
import { formatDuration } from './shared/format.js';
import { writeFileAtomic } from './shared/atomic-file.js';
import { COMMAND_SPECS, type CommandSpec } from './commands/index.js';
import { buildResult, settle } from './run-result.js';
import { TOOL_NAME, TOOL_VERSION } from './version.js';

export interface RunIO {
  sink: Sink;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Extra values to mask (the action adds its secret inputs). */
  secrets?: string[];
  /** Install SIGINT/SIGTERM handlers for the run (the CLI and the action do; library callers may not). */
  handleSignals?: boolean;
  /** For tests: a signal of the caller's. */
  signal?: AbortSignal;
  /** Told each value to mask that the run learns (webhook URLs); the action passes core.setSecret. */
  onSecret?: (value: string) => void;
  /** Webhook timeouts and retries (tests shorten them). */
  notify?: Partial<NotifyTuning>;
  /** For tests: the fetch notifications use. */
  fetch?: typeof fetch;
}

function parseRequest(input: RunRequestInput): RunRequest {
  const r = runRequestSchema.safeParse(input);
  if (!r.success) {
    const msg = r.error.issues.map((i) => `${i.path.join('.') || 'request'}: ${i.message}`).join('; ');
    throw new UsageError('usage.invalid', msg, { hint: 'Run `pgtaos-backup --help` for the commands and their options.' });
  }
  return r.data;
}

/** What a run knows so far: each phase fills in its part, and a failure may stop it in any phase. */
interface RunState {
  input: RunRequestInput;
  io: RunIO;
  started: Date;
  log: RunLog;
  /** Aborted by a signal while the command runs. */
  controller: AbortController;
  /** Aborted by a signal after the command: notifications still pending stop, so the report is still written in time. */
  late: AbortController;
  phase: 'command' | 'report';
  request: RunRequest | null;
  loaded: LoadedConfig | null;
  lock: Lock | null;
  logPath: string | null;
  reportPath: string | null;
  outcome: CommandOutcome | null;
  failure: unknown;
  /** Removes the signal handlers openRun installed. */
  closeSignals: () => void;
}

/** The request and config, checked, and where this run's files go. */
interface Prepared {
  request: RunRequest;
  loaded: LoadedConfig;
  spec: CommandSpec;
  runName: string;
}

export async function runCommand(input: RunRequestInput, io: RunIO): Promise<RunResult> {
  const run = openRun(input, io);
  try {
    const prepared = await prepare(run);
    await lock(run, prepared);
    run.outcome = await execute(run, prepared);
  } catch (err) {
    // A command's own CancelledError (restore: "may be partly restored" + roll-back) says more than the bare signal.
    run.failure = run.controller.signal.aborted && !(err instanceof UsageError) && !(err instanceof CancelledError) ? run.controller.signal.reason : err;
  } finally {
    run.phase = 'report';
    await releaseLock(run);
  }
  let result: RunResult;
  try {
    result = await finalResult(run);
    if (run.request && COMMAND_SPECS[run.request.command].report !== false) await notifyEntries(run, result);
    await writeReport(run, result);
  } finally {
    // Until the report is written, a signal only cuts notifications short.
    run.closeSignals();
  }
  await run.log.close();
  return run.log.maskDeep(result);
}

/** Opens the run: its log (masking the known secrets), its cancellation, and the signal handlers. */
function openRun(input: RunRequestInput, io: RunIO): RunState {
  const secrets = [...secretEnvNames().map((k) => io.env[k]), ...(io.secrets ?? [])];
  const run: RunState = {
    input,
    io,
    started: new Date(),
    log: new RunLog(io.sink, secrets),
    controller: new AbortController(),
    late: new AbortController(),
    phase: 'command',
    request: null,
    loaded: null,
    lock: null,
    logPath: null,
    reportPath: null,
    outcome: null,
    failure: null,
    closeSignals: () => undefined,
  };
  const { log, controller, late } = run;
  const onSignal = (sig: NodeJS.Signals) => {
    if (run.phase === 'report') {
      if (!late.signal.aborted) log.warn(`received ${sig} after the command finished: notifications still pending are stopped`);
      late.abort();
      return;
    }
    if (controller.signal.aborted) return;
    log.error(`received ${sig}: stopping child processes and cleaning up`);
    controller.abort(new CancelledError(sig));
  };
  io.signal?.addEventListener('abort', () => controller.abort(new CancelledError('abort')), { once: true });
  if (io.handleSignals) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    // The process (and pg_dump, taosdump it starts) creates folders 0700 and files 0600 whatever the
    // umask: under umask 000 another local user could otherwise plant links in the catalog.
    process.umask(0o077);
    run.closeSignals = () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    };
  }
  return run;
}

/** Checks the request and config (exit 2 before anything is touched) and masks the webhook URLs. */
async function prepare(run: RunState): Promise<Prepared> {
  const { io, log } = run;
  const request = parseRequest(run.input);
  run.request = request;
  const loaded = loadConfig({ file: request.configFile, overrides: request.overrides, env: io.env, cwd: io.cwd });
  run.loaded = loaded;
  // Webhook URLs carry tokens: masked from here on, like passwords.
  const hooks = webhookSecrets(loaded.config.notify, io.env);
  log.addSecrets(hooks);
  for (const h of hooks) io.onSecret?.(h);
  const spec = COMMAND_SPECS[request.command];
  const root = loaded.config.root;
  const stamp = localTime(run.started, loaded.config.timezone);
  const runName = `${stamp.date}_${stamp.time}-${request.command}-${process.pid}`;
  // A root that already has logs/ gets the report of any writing run, refused ones included; a new root is never created just for one.
  // Read-only runs (status, list: often run by hand or every few minutes) write one only when asked (--report).
  // (A logs/ that is a link gets nothing: reports and logs are never written through a link.)
  if (spec.report !== false && (spec.writes || request.report) && (await realDir(path.join(root, LOGS_DIR)))) run.reportPath = path.join(root, LOGS_DIR, `${runName}.json`);
  // Config-like mistakes (an engine the config lacks, a missing pg_dump) before anything is created.
  await spec.prepare?.({ config: loaded.config, request, env: io.env });
  return { request, loaded, spec, runName };
}

/** A writing command takes the root's lock and gets its log file; read-only commands do neither. */
async function lock(run: RunState, { request, loaded, spec, runName }: Prepared): Promise<void> {
  if (!spec.writes) return;
  const { log } = run;
  const root = loaded.config.root;
  await fs.mkdir(path.join(root, LOGS_DIR), { recursive: true }).catch(async (e: unknown) => {
    throw await rootNotWritable(root, e);
  });
  await refuseLinkedFolders(root, [LOGS_DIR]);
  // Known before the lock: a run refused by a held lock still leaves its report.
  run.reportPath = path.join(root, LOGS_DIR, `${runName}.json`);
  let waitTold = false;
  // Lines logged while waiting for or taking over the lock are kept by the log and land in
  // the log file once it is attached (a refused run leaves its report, not a log).
  run.lock = await acquireLock(root, request.command, {
    waitSeconds: request.lockWait,
    signal: run.controller.signal,
    onWait: (h, waited, total) => {
      log.info(
        waitTold
          ? `still waiting for the lock: ${describeHolder(h)}; waited ${formatWait(waited)} of ${formatWait(total)}`
          : `another run holds the lock ${path.join(root, LOCK_FILE)}: ${describeHolder(h)}; waiting up to ${formatWait(total)} (lock-wait)`,
      );
      waitTold = true;
    },
    onStale: (held) =>
      log.warn(`took over a stale lock${held ? ` left by ${held.command} (pid ${held.pid} on ${held.hostname}, started ${held.started_at})` : ' whose file was unreadable'}: that run is gone`),
  }).catch(async (e: unknown) => {
    throw await rootNotWritable(root, e);
  });
  await refuseLinkedFolders(root, [LOGS_DIR]);
  run.logPath = path.join(root, LOGS_DIR, `${runName}.log`);
  log.attachFile(run.logPath);
}

/** Runs the command itself; a signal during it fails the run even when the command returned. */
async function execute(run: RunState, { request, loaded, spec }: Prepared): Promise<CommandOutcome> {
  const { log, controller, io } = run;
  log.info(`${TOOL_NAME} ${TOOL_VERSION}: ${request.command} (config ${loaded.file ?? 'from flags/inputs'}, root ${loaded.config.root})`);
  const outcome = await spec.run({
    config: loaded.config,
    configFile: loaded.file,
    request,
    log,
    signal: controller.signal,
    env: io.env,
    now: () => new Date(),
  });
  if (controller.signal.aborted) throw controller.signal.reason;
  return outcome;
}

async function releaseLock(run: RunState): Promise<void> {
  const { lock, log } = run;
  const released = await lock?.release().catch((e: unknown) => {
    log.error(`could not release the lock: ${String(e)}`);
    return 'failed' as const;
  });
  if (released === 'not_ours') log.warn(`the lock ${lock!.file} was no longer this run's (removed or replaced by hand?); left it as it is`);
}

/** Logs how the run ended, then builds the result (with the storage estimate when the root is known). */
async function finalResult(run: RunState): Promise<RunResult> {
  const { log, failure, outcome, loaded } = run;
  const finished = new Date();
  const { status } = settle(failure, outcome);
  if (failure) {
    const err = describe(failure);
    log.error(err.message);
    if (err.hint) log.error(`hint: ${err.hint}`);
    if (err.code === 'internal' && failure instanceof Error && failure.stack) log.error(failure.stack);
  }
  log.info(`${run.request?.command ?? 'run'} ${status} in ${formatDuration(finished.getTime() - run.started.getTime())}`);
  const storage = loaded ? await gatherStorage(loaded.config, outcome, finished).catch(() => null) : null;
  return buildResult({
    command: run.request?.command ?? String(run.input.command ?? ''),
    started: run.started,
    finished,
    loaded,
    outcome,
    failure,
    storage,
    warnings: log.warnings,
    env: run.io.env,
    logPath: run.logPath,
    reportPath: run.reportPath,
  });
}

/** Notifications go out once the result is final; they never change it (failures are warnings). */
async function notifyEntries(run: RunState, result: RunResult): Promise<void> {
  const { log, io } = run;
  const entries = run.loaded?.config.notify ?? [];
  if (!entries.length) return;
  const sent: Notification[] = await notify(entries, log.maskDeep(result), {
    env: io.env,
    log,
    stop: run.late.signal,
    ...(io.notify ? { tuning: io.notify } : {}),
    ...(io.fetch ? { fetch: io.fetch } : {}),
  });
  result.notifications = sent;
  result.warnings = [...log.warnings];
}

async function writeReport(run: RunState, result: RunResult): Promise<void> {
  const { reportPath, log } = run;
  if (!reportPath) return;
  await writeFileAtomic(reportPath, `${JSON.stringify(log.maskDeep(result), null, 2)}\n`, 0o600).catch((e: unknown) => {
    log.error(`could not write the report ${reportPath}: ${String(e)}`);
    result.report_path = null;
  });
}

/** Free space and the estimate, for every command whose root exists (never creates it). */
async function gatherStorage(config: Config, outcome: CommandOutcome | null, now: Date): Promise<Storage | null> {
  const root = config.root;
  if (!(await exists(root))) return null;
  const sets: StorageSet[] = outcome?.sets && !outcome.sets_filtered
    ? outcome.sets.map((s) => ({ kind: s.kind, status: s.status, bytes: s.bytes, started_at: s.created_at }))
    : (await listSets(root)).map((s) => ({ kind: s.kind, status: s.status, bytes: s.manifest?.bytes ?? 0, started_at: s.manifest?.started_at ?? null }));
  const free = outcome?.free_bytes ?? (await freeBytes(root).catch(() => null));
  return storageEstimate({ sets, freeBytes: free, minFreeGb: config.min_free_gb, now });
}

async function realDir(p: string): Promise<boolean> {
  return fs.lstat(p).then(
    (st) => st.isDirectory(),
    () => false,
  );
}

async function exists(p: string): Promise<boolean> {
  try {
    await fs.access(p);
    return true;
  } catch {
    return false;
  }
}

/**
 * A backup root that cannot be written (read-only mount, wrong owner, full): say so plainly.
 * Node's recursive mkdir reports ENOENT on a read-only file system, so the nearest existing
 * folder above the root is probed for write access to tell what is really wrong.
 */
async function rootNotWritable(root: string, err: unknown): Promise<unknown> {
  let code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') {
    let dir = root;
    while (!(await exists(dir)) && path.dirname(dir) !== dir) dir = path.dirname(dir);
    code = await fs.access(dir, fsConstants.W_OK).then(
      () => code,
      (e: NodeJS.ErrnoException) => e.code,
    );
  }
  if (code !== 'EACCES' && code !== 'EROFS' && code !== 'EPERM' && code !== 'ENOSPC') return err;
  const why = code === 'EROFS' ? 'it is on a read-only file system' : code === 'ENOSPC' ? 'the disk is full' : 'permission denied';
  return new JobError('root.not_writable', `cannot write to the backup root ${root}: ${why} (${code})`, {
    hint: 'Check that the disk is mounted read-write and that the user running pgtaos-backup owns the backup root. Nothing was written.',
    cause: err,
  });
}
