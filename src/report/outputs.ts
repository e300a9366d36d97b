/** Step outputs and the job summary, written whatever the run's outcome. */
import * as core from '@actions/core';
import type { RunResult } from './result.js';
import { renderSummary } from './summary.js';

/** `notes`: lines about what happened after the run (the report artifact), shown under the summary. */
export async function publish(result: RunResult, notes: string[] = []): Promise<void> {
  core.setOutput('set-id', result.set?.id ?? '');
  core.setOutput('set-path', result.set?.path ?? '');
  core.setOutput('status', result.status);
  core.setOutput('report-path', result.report_path ?? '');
  if (process.env.GITHUB_STEP_SUMMARY) {
    await core.summary.addRaw(renderSummary(result, notes), true).write();
  }
}
