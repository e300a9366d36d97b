/**
 * Which engines a run uses (the --engines choice against what the config defines), and the
 * checks that need no connection: each engine's tools found, its secrets present. Run before
 * anything is created, so these mistakes are exit 2 with nothing written.
 */
import { UsageError, type ErrorCode } from '../errors.js';
import type { Config } from '../inputs/config-schema.js';
import type { EngineChoice } from '../inputs/options.js';
import type { EngineName } from '../engines/engine.js';
import { PostgresEngine } from '../engines/postgres.js';
import { TdengineEngine } from '../engines/tdengine.js';
import type { SetEntry } from '../catalog/sets.js';

export function selectEngines(config: Config, choice: EngineChoice): EngineName[] {
  const configured: EngineName[] = [];
  if (config.postgres) configured.push('postgres');
  if (config.tdengine) configured.push('tdengine');
  if (choice === 'all') {
    if (configured.length === 0) {
      throw new UsageError('engines.none', 'the config defines no database to back up', { hint: 'Add a postgres: and/or tdengine: section to the config file.' });
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

/** The engines whose dumps a set holds. */
export function enginesInSet(set: SetEntry): EngineName[] {
  const m = set.manifest;
  return [...(m?.postgres ? (['postgres'] as const) : []), ...(m?.tdengine ? (['tdengine'] as const) : [])];
}

/**
 * A set holding an engine's dump needs that engine's config section to be restored anywhere.
 * `code` keeps each command's own error code (verify.no_engine_config, restore.no_engine_config).
 */
export function requireSections(config: Config, engines: EngineName[], code: ErrorCode, what: string): void {
  for (const e of engines) {
    if (!config[e]) {
      throw new UsageError(code, `${what} holds a ${e} dump, but the config has no ${e}: section naming the server to restore into`, {
        hint: `Add the ${e}: section to the config file (host, port, database of the server to restore into).`,
      });
    }
  }
}

/** pg_dump/pg_restore, taosdump and TDENGINE_PASSWORD: a UsageError (exit 2) when one is missing. */
export function findEngineTools(config: Config, engines: EngineName[], env: NodeJS.ProcessEnv): void {
  for (const e of engines) {
    if (e === 'postgres' && config.postgres) new PostgresEngine(config.postgres).findTools(env);
    if (e === 'tdengine' && config.tdengine) new TdengineEngine(config.tdengine).findTools(env);
  }
}
