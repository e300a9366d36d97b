/**
 * What a status check is, and the facts every check reads. A check is pure: it gets the facts the
 * command gathered and the time, and returns its verdict; it never touches the disk.
 */
import type { Config } from '../../inputs/config-schema.js';
import type { RetentionInput } from '../../catalog/retention.js';
import type { Check } from '../../report/result.js';
import type { PitrFacts } from '../../engines/barman/probe.js';

export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;
const MAX_NAMED = 10;

export interface RunLogInfo {
  file: string;
  command: string;
  mtimeMs: number;
}

export interface RunLogRead extends RunLogInfo {
  /** The text of each ERROR line (without time stamp and level). */
  errors: string[];
}

/** A set as status sees it: the retention facts, and which database each engine's dump holds (keyed by engine name). */
export interface StatusSet extends RetentionInput {
  databases: Record<string, string>;
}

/** An engine status has a backup row for: its name (config section and manifest section) and how messages call it. */
export interface StatusEngine {
  name: string;
  label: string;
  /**
   * The database the config names for it, as the engine reads its own section (an engine may name
   * it otherwise than `database:`); when absent, the section's `database:` key.
   */
  database?: string | null;
}

export interface StatusInput {
  config: Pick<Config, 'root' | 'postgres' | 'tdengine' | 'min_free_gb' | 'staleness' | 'retention' | 'timezone'> & { pitr?: Config['pitr'] };
  /** The engines that get a backup row, in row order. */
  engines: readonly StatusEngine[];
  sets: StatusSet[];
  /** The logs selectRunLogs chose, read. */
  logs: RunLogRead[];
  free: { bytes: number } | { error: string };
  /** The run holding the root's lock, when it is alive. */
  lock: { command: string; pid: number; hostname: string; started_at: string } | null;
  /** What Barman holds and the slot's lag, probed when the config has a `pitr:` section (the pitr rows read it). */
  pitr?: PitrFacts;
}

/** A check's verdict: the row without its name (the definition names it). */
export type CheckVerdict = Omit<Check, 'name'>;

/** One row of the checklist. */
export interface StatusCheck {
  /** Stable key for code and tests (the label is what people and reports see). */
  id: string;
  /** The row's name in the log, the report and notifications. */
  label: string;
  /** A failure of this row means the backups are stale: `notify:` entries with `on: [stale]` hear of it. */
  stale: boolean;
  evaluate(input: StatusInput, now: Date): CheckVerdict;
}

/** The database the config names for an engine, or undefined when the engine has no section there. */
export function configuredDatabase(config: StatusInput['config'], engine: string | StatusEngine): string | undefined {
  if (typeof engine !== 'string' && engine.database !== undefined) return engine.database ?? undefined;
  const section: unknown = (config as Record<string, unknown>)[typeof engine === 'string' ? engine : engine.name];
  if (typeof section !== 'object' || section === null || !('database' in section)) return undefined;
  return typeof section.database === 'string' ? section.database : undefined;
}

/** The set holds a dump of a database the config names for one of the engines. */
export function ofConfiguredDatabase(input: StatusInput, s: StatusSet): boolean {
  return input.engines.some((e) => {
    const db = configuredDatabase(input.config, e);
    return db !== undefined && s.databases[e.name] === db;
  });
}

export function hours(ms: number): string {
  return `${(Math.max(0, ms) / HOUR_MS).toFixed(1)} h`;
}

export function named(items: string[]): string {
  return items.length > MAX_NAMED ? `${items.slice(0, MAX_NAMED).join(', ')} and ${items.length - MAX_NAMED} more` : items.join(', ');
}
