/** Which events a run raised, and which trigger makes a `notify:` entry fire. */
import type { NotifyConfig } from '../../inputs/config-schema.js';
import type { Notification, NotifyEvent, RunResult } from '../result.js';

export type Trigger = Notification['trigger'];

export function eventsOf(r: Pick<RunResult, 'status' | 'stale'>): NotifyEvent[] {
  return [r.status === 'success' ? 'success' : 'failure', ...(r.stale.length ? (['stale'] as const) : [])];
}

/** The trigger that makes this entry fire for these events, or null. `stale` is named first: it is the more specific news. */
export function triggerFor(entry: Pick<NotifyConfig, 'on'>, events: readonly NotifyEvent[]): Trigger | null {
  for (const e of ['stale', 'failure', 'success'] as const) if (events.includes(e) && entry.on.includes(e)) return e;
  return entry.on.includes('always') ? 'always' : null;
}
