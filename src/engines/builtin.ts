/**
 * The built-in engines, registered on import, in the order every list, loop and report uses:
 * PostgreSQL, then TDengine. Modules that need the registry filled import this one.
 */
import { registerEngine } from './registry.js';
import { postgresPlugin } from './postgres/plugin.js';
import { tdenginePlugin } from './tdengine/plugin.js';

registerEngine(postgresPlugin);
registerEngine(tdenginePlugin);
