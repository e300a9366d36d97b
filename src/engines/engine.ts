/**
 * What every engine's tool class offers (PostgresEngine, TdengineEngine). Only engines run database
 * tools. The commands do not use these classes directly: they use each plugin's lifecycle (plugin.ts).
 */
import type { RunLog } from '../report/log.js';

export interface EngineContext {
  log: RunLog;
  /** Aborted on SIGINT/SIGTERM: engines stop their children and return. */
  signal: AbortSignal;
  /** The environment the run was started with (secrets are read from here only). */
  env: NodeJS.ProcessEnv;
}

export interface PreflightInfo {
  serverVersion: string;
  clientVersion: string;
  /** Estimated size of what will be dumped, for the free-space check; null when unknown. */
  estimatedBytes: number | null;
}

/** A registered engine's name (registry.ts); the built-ins are postgres and tdengine. */
export type EngineName = string;

/**
 * The tool-level interface every engine class implements; the plugin adapters (postgres-plugin.ts,
 * tdengine/plugin.ts) build the commands' lifecycle (plugin.ts's Engine) on it.
 */
export interface Engine {
  readonly name: EngineName;
  /** The database the config names. */
  readonly database: string;
  /** Finds the stock tools (no connection): a missing one is a usage error (exit 2). */
  findTools(env: NodeJS.ProcessEnv): void;
  /** Reaches the server and checks the client against it. */
  preflight(ctx: EngineContext): Promise<PreflightInfo>;
  databaseExists(env: NodeJS.ProcessEnv, name: string, signal?: AbortSignal): Promise<boolean>;
  /** Drops and recreates a scratch database; refuses the production one whatever the config says. */
  recreateScratch(env: NodeJS.ProcessEnv, scratch: string, signal?: AbortSignal): Promise<void>;
  dropScratch(env: NodeJS.ProcessEnv, scratch: string, signal?: AbortSignal): Promise<void>;
}

/** Environment passed to a child tool: only what it needs, so nothing else leaks into it. */
export function childEnv(env: NodeJS.ProcessEnv, extra: Record<string, string | undefined>, passPrefixes: string[] = []): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const k of ['PATH', 'HOME', 'TZ', 'TMPDIR']) if (env[k] !== undefined) out[k] = env[k];
  for (const [k, v] of Object.entries(env)) if (passPrefixes.some((p) => k.startsWith(p)) && v !== undefined) out[k] = v;
  // English messages: our checks read the tools' output.
  out.LC_ALL = 'C';
  out.LANG = 'C';
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete out[k];
    else out[k] = v;
  }
  return out;
}
