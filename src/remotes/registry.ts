/**
 * From config to drivers: the drivers by type, the schema of a `remotes:` entry (the driver's own,
 * looked up by `type`), the names remotes go by, and which kinds of set each takes. The built-in
 * drivers are registered by builtin.ts; more can be registered at run time (tests do).
 */
import { z } from 'zod';
import { UsageError } from '../errors.js';
import type { SetKind } from '../catalog/labels.js';
import type { Config } from '../inputs/config-schema.js';
import type { RemoteCommon, RemoteDriver, RemoteEntry, RemoteOpenContext } from './driver.js';
import type { Remote } from './remote.js';

/** A driver with its config type erased, so drivers of different configs share one map. */
interface Registered {
  readonly driver: object;
  readonly type: string;
  readonly secretEnv: readonly string[];
  readonly schema: z.ZodType<RemoteCommon>;
  defaultName(entry: RemoteEntry): string;
  create(entry: RemoteEntry, ctx: RemoteOpenContext): Remote;
}

const drivers = new Map<string, Registered>();

/**
 * Makes a driver known by its type. Registering the same driver again is a no-op; another driver
 * under a type already taken is a bug (two modules claiming `type: path`) and throws.
 */
export function registerRemoteDriver<C extends RemoteCommon>(driver: RemoteDriver<C>): void {
  const had = drivers.get(driver.type);
  if (had) {
    if (had.driver === driver) return;
    throw new Error(`internal: two remote drivers register type ${JSON.stringify(driver.type)}`);
  }
  // Parsed again (not cast) to reach the driver's own type: the entry was validated by this schema at load.
  const own = (entry: RemoteEntry): C => driver.configSchema.parse(entry);
  drivers.set(driver.type, {
    driver,
    type: driver.type,
    secretEnv: driver.secretEnv,
    schema: driver.configSchema,
    defaultName: (entry) => driver.defaultName(own(entry)),
    create: (entry, ctx) => driver.create(own(entry), ctx),
  });
}

/** The registered types, in registration order (built-ins first). */
export function remoteDriverTypes(): string[] {
  return [...drivers.keys()];
}

/** Every registered driver's secret environment variables. */
export function remoteSecretEnv(): string[] {
  return [...new Set([...drivers.values()].flatMap((d) => d.secretEnv))];
}

/** The driver of a parsed entry. A type no driver has is a bug: parsing the config refused it. */
function registered(type: string): Registered {
  const d = drivers.get(type);
  if (!d) throw new Error(`internal: no remote driver for type ${JSON.stringify(type)} (registered: ${remoteDriverTypes().join(', ')})`);
  return d;
}

/**
 * A driver schema's issue, handed on to the enclosing parse (which prefixes its path and drops
 * `input` unless asked for it). Zod types a finished issue's input as optional, a raw one's as the
 * code's own type; the value is the same, so the one assertion here is safe.
 */
const handOn = (iss: z.core.$ZodIssue): z.core.$ZodRawIssue => ({ ...iss, input: iss.input }) as z.core.$ZodRawIssue;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * One `remotes:` entry, checked by the schema of the driver its `type` names, as registered when
 * the config is parsed. Problems read as a discriminated union's would: "expected object", or
 * `type` naming the known types, or the driver schema's own problems at their keys.
 */
export const remoteEntrySchema = z.unknown().transform((input, ctx): RemoteEntry => {
  if (!isObject(input)) {
    ctx.issues.push({ code: 'invalid_type', expected: 'object', input });
    return z.NEVER;
  }
  const type = input.type;
  const d = typeof type === 'string' ? drivers.get(type) : undefined;
  if (!d) {
    ctx.issues.push({ code: 'invalid_union', errors: [], note: 'No matching discriminator', discriminator: 'type', options: remoteDriverTypes(), input: type, path: ['type'] });
    return z.NEVER;
  }
  // reportInput: the outer parse drops inputs again unless it asked for them (a missing key is told by its input).
  const r = d.schema.safeParse(input, { reportInput: true });
  if (!r.success) {
    ctx.issues.push(...r.error.issues.map(handOn));
    return z.NEVER;
  }
  return r.data;
});

/** The remote's `name`, or one made from where it is: `path:/mnt/nas/x`, `s3:bucket/prefix`. */
export function remoteName(r: RemoteEntry): string {
  return r.name ?? registered(r.type).defaultName(r);
}

export type RemoteTakes = { takes: true } | { takes: false; why: string };

/**
 * Does this remote take sets of this kind? Milestones: every remote. Config snapshots: every
 * remote, but only encrypted (they hold .env secrets). Dailies and safety copies: only where the
 * remote's `include` names them. A set holding password hashes (`secret`: PostgreSQL globals kept with
 * postgres.globals_password_hashes) goes, like a config snapshot, only encrypted.
 */
export function remoteTakes(r: RemoteCommon, kind: SetKind, encrypted: boolean, secret = false): RemoteTakes {
  if (secret && !encrypted) return { takes: false, why: 'the set holds role password hashes (postgres.globals_password_hashes) and never leaves the machine unencrypted: encryption.age_recipients is empty' };
  if (kind === 'milestone') return { takes: true };
  if (kind === 'config') {
    return encrypted ? { takes: true } : { takes: false, why: 'config snapshots hold secrets (.env) and never leave the machine unencrypted: encryption.age_recipients is empty' };
  }
  return (r.include ?? []).includes(kind) ? { takes: true } : { takes: false, why: `the remote takes ${kind} sets only with \`include: [${kind}]\`` };
}

/** Refuses two remotes with the same name (records beside sets are keyed by it). */
export function checkRemoteNames(config: Pick<Config, 'remotes'>): void {
  const seen = new Set<string>();
  for (const r of config.remotes) {
    const n = remoteName(r);
    if (seen.has(n)) {
      throw new UsageError('config.remote_name', `two remotes are named ${n}`, { hint: 'Give each remote its own `name:`.' });
    }
    seen.add(n);
  }
}

export interface OpenOptions {
  /** The backup root (config `root`): a path remote with require_mount must not be on its filesystem. */
  backupRoot?: string;
}

/**
 * Builds the driver named by the entry's type. Throws UsageError (exit 2) for what is wrong before
 * any connection (missing keys). Nothing heavy is loaded here.
 */
export function openRemote(r: RemoteEntry, env: NodeJS.ProcessEnv, opts: OpenOptions = {}): Remote {
  return registered(r.type).create(r, { name: remoteName(r), env, ...(opts.backupRoot === undefined ? {} : { backupRoot: opts.backupRoot }) });
}
