/**
 * Barman's base backups in `list` and `show` (only with a `pitr:` section). Both only read: Barman
 * runs on the config `pitr setup` wrote; a missing Barman or an empty barman_home is one line, not a
 * failed list.
 */
import { existsSync } from 'node:fs';
import { describe, JobError, UsageError } from '../errors.js';
import { listBackups, showBackup, type Barman } from '../engines/barman/barman.js';
import { barmanPaths } from '../engines/barman/conf.js';
import type { PitrConfig } from '../engines/barman/schema.js';
import { recoverableWindow } from '../engines/barman/window.js';
import type { PitrList, PitrShow } from '../report/result.js';
import { formatBytes } from '../shared/format.js';
import type { RunContext } from './context.js';

/** Barman's base backup ids: 20261206T051200. */
export const BASE_BACKUP_ID = /^\d{8}T\d{6}$/;

/** Barman on the config `pitr setup` wrote, or why it cannot be read (that config is missing). */
function readBarman(cfg: PitrConfig, ctx: RunContext): Barman | string {
  const paths = barmanPaths(cfg);
  if (!existsSync(paths.conf)) return `Barman has no config in ${cfg.barman_home} (run \`pgtaos-backup pitr setup\`)`;
  return { cfg, paths, ctx: { log: ctx.log, signal: ctx.signal, env: ctx.env } };
}

/** The pitr part of `list`: never throws for Barman's sake (a cancel still stops it). */
export async function pitrListing(cfg: PitrConfig, ctx: RunContext): Promise<PitrList> {
  const none = (error: string): PitrList => ({ server: cfg.server, barman_home: cfg.barman_home, backups: [], window: { from: null, to: null, text: 'no recoverable window' }, error });
  const b = readBarman(cfg, ctx);
  if (typeof b === 'string') return none(b);
  try {
    const backups = await listBackups(b);
    const w = recoverableWindow(backups, b.paths.home, cfg.server);
    return {
      server: cfg.server,
      barman_home: cfg.barman_home,
      backups: backups.map((x) => ({ id: x.id, status: x.status, ended_at: x.endedAt?.toISOString() ?? null, bytes: x.bytes, wal_bytes: x.walBytes })),
      window: { from: w.from?.toISOString() ?? null, to: w.to?.toISOString() ?? null, text: w.text },
      error: null,
    };
  } catch (err) {
    if (ctx.signal.aborted) throw err;
    return none(describe(err).message);
  }
}

/** The lines under the sets' table. */
export function renderPitrList(p: PitrList): string[] {
  const head = `point-in-time (Barman server ${p.server})`;
  if (p.error) return [head, `  cannot read Barman's base backups: ${p.error}`];
  if (p.backups.length === 0) return [head, '  (no base backups)', `  ${p.window.text}`];
  const cells = p.backups.map((x) => [x.id, x.status, x.ended_at ?? '-', formatBytes(x.bytes), formatBytes(x.wal_bytes)]);
  const hdr = ['BASE BACKUP', 'STATUS', 'ENDED', 'SIZE', 'WAL'];
  const widths = hdr.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => `  ${c.map((v, i) => v.padEnd(widths[i]!)).join('  ')}`.trimEnd();
  return [head, line(hdr), ...cells.map(line), `  ${p.window.text}`];
}

/** `show <BASE_BACKUP_ID>`: that base backup's facts from Barman. */
export async function pitrShow(cfg: PitrConfig | undefined, id: string, ctx: RunContext): Promise<PitrShow> {
  if (!cfg) throw new UsageError('pitr.no_config', `${id} is a Barman base backup id, and the config has no pitr: section`, { hint: 'Set ids look like mystocks_20261125_000003; `pgtaos-backup list` shows them.' });
  const b = readBarman(cfg, ctx);
  if (typeof b === 'string') throw new UsageError('pitr.no_barman_config', b, { hint: 'Run `pgtaos-backup pitr setup` on this runner first; README, Point-in-time recovery.' });
  const d = await showBackup(b, id);
  if (!d) throw new JobError('pitr.unknown_backup', `Barman holds no base backup ${id} for server ${cfg.server}`, { hint: '`pgtaos-backup list` shows the base backups under "point-in-time".' });
  return {
    server: cfg.server,
    id: d.id,
    status: d.status,
    postgresql_version: d.postgresqlVersion,
    pgdata: d.pgdata,
    timeline: d.timeline,
    begin_time: d.beginTime,
    end_time: d.endTime,
    begin_wal: d.beginWal,
    end_wal: d.endWal,
    begin_lsn: d.beginLsn,
    end_lsn: d.endLsn,
    bytes: d.bytes,
    wal_files: d.walFiles,
    wal_bytes: d.walBytes,
    last_wal: d.lastWal,
    previous_backup: d.previous,
    next_backup: d.next,
    retention: d.retention,
  };
}

/** The text `show <BASE_BACKUP_ID>` prints. */
export function renderPitrShow(p: PitrShow): string[] {
  const v = (x: string | number | null) => (x === null ? '-' : String(x));
  const pgv = p.postgresql_version === null ? '-' : `${Math.floor(p.postgresql_version / 10000)}.${p.postgresql_version % 10000} (${p.postgresql_version})`;
  return [
    `base backup ${p.id} (Barman server ${p.server}, ${p.status})`,
    `begin     ${v(p.begin_time)}  LSN ${v(p.begin_lsn)}  WAL ${v(p.begin_wal)}`,
    `end       ${v(p.end_time)}  LSN ${v(p.end_lsn)}  WAL ${v(p.end_wal)}`,
    `timeline  ${v(p.timeline)}`,
    `server    PostgreSQL ${pgv}, data directory ${v(p.pgdata)}`,
    `size      ${p.bytes === null ? '-' : formatBytes(p.bytes)}`,
    `WAL       ${p.wal_files === null ? '-' : `${p.wal_files} files`}, ${p.wal_bytes === null ? '-' : formatBytes(p.wal_bytes)} until the next base backup; last WAL held ${v(p.last_wal)}`,
    `chain     previous ${p.previous_backup ?? '- (the oldest)'}, next ${p.next_backup ?? '- (the newest)'}; retention ${v(p.retention)}`,
  ];
}
