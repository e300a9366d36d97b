/**
 * Point-in-time recovery through Barman (README, Point-in-time recovery): `pitr setup`, `pitr backup`,
 * `verify --pitr` (the weekly proof) and `restore --pitr` (emergency). Orchestration only: Barman and
 * the throwaway postmaster are run by src/engines/barman/.
 */
import path from 'node:path';
import { UsageError } from '../errors.js';
import { barmanPaths, pitrPassword, writeBarmanFiles } from '../engines/barman/conf.js';
import { baseBackup, createSlot, cron, dropUnfinished, listBackups, switchWal, type Barman, type RecoveryTarget } from '../engines/barman/barman.js';
import { barmanCheckRows, emergencyRecover, proveRecovery, type Expected } from '../engines/barman/recover.js';
import { describeTarget, parseTarget } from '../engines/barman/target.js';
import { baseBackupDue } from '../engines/barman/schedule.js';
import type { PitrConfig } from '../engines/barman/schema.js';
import { listSets } from '../catalog/sets.js';
import type { Check, CommandOutcome } from '../report/result.js';
import type { PrepareContext, RunContext } from './context.js';
import { dbaSteps, emergencySteps, recoverableWindow } from './pitr-text.js';

function pitrConfig(config: { pitr?: PitrConfig | undefined }): PitrConfig {
  if (!config.pitr) throw new UsageError('pitr.no_config', 'the config has no pitr: section', { hint: 'Add pitr: (barman_home, host, ...); README, Point-in-time recovery.' });
  return config.pitr;
}

/** Before anything is created: the section, the password, and for recoveries a user PostgreSQL runs as. */
export function preparePitr(p: PrepareContext): void {
  pitrConfig(p.config);
  pitrPassword(p.env);
  const recovers = p.request.command === 'verify' || p.request.command === 'restore';
  if (recovers && process.getuid?.() === 0) {
    throw new UsageError('pitr.as_root', 'a recovery cannot run as root: PostgreSQL refuses to start as root', { hint: 'Run it as the runner user that owns barman_home (Barman runs as that user too).' });
  }
  if (p.request.to !== undefined) parseTarget(p.request.to);
  if (p.request.command === 'restore' && (!p.request.to || !p.request.into)) {
    throw new UsageError('pitr.no_into', 'restore --pitr needs --to <time|LSN> and --into <folder>', { hint: 'e.g. restore --pitr --to "2026-12-05 14:36:00+08" --into /srv/recovered' });
  }
}

async function openBarman(ctx: RunContext): Promise<Barman> {
  const cfg = pitrConfig(ctx.config);
  await writeBarmanFiles(cfg, pitrPassword(ctx.env));
  return { cfg, paths: barmanPaths(cfg), ctx: { log: ctx.log, signal: ctx.signal, env: ctx.env } };
}

export async function pitrSetup(ctx: RunContext): Promise<CommandOutcome> {
  const b = await openBarman(ctx);
  for (const line of dbaSteps(b.cfg)) ctx.log.info(line);
  const slot = await createSlot(b);
  await cron(b);
  // The first segment through the slot: barman check's "WAL archive" fails until one has arrived.
  await switchWal(b);
  const checks: Check[] = [{ name: 'replication slot', result: 'passed', detail: `slot ${b.cfg.slot} ${slot} on ${b.cfg.host}:${b.cfg.port}` }, ...(await barmanCheckRows(b))];
  const failed = checks.some((c) => c.result === 'failed');
  return { message: failed ? `pitr setup: barman check FAILED: ${checks.filter((c) => c.result === 'failed').map((c) => c.detail).join('; ')}` : `pitr setup done: Barman config in ${b.paths.conf}, slot ${b.cfg.slot}, receiver started`, failed, checks };
}

export async function pitrBackup(ctx: RunContext): Promise<CommandOutcome> {
  const b = await openBarman(ctx);
  await cron(b); // the receiver too: a base backup without the WAL after it recovers to nothing later
  const backups = await listBackups(b);
  const due = ctx.request.force ? { due: true, why: '--force' } : baseBackupDue(backups, ctx.now(), b.cfg.base_backup_every_days, ctx.config.timezone);
  let base: Check;
  if (due.due) {
    ctx.log.info(`taking a base backup: ${due.why}`);
    const before = new Set(backups.map((x) => x.id));
    let id: string;
    try {
      id = await baseBackup(b);
    } catch (err) {
      // A cut or failed backup leaves a FAILED entry that fails `barman check`, so every later proof too.
      for (const gone of await dropUnfinished(b, before)) ctx.log.info(`deleted the unfinished base backup ${gone}; earlier base backups are untouched`);
      throw err;
    }
    base = { name: 'pitr base backup', result: 'passed', detail: `base backup ${id}` };
  } else {
    ctx.log.info(`no base backup tonight: ${due.why}; the WAL receiver is running`);
    base = { name: 'pitr base backup', result: 'skipped', detail: `not due: ${due.why}` };
  }
  const window = recoverableWindow(await listBackups(b), b.paths.home, b.cfg.server);
  const checks: Check[] = [base, { name: 'pitr recoverable window', result: window.from ? 'passed' : 'failed', detail: window.text }];
  const what = base.result === 'passed' ? `pitr backup: ${base.detail} done` : `pitr backup: no base backup (${due.why})`;
  return { message: `${what}; ${window.text}`, checks, failed: !window.from };
}

/** The default target: the restore point the newest nightly PostgreSQL dump recorded, and that set's counts. */
async function nightlyTarget(ctx: RunContext): Promise<{ target: RecoveryTarget; expected: Expected }> {
  const sets = await listSets(ctx.config.root);
  for (const s of sets) {
    const pg = s.status === 'complete' && (s.kind === 'daily' || s.kind === 'milestone') ? s.manifest?.postgres : undefined;
    if (!pg?.wal) continue;
    return {
      target: { kind: 'lsn', lsn: pg.wal.lsn, at: new Date(pg.wal.at) },
      expected: { setId: s.id, database: pg.database, tables: pg.tables.map((t) => ({ name: t.name, rows: t.rows })) },
    };
  }
  throw new UsageError('pitr.no_target', 'no --to given and no nightly PostgreSQL set recorded a restore point', { hint: 'Give --to "<time with offset>" or an LSN, or run the nightly backup first (it records one).' });
}

export async function pitrVerify(ctx: RunContext): Promise<CommandOutcome> {
  const { target, expected } = ctx.request.to ? { target: parseTarget(ctx.request.to), expected: null } : await nightlyTarget(ctx);
  const b = await openBarman(ctx);
  ctx.log.info(`weekly proof: recovering to ${describeTarget(target)}${expected ? ` (restore point of set ${expected.setId})` : ''}`);
  const proof = await proveRecovery(b, target, expected);
  for (const c of proof.checks) (c.result === 'failed' ? ctx.log.error : ctx.log.info).call(ctx.log, c.detail);
  const bad = proof.checks.filter((c) => c.result === 'failed');
  return {
    message: bad.length ? `point-in-time recovery to ${describeTarget(target)} FAILED: ${bad.map((c) => c.detail).join('; ')}` : `point-in-time recovery to ${describeTarget(target)} proven: base backup ${proof.backupId}, ${proof.counts.map((c) => `${c.database} ${c.tables.length} tables`).join(', ')}`,
    failed: bad.length > 0,
    checks: proof.checks,
  };
}

export async function pitrRestore(ctx: RunContext): Promise<CommandOutcome> {
  const target = parseTarget(ctx.request.to!);
  const b = await openBarman(ctx);
  const r = await emergencyRecover(b, target, path.resolve(ctx.request.into!), ctx.request.startOn ?? null);
  for (const line of emergencySteps(r, b.cfg)) ctx.log.info(line);
  const checks: Check[] = [{ name: 'pitr recovery', result: 'passed', detail: `base backup ${r.backupId} recovered to ${describeTarget(target)} into ${r.into}${r.stopping ? `: ${r.stopping}` : ''}` }];
  for (const c of r.counts) checks.push({ name: `pitr counts ${c.database}`, result: 'passed', detail: `${c.database}: ${c.tables.map((t) => `${t.name} ${t.rows}`).join(', ') || 'no tables'}` });
  return { message: `recovered to ${describeTarget(target)} into ${r.into}${r.started ? `, running on 127.0.0.1:${r.started.port}` : ''}; the steps to put it in place are in the log`, checks };
}
