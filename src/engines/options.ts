/**
 * The built-in engines' rows of the options table: the flags/inputs that override their config
 * sections and the secret inputs the action hands on as environment variables. A leaf module (no
 * imports), so the options table (inputs/options.ts) and action.yml are built from it statically:
 * action.yml is a fixed file, so an engine registered at run time adds no inputs.
 */

/** A flag and action input that overrides one config key. */
export interface OverrideSpec {
  readonly input: string;
  readonly flag: string;
  readonly path: readonly string[];
  readonly type: 'string' | 'int';
  readonly description: string;
}

/** An action input whose value becomes an environment variable a tool reads (masked). */
export interface SecretInputSpec {
  readonly input: string;
  readonly env: string;
  readonly description: string;
}

export interface BuiltinOptions {
  readonly name: string;
  readonly overrides: readonly OverrideSpec[];
  readonly secretInputs: readonly SecretInputSpec[];
}

export const POSTGRES_OPTIONS: BuiltinOptions = {
  name: 'postgres',
  overrides: [
    { input: 'postgres-host', flag: 'postgres-host', path: ['postgres', 'host'], type: 'string', description: 'PostgreSQL host (overrides `postgres.host`).' },
    { input: 'postgres-port', flag: 'postgres-port', path: ['postgres', 'port'], type: 'int', description: 'PostgreSQL port (overrides `postgres.port`).' },
    { input: 'postgres-database', flag: 'postgres-database', path: ['postgres', 'database'], type: 'string', description: 'PostgreSQL database (overrides `postgres.database`).' },
    { input: 'postgres-user', flag: 'postgres-user', path: ['postgres', 'user'], type: 'string', description: 'PostgreSQL user (overrides `postgres.user`).' },
  ],
  secretInputs: [{ input: 'postgres-password', env: 'PGPASSWORD', description: 'PostgreSQL password (passed to pg_dump/pg_restore as PGPASSWORD; masked).' }],
};

export const TDENGINE_OPTIONS: BuiltinOptions = {
  name: 'tdengine',
  overrides: [
    { input: 'tdengine-host', flag: 'tdengine-host', path: ['tdengine', 'host'], type: 'string', description: 'TDengine host (overrides `tdengine.host`).' },
    { input: 'tdengine-database', flag: 'tdengine-database', path: ['tdengine', 'database'], type: 'string', description: 'TDengine database (overrides `tdengine.database`).' },
  ],
  secretInputs: [{ input: 'tdengine-password', env: 'TDENGINE_PASSWORD', description: 'TDengine password (given to taosdump on stdin; masked).' }],
};

/** In the registry's order (builtin.ts registers the same engines in the same order). */
export const BUILTIN_OPTIONS: readonly BuiltinOptions[] = [POSTGRES_OPTIONS, TDENGINE_OPTIONS];
