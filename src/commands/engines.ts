/** Which engines a run uses: the --engines choice against what the config defines. */
import { UsageError } from '../errors.js';
import type { Config } from '../inputs/config-schema.js';
import type { EngineChoice } from '../inputs/options.js';
import type { EngineName } from '../engines/engine.js';

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
      hint: `Add a ${choice}: section to the config, or choose one of: ${[...configured, 'all'].join(', ')}.`,
    });
  }
  return [choice];
}
