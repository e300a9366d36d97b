/**
 * Barman's commands, run as the tool's own user with the config the tool wrote (conf.ts): argv arrays,
 * no shell, no password anywhere but the 0600 .pgpass. Only this folder runs barman.
 */
import { JobError, UsageError } from '../../errors.js';
import type { EngineContext } from '../engine.js';
import { childEnv } from '../engine.js';
import { readTool, runTool } from '../exec.js';
import type { BarmanPaths } from './conf.js';
import type { PitrConfig } from './schema.js';
import { nudgeWal } from './sql.js';

export interface BarmanRun {
  code: number | null;
  out: string[];
  err: string[];
  cancelled: boolean;
}

export interface Barman {
  cfg: PitrConfig;
  paths: BarmanPaths;
  ctx: EngineContext;
}

export const BARMAN_HINT = 'Install Barman on the runner host (Debian/Ubuntu: apt install barman); see README, Point-in-time recovery.';

/**
 * Runs `barman -c <conf> args...`; lines go to the run log as they come (quiet: only kept; onLine:
 * each line, stdout or stderr, as it comes). cleanup: runs even when the run is being cancelled
 * (removing what a cut command left).
 */
export async function barman(b: Barman, args: string[], opts: { quiet?: boolean; cleanup?: boolean; onLine?: (line: string) => void } = {}): Promise<BarmanRun> {
  const out: string[] = [];
  const err: string[] = [];
  const r = await runTool({
    file: 'barman',
    args: ['-c', b.paths.conf, ...args],
    env: childEnv(b.ctx.env, { HOME: b.paths.home }),
    ...(opts.cleanup ? {} : { signal: b.ctx.signal }),
    onStdout: (l) => {
      out.push(l);
      opts.onLine?.(l);
      if (!opts.quiet && l.trim()) b.ctx.log.info(`barman: ${l.trim()}`);
    },
    onStderr: (l) => {
      err.push(l);
      opts.onLine?.(l);
      if (l.trim()) b.ctx.log.warn(`barman: ${l.trim()}`);
    },
  });
  if (r.cancelled) throw b.ctx.signal.reason;
  if (r.spawnError) throw new UsageError('pitr.no_barman', `barman cannot be started: ${r.spawnError}`, { hint: BARMAN_HINT });
  return { code: r.exitCode, out, err, cancelled: r.cancelled };
}

function failed(what: string, r: BarmanRun): JobError {
  const lines = [...r.err, ...r.out].map((l) => l.trim()).filter((l) => /error|fail|fatal|cannot|could not/i.test(l)).slice(-5);
  return new JobError('pitr.barman_failed', `barman ${what} failed (exit ${r.code})${lines.length ? `: ${lines.join(' | ')}` : ''}`, {
    hint: `Read ${'barman.log'} in barman_home and run \`barman -c <barman_home>/barman.conf check <server>\`.`,
  });
}

/** Creates the replication slot; one that already exists is fine. */
export async function createSlot(b: Barman): Promise<'created' | 'existed'> {
  const r = await barman(b, ['receive-wal', '--create-slot', b.cfg.server]);
  if (r.code === 0) return 'created';
  if ([...r.out, ...r.err].some((l) => /already exists/i.test(l))) return 'existed';
  throw failed('receive-wal --create-slot', r);
}

/** `barman cron`: starts the WAL receiver (pg_receivewal through the slot) when it is not running. */
export async function cron(b: Barman): Promise<void> {
  const r = await barman(b, ['cron']);
  if (r.code !== 0) throw failed('cron', r);
}

export interface CheckLine {
  name: string;
  ok: boolean;
  detail: string;
}

/** Pure: `barman check`'s lines ("\tname: OK (detail)" / "\tname: FAILED (detail)"). */
export function parseCheck(lines: string[]): CheckLine[] {
  const out: CheckLine[] = [];
  for (const l of lines) {
    const m = /^\s+(.+?): (OK|FAILED)\b\s*(.*)$/.exec(l);
    if (m) out.push({ name: m[1]!, ok: m[2] === 'OK', detail: m[3]!.replace(/^\((.*)\)$/, '$1') });
  }
  return out;
}

export async function check(b: Barman): Promise<CheckLine[]> {
  const r = await barman(b, ['check', b.cfg.server], { quiet: true });
  const lines = parseCheck(r.out);
  if (lines.length === 0) throw failed('check', r);
  return lines;
}

/**
 * Closes the current WAL segment on the server and waits until Barman has it. Once barman says the
 * segment is closed, nudgeWal (sql.ts) writes the record that lets Barman archive it, instead of
 * waiting for the server's next one (15-25 s on an idle server, or past the timeout).
 */
export async function switchWal(b: Barman): Promise<void> {
  let nudged: Promise<void> | null = null;
  const nudge = (l: string) => {
    if (nudged || !/has been closed on server/.test(l)) return;
    nudged = nudgeWal(b).catch((e: unknown) => b.ctx.log.warn(`could not write the WAL record that lets Barman archive the closed segment (${(e as Error).message}); waiting for the server's next one`));
  };
  const r = await barman(b, ['switch-wal', '--force', '--archive', '--archive-timeout', String(b.cfg.archive_timeout_seconds), b.cfg.server], { onLine: nudge });
  await nudged;
  if (r.code !== 0) throw failed('switch-wal', r);
}

/** Takes a base backup (pg_basebackup) and waits for the WAL that makes it consistent. Returns its id. */
export async function baseBackup(b: Barman): Promise<string> {
  const r = await barman(b, ['backup', '--wait', b.cfg.server]);
  if (r.code !== 0) throw failed('backup', r);
  const id = r.out.map((l) => /\/base\/(\d{8}T\d{6})/.exec(l)?.[1]).find(Boolean);
  return id ?? (await listBackups(b))[0]?.id ?? 'unknown';
}

/**
 * Deletes the base backups a cut or failed `barman backup` left (not DONE, not among `before`): a
 * FAILED one fails `barman check` ("failed backups"), and with it every weekly proof after. Runs
 * while the run is being cancelled too; never throws. Returns the ids deleted.
 */
export async function dropUnfinished(b: Barman, before: ReadonlySet<string>): Promise<string[]> {
  const dropped: string[] = [];
  try {
    for (const x of await listBackups(b, { cleanup: true })) {
      if (before.has(x.id) || x.status === 'DONE') continue;
      const r = await barman(b, ['delete', b.cfg.server, x.id], { quiet: true, cleanup: true });
      if (r.code === 0) dropped.push(x.id);
      else b.ctx.log.warn(`could not delete the unfinished base backup ${x.id} (barman delete exit ${r.code}); delete it with \`barman -c ${b.paths.conf} delete ${b.cfg.server} ${x.id}\``);
    }
  } catch (err) {
    b.ctx.log.warn(`could not look for an unfinished base backup to delete: ${(err as Error).message}`);
  }
  return dropped;
}

export interface BaseBackup {
  id: string;
  status: string;
  /** When the backup ended: recovery to a point needs a backup that ended before it. */
  endedAt: Date | null;
  bytes: number;
  walBytes: number;
}

/** Pure: `barman -f json list-backups`, newest first. */
export function parseBackups(json: string, server: string): BaseBackup[] {
  const data = JSON.parse(json) as Record<string, { backup_id: string; status: string; end_time_timestamp?: string; size_bytes?: number; wal_size_bytes?: number }[]>;
  return (data[server] ?? []).map((e) => ({
    id: e.backup_id,
    status: e.status,
    endedAt: e.end_time_timestamp ? new Date(Number(e.end_time_timestamp) * 1000) : null,
    bytes: e.size_bytes ?? 0,
    walBytes: e.wal_size_bytes ?? 0,
  })).sort((a, c) => c.id.localeCompare(a.id));
}

export async function listBackups(b: Barman, opts: { cleanup?: boolean } = {}): Promise<BaseBackup[]> {
  const r = await barman(b, ['-f', 'json', 'list-backups', b.cfg.server], { quiet: true, ...opts });
  if (r.code !== 0) throw failed('list-backups', r);
  return parseBackups(r.out.join('\n') || '{}', b.cfg.server);
}

export type RecoveryTarget = { kind: 'time'; at: Date; text: string } | { kind: 'lsn'; lsn: string; at: Date | null };

/** `barman recover` into `dest`: the base backup, the WAL up to the target, and a recovery that promotes there. */
export async function recover(b: Barman, backupId: string, target: RecoveryTarget, dest: string): Promise<void> {
  const t = target.kind === 'time' ? ['--target-time', target.text] : ['--target-lsn', target.lsn];
  const r = await barman(b, ['recover', ...t, '--target-action', 'promote', b.cfg.server, backupId, dest]);
  if (r.code !== 0) throw failed(`recover of base backup ${backupId}`, r);
}

export interface BackupDetail {
  id: string;
  status: string;
  postgresqlVersion: number | null;
  pgdata: string | null;
  timeline: number | null;
  beginTime: string | null;
  endTime: string | null;
  beginWal: string | null;
  endWal: string | null;
  beginLsn: string | null;
  endLsn: string | null;
  bytes: number | null;
  walFiles: number | null;
  walBytes: number | null;
  lastWal: string | null;
  previous: string | null;
  next: string | null;
  retention: string | null;
}

/** Pure: `barman -f json show-backup`'s object for the server; null when it names no backup. */
export function parseShowBackup(json: string, server: string): BackupDetail | null {
  type Obj = Record<string, unknown>;
  const data = JSON.parse(json) as Record<string, Obj | undefined>;
  const o = data[server];
  if (!o || typeof o.backup_id !== 'string') return null;
  const sub = (k: string): Obj => (typeof o[k] === 'object' && o[k] !== null ? (o[k] as Obj) : {});
  const base = sub('base_backup_information');
  const wal = sub('wal_information');
  const cat = sub('catalog_information');
  const s = (v: unknown): string | null => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : null);
  const n = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? Math.round(v) : null);
  // Barman writes "- (this is the oldest base backup)" where there is none.
  const link = (v: unknown): string | null => (typeof v === 'string' && /^\d{8}T\d{6}$/.test(v) ? v : null);
  return {
    id: o.backup_id,
    status: s(o.status) ?? 'UNKNOWN',
    postgresqlVersion: n(o.postgresql_version),
    pgdata: s(o.pgdata_directory),
    timeline: n(base.timeline),
    beginTime: s(base.begin_time),
    endTime: s(base.end_time),
    beginWal: s(base.begin_wal),
    endWal: s(base.end_wal),
    beginLsn: s(base.begin_lsn),
    endLsn: s(base.end_lsn),
    bytes: n(base.disk_usage_bytes),
    walFiles: n(wal.no_of_files),
    walBytes: n(wal.disk_usage_bytes),
    lastWal: s(wal.last_available),
    previous: link(cat.previous_backup),
    next: link(cat.next_backup),
    retention: s(cat.retention_policy),
  };
}

/** One base backup's facts (`barman show-backup`); null when Barman holds no backup of that id. */
export async function showBackup(b: Barman, id: string): Promise<BackupDetail | null> {
  const r = await barman(b, ['-f', 'json', 'show-backup', b.cfg.server, id], { quiet: true });
  if (r.code !== 0) {
    if ([...r.out, ...r.err].some((l) => /unknown backup/i.test(l))) return null;
    throw failed('show-backup', r);
  }
  return parseShowBackup(r.out.join('\n') || '{}', b.cfg.server);
}

/** `barman --version`: its version, or why it cannot be run (check's row; nothing else is needed). */
export async function barmanVersion(env: NodeJS.ProcessEnv): Promise<{ version: string } | { error: string }> {
  const r = await readTool('barman', ['--version'], childEnv(env, {}));
  if (!r.ok) return { error: r.err.trim() || r.out.trim() || 'no output' };
  return { version: /\d+\.\d+(\.\d+)?/.exec(r.out)?.[0] ?? r.out.trim() };
}
