/**
 * Which engines a run uses (the --engines choice against what the config defines), and the
 * checks that need no connection: each engine's tools found, its secrets present. Run before
 * anything is created, so these mistakes are exit 2 with nothing written. Engines come from the
 * registry; none is named here.
 */
import '../engines/builtin.js';
import { UsageError, type ErrorCode } from '../errors.js';
import { engineSection, type Config } from '../inputs/config-schema.js';
import type { EngineChoice } from '../inputs/options.js';
import { enginePlugin, enginePlugins } from '../engines/registry.js';
import type { AnyEnginePlugin, Engine, SectionBase } from '../engines/plugin.js';
import { engineNames, manifestSection, type Manifest } from '../catalog/manifest.js';
import type { SetEntry } from '../catalog/sets.js';

/** The registered engines the config has a section for, in registry order. */
export function configuredEngines(config: Config): string[] {
  return enginePlugins().filter((p) => engineSection(config, p.name) !== undefined).map((p) => p.name);
}

export function selectEngines(config: Config, choice: EngineChoice): string[] {
  const configured = configuredEngines(config);
  if (choice === 'all') {
    if (configured.length === 0) {
      const sections = enginePlugins().map((p) => `${p.name}:`);
      throw new UsageError('engines.none', 'the config defines no database to back up', { hint: `Add a ${orList(sections, 'and/or')} section to the config file.` });
    }
    return configured;
  }
  if (!configured.includes(choice)) {
    throw new UsageError('engines.not_configured', `--engines ${choice} was asked for, but the config has no ${choice}: section`, {
      hint: configured.length
        ? `Add a ${choice}: section to the config, or choose one of: ${[...configured, 'all'].join(', ')}.`
        : `Add a ${choice}: section to the config file (it names the server and database).`,
    });
  }
  return [choice];
}

/** "a, b and/or c" */
function orList(items: string[], last: string): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} ${last} ${items.at(-1)}`;
}

/** The engines whose dumps a set holds, in registry order (a section of an engine not registered is left out). */
export function enginesInSet(set: SetEntry): string[] {
  const held = set.manifest ? engineNames(set.manifest) : [];
  return enginePlugins().filter((p) => held.includes(p.name)).map((p) => p.name);
}

/**
 * A set holding an engine's dump needs that engine's config section to be restored anywhere.
 * `code` keeps each command's own error code (verify.no_engine_config, restore.no_engine_config).
 */
export function requireSections(config: Config, engines: string[], code: ErrorCode, what: string): void {
  for (const e of engines) {
    if (engineSection(config, e) === undefined) {
      throw new UsageError(code, `${what} holds a ${e} dump, but the config has no ${e}: section naming the server to restore into`, {
        hint: `Add the ${e}: section to the config file (host, port, database of the server to restore into).`,
      });
    }
  }
}

/** The plugin of a registered engine (commands only pass names they took from the registry). */
export function pluginOf(name: string): AnyEnginePlugin {
  const p = enginePlugin(name);
  if (!p) throw new UsageError('engines.unknown', `no engine named ${name} is registered`, { hint: `Known engines: ${enginePlugins().map((q) => q.name).join(', ')}.` });
  return p;
}

/** The engine `name` configured by the config's section; `database` replaces the configured database, `tables` narrows its dump to them. */
export function createEngine(config: Config, name: string, database?: string, tables?: readonly string[]): Engine {
  const plugin = pluginOf(name);
  const section = engineSection(config, name);
  if (section === undefined) requireSections(config, [name], 'engines.not_configured', 'this run');
  return plugin.create(section, { ...(database === undefined ? {} : { database }), ...(tables === undefined ? {} : { tables }) });
}

/** Each engine's tools and secrets: a UsageError (exit 2) when one is missing. */
export function findEngineTools(config: Config, engines: string[], env: NodeJS.ProcessEnv): void {
  for (const e of engines) if (engineSection(config, e) !== undefined) createEngine(config, e).findTools(env);
}

/** An engine's section of a set's manifest, typed by its plugin's schema (which already validated it when the set was read). */
export function setSection(manifest: Manifest, name: string): SectionBase {
  return pluginOf(name).manifestSchema.parse(manifestSection(manifest, name));
}

/** The production database the config names for an engine, or null when the config has no section for it. */
export function configuredDatabase(config: Partial<Config>, name: string): string | null {
  const section = engineSection(config, name);
  const plugin = enginePlugin(name);
  return section === undefined || !plugin ? null : plugin.databases(section).database;
}
