/** The action: read inputs -> run the command -> publish outputs and summary (always). */
import * as core from '@actions/core';
import { describe, exitCodeOf } from './errors.js';
import { maskSecrets, readActionInputs } from './inputs/action.js';
import { runCommand } from './run.js';
import { actionSink } from './report/action-sink.js';
import { publish } from './report/outputs.js';
import { TOOL_NAME, TOOL_VERSION } from './version.js';
import type { RunResult } from './report/result.js';

export async function run(): Promise<number> {
  let result: RunResult;
  try {
    const inputs = readActionInputs(process.env);
    maskSecrets(inputs.secrets);
    result = await runCommand(inputs.request, { sink: actionSink, env: inputs.env, cwd: process.cwd(), secrets: inputs.secrets, handleSignals: true });
  } catch (err) {
    // Only input errors land here: runCommand itself reports failures in its result.
    const d = describe(err);
    const now = new Date().toISOString();
    result = {
      tool: { name: TOOL_NAME, version: TOOL_VERSION },
      command: process.env.INPUT_COMMAND ?? '',
      status: 'failure',
      exit_code: exitCodeOf(err),
      started_at: now,
      finished_at: now,
      duration_ms: 0,
      config_file: null,
      root: null,
      set: null,
      engines: {},
      checks: [],
      free_bytes: null,
      message: d.message,
      warnings: [],
      error: { code: d.code, message: d.message, hint: d.hint ?? null },
      log_path: null,
      report_path: null,
    };
    core.error(d.message);
    if (d.hint) core.error(`hint: ${d.hint}`);
  }
  await publish(result);
  if (result.exit_code !== 0) core.setFailed(`${result.command} ${result.status}: ${result.error?.message ?? result.message}`);
  return result.exit_code;
}
