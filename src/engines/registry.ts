/**
 * The engine registry: the one list of engines the commands loop over, in registration order
 * (the built-ins: postgres, then tdengine; see builtin.ts). A leaf module: schemas that depend on
 * it (config, manifest) rebuild when `registryVersion()` changes.
 */
import type { AnyEnginePlugin, EnginePlugin, SectionBase } from './plugin.js';

/** Names an engine may not take: keys the config file or a manifest already use, and `all`. */
const RESERVED = new Set([
  'all', 'root', 'timezone', 'min_free_gb', 'config_files', 'retention', 'remotes', 'encryption', 'notify', 'staleness',
  'format', 'id', 'kind', 'milestone', 'status', 'started_at', 'finished_at', 'tool', 'hostname', 'git', 'bytes', 'config', 'imported_from',
]);
const NAME_RE = /^[a-z][a-z0-9_]{0,31}$/;

const plugins: AnyEnginePlugin[] = [];
let version = 0;

/**
 * Adds an engine; returns a function that removes it again (tests). A bad or taken name is a
 * programming error, thrown at once.
 */
export function registerEngine<C, M extends SectionBase>(plugin: EnginePlugin<C, M>): () => void {
  if (!NAME_RE.test(plugin.name) || RESERVED.has(plugin.name)) throw new Error(`engine name ${JSON.stringify(plugin.name)} is reserved or not a plain lower-case name`);
  if (plugins.some((p) => p.name === plugin.name)) throw new Error(`engine ${plugin.name} is already registered`);
  const stored: AnyEnginePlugin = plugin;
  plugins.push(stored);
  version++;
  return () => {
    const i = plugins.indexOf(stored);
    if (i >= 0) {
      plugins.splice(i, 1);
      version++;
    }
  };
}

export function enginePlugins(): readonly AnyEnginePlugin[] {
  return plugins;
}

export function enginePlugin(name: string): AnyEnginePlugin | undefined {
  return plugins.find((p) => p.name === name);
}

/** Changes whenever an engine is added or removed. */
export function registryVersion(): number {
  return version;
}

/** `build()` once per registry state: schemas built from the registry are not rebuilt on every parse. */
export function memoByRegistry<T>(build: () => T): () => T {
  let at = -1;
  let value: T | undefined;
  return () => {
    if (at !== version || value === undefined) {
      value = build();
      at = version;
    }
    return value;
  };
}

/** Environment variables holding any registered engine's secrets. */
export function engineSecretEnv(): string[] {
  return [...new Set(plugins.flatMap((p) => p.secretEnv))];
}
