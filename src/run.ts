/**
 * One run of one command, shared by the CLI and the action: validate the request and config
 * (exit 2 before anything is touched), take the lock, run, and always write the report.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { CancelledError, EXIT, UsageError, describe, exitCodeOf } from './errors.js';
import { loadConfig, type LoadedConfig } from './inputs/config.js';
import { SECRET_ENV, runRequestSchema, type RunRequest, type RunRequestInput } from './inputs/options.js';
import { RunLog, type Sink } from './report/log.js';
import { runResultSchema, type CommandOutcome, type RunResult } from './report/result.js';
import { acquireLock, type Lock } from './catalog/lock.js';
import { LOGS_DIR } from './catalog/sets.js';
import { localTime, formatDuration } from './catalog/time.js';
import { writeFileAtomic } from './catalog/manifest.js';
import { COMMAND_SPECS } from './commands/index.js';
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
}

function parseRequest(input: RunRequestInput): RunRequest {
  const r = runRequestSchema.safeParse(input);
  if (!r.success) {
    const msg = r.error.issues.map((i) => `${i.path.join('.') || 'request'}: ${i.message}`).join('; ');
    throw new UsageError('usage.invalid', msg, { hint: 'Run `pgtaos-backup --help` for the commands and their options.' });
  }
  return r.data;
}

export async function runCommand(input: RunRequestInput, io: RunIO): Promise<RunResult> {
  const started = new Date();
  const secrets = [...SECRET_ENV.map((k) => io.env[k]), ...(io.secrets ?? [])];
  const log = new RunLog(io.sink, secrets);
  const controller = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    if (controller.signal.aborted) return;
    log.error(`received ${sig}: stopping child processes and cleaning up`);
    controller.abort(new CancelledError(sig));
  };
  io.signal?.addEventListener('abort', () => controller.abort(new CancelledError('abort')), { once: true });
  if (io.handleSignals) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }

  let request: RunRequest | null = null;
  let loaded: LoadedConfig | null = null;
  let lock: Lock | null = null;
  let logPath: string | null = null;
  let reportPath: string | null = null;
  let outcome: CommandOutcome | null = null;
  let failure: unknown = null;

  try {
    request = parseRequest(input);
    loaded = loadConfig({ file: request.configFile, overrides: request.overrides, env: io.env, cwd: io.cwd });
    const spec = COMMAND_SPECS[request.command];
    const root = loaded.config.root;
    const stamp = localTime(started, loaded.config.timezone);
    const runName = `${stamp.date}_${stamp.time}-${request.command}-${process.pid}`;
    if (spec.writes) {
      await fs.mkdir(path.join(root, LOGS_DIR), { recursive: true });
      lock = await acquireLock(root, request.command, (held) =>
        log.warn(`took over a stale lock${held ? ` left by ${held.command} (pid ${held.pid}, started ${held.started_at})` : ''}: that run is gone`),
      );
      logPath = path.join(root, LOGS_DIR, `${runName}.log`);
      log.attachFile(logPath);
    }
    if (await exists(path.join(root, LOGS_DIR))) reportPath = path.join(root, LOGS_DIR, `${runName}.json`);
    log.info(`${TOOL_NAME} ${TOOL_VERSION}: ${request.command} (config ${loaded.file ?? 'from flags/inputs'}, root ${root})`);
    outcome = await spec.run({
      config: loaded.config,
      configFile: loaded.file,
      request,
      log,
      signal: controller.signal,
      env: io.env,
      now: () => new Date(),
    });
    if (controller.signal.aborted) throw controller.signal.reason;
  } catch (err) {
    failure = controller.signal.aborted && !(err instanceof UsageError) ? controller.signal.reason : err;
  } finally {
    if (io.handleSignals) {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    await lock?.release().catch((e: unknown) => log.error(`could not release the lock: ${String(e)}`));
  }

  const finished = new Date();
  const err = failure ? describe(failure) : null;
  const cancelled = failure instanceof CancelledError;
  const status: RunResult['status'] = failure ? (cancelled ? 'cancelled' : 'failure') : outcome?.failed ? 'failure' : 'success';
  const exitCode = failure ? exitCodeOf(failure) : outcome?.failed ? EXIT.failed : EXIT.ok;
  if (err) {
    log.error(err.message);
    if (err.hint) log.error(`hint: ${err.hint}`);
    if (err.code === 'internal' && failure instanceof Error && failure.stack) log.error(failure.stack);
  }
  log.info(`${request?.command ?? 'run'} ${status} in ${formatDuration(finished.getTime() - started.getTime())}`);

  const result: RunResult = runResultSchema.parse({
    tool: { name: TOOL_NAME, version: TOOL_VERSION },
    command: request?.command ?? String(input.command ?? ''),
    status,
    exit_code: exitCode,
    started_at: started.toISOString(),
    finished_at: finished.toISOString(),
    duration_ms: finished.getTime() - started.getTime(),
    config_file: loaded?.file ?? null,
    root: loaded?.config.root ?? null,
    set: outcome?.set ?? null,
    engines: outcome?.engines ?? {},
    ...(outcome?.sets ? { sets: outcome.sets } : {}),
    ...(outcome?.prune ? { prune: outcome.prune } : {}),
    checks: outcome?.checks ?? [],
    free_bytes: outcome?.free_bytes ?? null,
    message: err ? err.message : (outcome?.message ?? ''),
    warnings: log.warnings,
    error: err ? { code: err.code, message: err.message, hint: err.hint ?? null } : null,
    log_path: logPath,
    report_path: reportPath,
  });
  if (reportPath) {
    await writeFileAtomic(reportPath, `${log.mask(JSON.stringify(result, null, 2))}\n`, 0o600).catch((e: unknown) => {
      log.error(`could not write the report ${reportPath}: ${String(e)}`);
      result.report_path = null;
    });
  }
  await log.close();
  return JSON.parse(log.mask(JSON.stringify(result))) as RunResult;
}

async function exists(p: string): Promise<boolean> {
  try {
    await fs.access(p);
    return true;
  } catch {
    return false;
  }
}
