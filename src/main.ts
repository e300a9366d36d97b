/** The action: read inputs -> run the command -> report (file, artifact, outputs, summary), always. */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import * as core from '@actions/core';
import { maskSecrets, readActionInputs, type ActionRequest } from './inputs/action.js';
import { secretEnvNames } from './inputs/options.js';
import { runCommand } from './run.js';
import { buildResult } from './run-result.js';
import { actionSink } from './report/action-sink.js';
import { artifactUploader, uploadReport, type ReportUploader } from './report/artifact.js';
import { publish } from './report/outputs.js';
import type { RunResult } from './report/result.js';

export interface ActionDeps {
  /** Where the report artifact goes (tests pass a fake; default @actions/artifact). */
  uploader?: ReportUploader;
}

/** Inputs refused before any run: the result is built as a run's is, from what is known (the error). */
function inputFailure(err: unknown, env: NodeJS.ProcessEnv): RunResult {
  const now = new Date();
  return buildResult({ command: env.INPUT_COMMAND ?? '', started: now, finished: now, loaded: null, outcome: null, failure: err, storage: null, warnings: [], env, logPath: null, reportPath: null });
}

/**
 * A run whose backup root is unknown or has no logs/ folder (bad inputs or config, list/status on a
 * new root) still gets a report file: in RUNNER_TEMP, for the report-path output and the artifact.
 */
async function ensureReportFile(result: RunResult, env: NodeJS.ProcessEnv): Promise<RunResult> {
  if (result.report_path || !env.RUNNER_TEMP) return result;
  const file = path.join(env.RUNNER_TEMP, `pgtaos-backup-${result.command || 'run'}-${result.started_at.replace(/[-:.]/g, '')}-${process.pid}.json`.replace(/[^A-Za-z0-9._\-/]/g, '_'));
  const withPath = { ...result, report_path: file };
  try {
    await fs.writeFile(file, `${JSON.stringify(withPath, null, 2)}\n`, { mode: 0o600 });
    return withPath;
  } catch (err) {
    core.warning(`could not write the report to ${file}: ${err instanceof Error ? err.message : String(err)}`);
    return result;
  }
}

export async function run(deps: ActionDeps = {}): Promise<number> {
  const env = process.env;
  let result: RunResult;
  let report: ActionRequest['report'] | null = null;
  // Secrets already in the environment are masked first, so even a step whose inputs are refused never shows them.
  const envSecrets = secretEnvNames().map((k) => env[k]).filter((v): v is string => Boolean(v));
  maskSecrets(envSecrets);
  try {
    const inputs = readActionInputs(env);
    report = inputs.report;
    maskSecrets(inputs.secrets.filter((s) => !envSecrets.includes(s)));
    result = await runCommand(inputs.request, {
      sink: actionSink,
      env: inputs.env,
      cwd: process.cwd(),
      secrets: inputs.secrets,
      handleSignals: true,
      onSecret: (s) => core.setSecret(s),
    });
  } catch (err) {
    // Only input errors land here: runCommand itself reports failures in its result.
    result = inputFailure(err, env);
    core.error(result.error!.message);
    if (result.error!.hint) core.error(`hint: ${result.error!.hint}`);
  }
  result = await ensureReportFile(result, env);

  let exitCode = result.exit_code;
  let uploadFailure: string | null = null;
  const notes: string[] = [];
  if (report?.upload) {
    const up = await uploadReport(result, { uploader: deps.uploader ?? artifactUploader(), env, retentionDays: report.retentionDays });
    notes.push(up.message);
    if (up.status === 'uploaded') core.info(up.message);
    else if (up.status === 'skipped') core.notice(up.message);
    else if (report.onError === 'warn') core.warning(`${up.message} (on-report-error: warn, so the step is not failed)`);
    else {
      uploadFailure = up.message;
      if (exitCode === 0) exitCode = 1;
    }
  }
  await publish(result, notes);
  if (result.exit_code !== 0) core.setFailed(`${result.command} ${result.status}: ${result.error?.message ?? result.message}`);
  if (uploadFailure) {
    if (result.exit_code === 0) core.setFailed(`${uploadFailure}. The ${result.command} itself succeeded; set on-report-error: warn to keep a failed upload from failing the step.`);
    else core.error(uploadFailure);
  }
  return exitCode;
}
