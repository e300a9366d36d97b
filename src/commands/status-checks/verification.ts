/**
 * "last verification": the most recent verification on record (by verified_at) of a scheduled
 * backup of a configured database passed and is younger than staleness.verify_max_age_days.
 */
import { parseInstant, type RetentionInput } from '../../catalog/retention.js';
import { FUTURE_TOLERANCE_MS } from '../../catalog/sets.js';
import { isScheduledBackup } from '../../catalog/labels.js';
import { DAY_MS, named, ofConfiguredDatabase, type StatusCheck, type StatusSet } from './types.js';

type Verification = NonNullable<RetentionInput['verification']>;

export const verificationCheck: StatusCheck = {
  id: 'verification',
  label: 'last verification',
  // A weekly proof that stopped or failed means the backups are not known to be good: stale.
  stale: true,
  evaluate(input, now) {
    const maxDays = input.config.staleness.verify_max_age_days;
    const nowMs = now.getTime();
    // A set dated in the future (clock skew, a copied set) says nothing about today's backups, verified or not.
    const future = (s: StatusSet) => (parseInstant(s.started_at) ?? 0) > nowMs + FUTURE_TOLERANCE_MS;
    const suspicious = input.sets.filter((s) => s.verification !== null && future(s));
    const note = suspicious.length ? `; ${suspicious.length} verified set(s) dated in the future not counted (suspicious: clock skew, or copied from elsewhere?): ${named(suspicious.map((s) => s.id))}` : '';
    const verified = input.sets
      // The scheduled proof is of the scheduled backups: a verified safety or config set, or a set of
      // another database, does not count.
      .filter((s) => s.verification !== null && isScheduledBackup(s.kind) && ofConfiguredDatabase(input, s) && !future(s))
      .map((s) => ({ s, v: s.verification!, at: parseInstant(s.verification!.verified_at) }))
      .filter((x): x is { s: StatusSet; v: Verification; at: number } => x.at !== null && x.at <= nowMs + FUTURE_TOLERANCE_MS)
      .sort((a, b) => b.at - a.at);
    const last = verified[0];
    if (!last) return { result: 'failed', detail: `no verification on record for any set; run \`pgtaos-backup verify\`${note}` };
    const ageDays = Math.max(0, nowMs - last.at) / DAY_MS;
    const fresh = ageDays <= maxDays;
    const passed = last.v.result === 'passed';
    return {
      result: fresh && passed ? 'passed' : 'failed',
      detail: `${last.s.id} verified ${last.v.verified_at}: ${last.v.result}, ${ageDays.toFixed(1)} days ago ${fresh ? '<=' : '>'} ${maxDays} days${note}`,
    };
  },
};
