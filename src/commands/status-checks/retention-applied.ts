/**
 * "retention applied": planRetention has no removal pending that was already due max_age_hours ago
 * (the plan at now - max_age_hours removes it too), so the hours between a set ageing out and the
 * next scheduled prune are not an alarm. keep_last and the newest verified set are protected by the
 * plan itself. Staging leftovers count as pending unless a live run holds the lock (then they are
 * that run's work).
 */
import { planRetention, type Decision } from '../../catalog/retention.js';
import { HOUR_MS, named, type StatusCheck } from './types.js';

export const retentionAppliedCheck: StatusCheck = {
  id: 'retention_applied',
  label: 'retention applied',
  stale: false,
  evaluate(input, now) {
    const graceH = input.config.staleness.max_age_hours;
    const plan = planRetention(input.sets, input.config.retention, now, input.config.timezone);
    const earlier = planRetention(input.sets, input.config.retention, new Date(now.getTime() - graceH * HOUR_MS), input.config.timezone);
    const dueEarlier = new Set(earlier.filter((d) => d.action === 'remove').map((d) => d.path));
    const staging = new Set(input.sets.filter((s) => s.staging).map((s) => s.path));
    const removals = plan.filter((d) => d.action === 'remove');
    const inUse = input.lock ? removals.filter((d) => staging.has(d.path)) : [];
    const pending: Decision[] = removals.filter((d) => (staging.has(d.path) ? !input.lock : dueEarlier.has(d.path)));
    const soon = removals.length - pending.length - inUse.length;
    const kept = plan.length - removals.length;
    const notes = [
      soon > 0 ? `${soon} set(s) aged out within the last ${graceH} h and go at the next prune` : '',
      inUse.length > 0 ? `${inUse.length} staging folder(s) belong to the running ${input.lock!.command} (pid ${input.lock!.pid})` : '',
    ].filter(Boolean);
    if (pending.length === 0) {
      return { result: 'passed', detail: [`nothing overdue: ${kept} set(s) kept by policy`, ...notes].join('; ') };
    }
    return {
      result: 'failed',
      detail: `${pending.length} set(s) should have been removed: ${named(pending.map((d) => `${d.id} (${d.reason})`))}; run \`pgtaos-backup prune\``,
    };
  },
};
