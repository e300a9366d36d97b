/** A command's RunContext for tests that call a command's run step directly (no runCommand). */
import type { RunContext } from '../../src/commands/context.js';
import type { Config } from '../../src/inputs/config-schema.js';
import { runRequestSchema, type RunRequestInput } from '../../src/inputs/options.js';
import { RunLog, silentSink } from '../../src/report/log.js';

export interface TestCtxOptions {
  config: Config;
  /** Parsed with runRequestSchema, as runCommand does. */
  request: RunRequestInput;
  configFile?: string | null;
  /** Values the log masks. */
  secrets?: string[];
  env?: NodeJS.ProcessEnv;
  now?: () => Date;
}

/** A silent log (its errors and warnings kept for assertions), a signal never aborted. */
export function testCtx({ config, request, configFile = null, secrets = [], env = {}, now = () => new Date() }: TestCtxOptions): RunContext {
  return { config, configFile, request: runRequestSchema.parse(request), log: new RunLog(silentSink, secrets), signal: new AbortController().signal, env, now };
}
