/**
 * The action's `upload-report: true`: the run's JSON report and log file as one workflow artifact,
 * named after the command and the set. The upload sits behind ReportUploader so tests can check
 * what is passed; the real one is @actions/artifact (v6), loaded only when an upload happens.
 * Outside a real runner (no ACTIONS_RUNTIME_TOKEN / ACTIONS_RESULTS_URL) the upload is skipped
 * with a notice: @actions/artifact cannot work there.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { RunResult } from './result.js';

export interface UploadOptions {
  /** Days to keep the artifact; absent: the repository's default. */
  retentionDays?: number;
}

export interface ReportUploader {
  upload(name: string, files: string[], rootDirectory: string, options: UploadOptions): Promise<{ id?: number; size?: number }>;
}

/** The real uploader: @actions/artifact's DefaultArtifactClient. */
export function artifactUploader(): ReportUploader {
  return {
    async upload(name, files, rootDirectory, options) {
      const { DefaultArtifactClient } = await import('@actions/artifact');
      return new DefaultArtifactClient().uploadArtifact(name, files, rootDirectory, options);
    },
  };
}

/** Characters @actions/artifact refuses in a name (NTFS limits) become "_". */
const BAD_NAME_CHARS = /["<>:|*?\r\n\\/\s]/g;

/** pgtaos-backup-<command>-<set id or "no-set">-<UTC start, 20261125T160003Z>: unique per run, sortable. */
export function artifactName(r: Pick<RunResult, 'command' | 'set' | 'started_at'>): string {
  const stamp = r.started_at.replace(/[-:]/g, '').replace(/\.\d+/, '');
  return `pgtaos-backup-${r.command || 'run'}-${r.set?.id ?? 'no-set'}-${stamp}`.replace(BAD_NAME_CHARS, '_');
}

export interface UploadOutcome {
  status: 'uploaded' | 'skipped' | 'failed';
  name: string;
  files: string[];
  message: string;
}

async function present(p: string | null): Promise<string | null> {
  if (!p) return null;
  try {
    return (await fs.stat(p)).isFile() ? p : null;
  } catch {
    return null;
  }
}

/** The folder holding every file (the report and log normally share <root>/logs). */
function commonDir(files: string[]): string {
  const parts = files.map((f) => path.dirname(path.resolve(f)).split(path.sep));
  const first = parts[0]!;
  let n = first.length;
  for (const p of parts.slice(1)) {
    let i = 0;
    while (i < n && i < p.length && p[i] === first[i]) i++;
    n = i;
  }
  return first.slice(0, n).join(path.sep) || path.sep;
}

/** Uploads the report and log. Never throws: the caller decides what a failure does to the step. */
export async function uploadReport(result: RunResult, opts: { uploader: ReportUploader; env: NodeJS.ProcessEnv; retentionDays: number }): Promise<UploadOutcome> {
  const name = artifactName(result);
  const files = (await Promise.all([present(result.report_path), present(result.log_path)])).filter((f): f is string => f !== null);
  const missing = ['ACTIONS_RUNTIME_TOKEN', 'ACTIONS_RESULTS_URL'].filter((k) => !opts.env[k]);
  if (missing.length) {
    return { status: 'skipped', name, files, message: `report artifact not uploaded: ${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} not set (only a GitHub Actions runner provides them)` };
  }
  if (files.length === 0) {
    return { status: 'failed', name, files, message: 'report artifact not uploaded: the run wrote no report or log file to upload' };
  }
  try {
    const up = await opts.uploader.upload(name, files, commonDir(files), opts.retentionDays > 0 ? { retentionDays: opts.retentionDays } : {});
    return { status: 'uploaded', name, files, message: `report artifact ${name} uploaded (${files.map((f) => path.basename(f)).join(', ')}${up.id ? `, id ${up.id}` : ''})` };
  } catch (err) {
    return { status: 'failed', name, files, message: `report artifact ${name} could not be uploaded: ${err instanceof Error ? err.message : String(err)}` };
  }
}
