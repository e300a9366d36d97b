/** Recovery targets as a person types them, and the base backup that can reach one. Pure. */
import { JobError, UsageError } from '../../errors.js';
import type { BaseBackup, RecoveryTarget } from './barman.js';

const LSN = /^[0-9A-F]{1,8}\/[0-9A-F]{1,8}$/i;
const TIME = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)\s*(Z|[+-]\d{2}(?::?\d{2})?)$/;

/** `--to`: an LSN (0/3000060) or a time with its offset ("2026-12-05 14:36:00+08"). */
export function parseTarget(text: string): RecoveryTarget {
  const t = text.trim();
  if (LSN.test(t)) return { kind: 'lsn', lsn: t.toUpperCase(), at: null };
  const m = TIME.exec(t);
  const bad = () =>
    new UsageError('pitr.bad_target', `--to ${JSON.stringify(text)} is neither a time with its UTC offset nor an LSN`, {
      hint: 'Write the time with its offset, e.g. --to "2026-12-05 14:36:00+08" (or Z for UTC), or an LSN such as 0/3000060.',
    });
  if (!m) throw bad();
  let off = m[3]!;
  if (off !== 'Z') off = off.length === 3 ? `${off}:00` : off.includes(':') ? off : `${off.slice(0, 3)}:${off.slice(3)}`;
  const at = new Date(`${m[1]}T${m[2]}${off}`);
  if (Number.isNaN(at.getTime())) throw bad();
  return { kind: 'time', at, text: `${at.toISOString().replace('T', ' ').replace('Z', '')}+00` };
}

export function describeTarget(t: RecoveryTarget): string {
  return t.kind === 'time' ? `time ${t.at.toISOString()}` : `LSN ${t.lsn}${t.at ? ` (${t.at.toISOString()})` : ''}`;
}

/**
 * The newest finished base backup that ended before the target (a recovery replays forward only).
 * An LSN target without a time takes the newest backup.
 */
export function pickBackup(backups: BaseBackup[], target: RecoveryTarget): BaseBackup {
  const done = backups.filter((b) => b.status === 'DONE');
  if (done.length === 0) {
    throw new JobError('pitr.no_backup', 'Barman holds no finished base backup', { hint: 'Run `pgtaos-backup pitr backup` (the nightly workflow does) and try again.' });
  }
  const at = target.at;
  if (!at) return done[0]!;
  const fit = done.find((b) => b.endedAt !== null && b.endedAt.getTime() < at.getTime());
  if (!fit) {
    const oldest = done[done.length - 1]!;
    throw new JobError('pitr.before_window', `${describeTarget(target)} lies before the oldest base backup (${oldest.id}, ended ${oldest.endedAt?.toISOString() ?? 'unknown'}): it cannot be recovered`, {
      hint: 'Pick a time inside the recoverable window (`pgtaos-backup status` shows it).',
    });
  }
  return fit;
}
