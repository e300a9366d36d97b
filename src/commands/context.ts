/** What every command gets: the validated config, the request, the log, the cancel signal. */
import type { Config } from '../inputs/config-schema.js';
import type { RunRequest } from '../inputs/options.js';
import type { RunLog } from '../report/log.js';
import type { GitInfo } from '../catalog/manifest.js';
import { runUrl } from '../shared/github.js';

/** What a command's prepare step gets: no log, no signal, nothing to write with. */
export interface PrepareContext {
  config: Config;
  request: RunRequest;
  env: NodeJS.ProcessEnv;
}

export interface RunContext {
  config: Config;
  configFile: string | null;
  request: RunRequest;
  log: RunLog;
  signal: AbortSignal;
  env: NodeJS.ProcessEnv;
  now: () => Date;
}

/** Git facts about the run, from the Actions environment (null outside Actions). */
export function gitInfo(env: NodeJS.ProcessEnv): GitInfo {
  if (!env.GITHUB_SHA && !env.GITHUB_REF) return null;
  return {
    sha: env.GITHUB_SHA ?? null,
    ref: env.GITHUB_REF ?? null,
    tag: env.GITHUB_REF_TYPE === 'tag' ? (env.GITHUB_REF_NAME ?? null) : null,
    actor: env.GITHUB_ACTOR ?? null,
    run_id: env.GITHUB_RUN_ID ?? null,
    run_url: runUrl(env),
  };
}
