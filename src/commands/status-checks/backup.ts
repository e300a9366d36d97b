/**
 * "<engine> backup": the newest complete daily or milestone set holding a dump of that engine's
 * configured database is younger than staleness.max_age_hours. Safety sets (taken by restore, of
 * whatever database it replaced) and dumps of other databases are not counted, or a restore would
 * reset the clock of a nightly that stopped. Skipped when the engine is not configured. Sets dated
 * more than 5 minutes in the future (clock skew) are not counted, so a bad clock cannot hide that
 * backups stopped.
 */
import { parseInstant } from '../../catalog/retention.js';
import { FUTURE_TOLERANCE_MS } from '../../catalog/sets.js';
import { isScheduledBackup } from '../../catalog/labels.js';
import { HOUR_MS, configuredDatabase, hours, named, type CheckVerdict, type StatusCheck, type StatusEngine, type StatusInput, type StatusSet } from './types.js';

function evaluate(input: StatusInput, engine: StatusEngine, now: Date): CheckVerdict {
  const { name, label } = engine;
  const database = configuredDatabase(input.config, engine);
  if (database === undefined) return { result: 'skipped', detail: `no ${name}: section in the config` };
  const max = input.config.staleness.max_age_hours;
  const nowMs = now.getTime();
  const holding = input.sets.filter((s) => s.status === 'complete' && !s.staging && (s.engines as readonly string[]).includes(name));
  const counted = holding.filter((s) => isScheduledBackup(s.kind) && s.databases[name] === database);
  const safety = holding.filter((s) => s.kind === 'safety').length;
  const otherDbs = [...new Set(holding.filter((s) => isScheduledBackup(s.kind) && s.databases[name] !== database).map((s) => s.databases[name] ?? '?'))];
  const dated = counted.map((s) => ({ s, at: parseInstant(s.started_at) })).filter((x): x is { s: StatusSet; at: number } => x.at !== null);
  const future = dated.filter((x) => x.at > nowMs + FUTURE_TOLERANCE_MS);
  const notes = [
    future.length ? `${future.length} set(s) dated in the future not counted (clock skew?): ${named(future.map((x) => x.s.id))}` : '',
    safety ? `${safety} safety set(s) not counted (restore takes them; they are not the scheduled backups)` : '',
    otherDbs.length ? `sets of ${named(otherDbs)} not counted (the configured database is ${database})` : '',
  ].filter(Boolean);
  const note = notes.map((n) => `; ${n}`).join('');
  const usable = dated.filter((x) => x.at <= nowMs + FUTURE_TOLERANCE_MS).sort((a, b) => b.at - a.at);
  const newest = usable[0];
  if (!newest) return { result: 'failed', detail: `no complete daily or milestone set holds a ${label} dump of ${database}${note}` };
  const age = nowMs - newest.at;
  const ok = age <= max * HOUR_MS;
  return {
    result: ok ? 'passed' : 'failed',
    detail: `newest: ${newest.s.id} (${newest.s.kind}), started ${newest.s.started_at}, ${hours(age)} old ${ok ? '<=' : '>'} ${max} h; ${usable.length} complete set(s) hold a ${label} dump of ${database}${note}`,
  };
}

/** One backup row per engine: backups that stopped are what staleness means. */
export function backupCheck(engine: StatusEngine): StatusCheck {
  return { id: `backup.${engine.name}`, label: `${engine.name} backup`, stale: true, evaluate: (input, now) => evaluate(input, engine, now) };
}
