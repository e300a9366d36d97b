/**
 * Recovering to a point: the weekly proof (into a scratch folder that is always removed) and the
 * emergency recovery (into a folder a person names, optionally started on loopback).
 */
import { promises as fs } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { JobError, UsageError } from '../../errors.js';
import type { Check } from '../../report/result.js';
import { countDatabase } from '../postgres/counts.js';
import { check, listBackups, recover, switchWal, type Barman, type RecoveryTarget } from './barman.js';
import { connectLocal, listDatabases, preparePostmaster, startPostmaster, stopPostmaster, type Postmaster } from './postmaster.js';
import { describeTarget, pickBackup } from './target.js';

export interface Expected {
  /** The set the target was recorded by, and its database's counts. */
  setId: string;
  database: string;
  tables: { name: string; rows: number }[];
}

export interface RecoveredCounts {
  database: string;
  tables: { name: string; rows: number }[];
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** Barman's own checks as rows: each FAILED one is a failed check (a stopped receiver among them). */
export async function barmanCheckRows(b: Barman): Promise<Check[]> {
  const lines = await check(b);
  const failedLines = lines.filter((l) => !l.ok);
  return failedLines.length === 0
    ? [{ name: 'barman check', result: 'passed', detail: `barman check: all ${lines.length} checks OK` }]
    : failedLines.map((l) => ({ name: `barman check: ${l.name}`, result: 'failed', detail: `barman check: ${l.name} FAILED${l.detail ? ` (${l.detail})` : ''}${l.name.startsWith('receive-wal') ? ': the WAL receiver is not running, so WAL since it stopped is not being kept' : ''}` }));
}

/** Recovers the base backup before `target` into `dest` (which must not exist) and returns the backup id. */
async function recoverInto(b: Barman, target: RecoveryTarget, dest: string): Promise<string> {
  const backup = pickBackup(await listBackups(b), target);
  b.ctx.log.info(`recovering base backup ${backup.id} to ${describeTarget(target)} into ${dest}`);
  await recover(b, backup.id, target, dest);
  return backup.id;
}

async function countAll(pm: Postmaster, b: Barman, only: string | null): Promise<RecoveredCounts[]> {
  const dbs = only ? [only] : await listDatabases(pm, b.cfg.user);
  const out: RecoveredCounts[] = [];
  for (const database of dbs) {
    const counted = await countDatabase(connectLocal(pm, b.cfg.user, database), b.ctx);
    out.push({ database, tables: counted.tables.map((t) => ({ name: t.name, rows: t.rows })) });
  }
  return out;
}

/** Pure: the recovered counts against the set's, each difference named as what it is. */
export function compareCounts(expected: Expected, got: RecoveredCounts, target: RecoveryTarget): Check[] {
  const have = new Map(got.tables.map((t) => [t.name, t.rows]));
  const diffs: string[] = [];
  for (const t of expected.tables) {
    const n = have.get(t.name);
    if (n === undefined) diffs.push(`${t.name}: missing after recovery (set ${expected.setId} has ${t.rows} rows)`);
    else if (n !== t.rows) diffs.push(`${t.name}: ${n} rows recovered, ${t.rows} in set ${expected.setId} (${n - t.rows > 0 ? '+' : ''}${n - t.rows}: rows written between the dump's snapshot and its restore point at ${describeTarget(target)}, or lost)`);
  }
  const extra = got.tables.filter((t) => !expected.tables.some((e) => e.name === t.name));
  for (const t of extra) diffs.push(`${t.name}: ${t.rows} rows recovered, not in set ${expected.setId} (created between the dump's snapshot and its restore point)`);
  if (diffs.length === 0) return [{ name: `pitr counts ${expected.database}`, result: 'passed', detail: `all ${expected.tables.length} tables of ${expected.database} match set ${expected.setId} at ${describeTarget(target)}` }];
  return [{ name: `pitr counts ${expected.database}`, result: 'failed', detail: `recovered ${expected.database} differs from set ${expected.setId}: ${diffs.join('; ')}` }];
}

export interface ProofResult {
  checks: Check[];
  backupId: string;
  counts: RecoveredCounts[];
}

/**
 * The weekly proof: barman check, close the current WAL segment, recover into scratch, start on
 * loopback until the target is reached, count, compare; the scratch folder and server always go.
 */
export async function proveRecovery(b: Barman, target: RecoveryTarget, expected: Expected | null): Promise<ProofResult> {
  const checks = await barmanCheckRows(b);
  const dest = path.join(b.cfg.scratch_dir!, `recover-${Date.now()}`);
  await fs.mkdir(b.cfg.scratch_dir!, { recursive: true, mode: 0o700 });
  let pm: Postmaster | null = null;
  try {
    if (checks.every((c) => c.result === 'passed')) await switchWal(b);
    const backupId = await recoverInto(b, target, dest);
    pm = await preparePostmaster(dest, await freePort());
    const stopping = await startPostmaster(pm, b.cfg.bin_dir, b.cfg.recovery_timeout_seconds, b.ctx, b.cfg.user);
    checks.push({ name: 'pitr recovery', result: 'passed', detail: `base backup ${backupId} recovered to ${describeTarget(target)}${stopping ? `: ${stopping}` : ''}` });
    const counts = await countAll(pm, b, expected?.database ?? null);
    if (expected) checks.push(...compareCounts(expected, counts[0]!, target));
    else checks.push({ name: 'pitr counts', result: 'passed', detail: counts.map((c) => `${c.database}: ${c.tables.length} tables, ${c.tables.reduce((s, t) => s + t.rows, 0)} rows`).join('; ') });
    return { checks, backupId, counts };
  } catch (err) {
    if (err instanceof JobError) return { checks: [...checks, { name: 'pitr recovery', result: 'failed', detail: err.message }], backupId: '', counts: [] };
    throw err;
  } finally {
    if (pm) {
      await stopPostmaster(pm, b.cfg.bin_dir, b.ctx.env, 'immediate');
      await fs.rm(pm.runDir, { recursive: true, force: true });
      await fs.rm(pm.logFile, { force: true });
    }
    await fs.rm(dest, { recursive: true, force: true });
  }
}

export interface EmergencyResult {
  backupId: string;
  into: string;
  started: Postmaster | null;
  stopping: string | null;
  counts: RecoveredCounts[];
}

/** Emergency: recover into `into` (absent or empty); with a port, start it there on 127.0.0.1 and leave it running. */
export async function emergencyRecover(b: Barman, target: RecoveryTarget, into: string, startOn: number | null): Promise<EmergencyResult> {
  const entries = await fs.readdir(into).catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? [] : Promise.reject(e)));
  if (entries.length > 0) throw new UsageError('pitr.into_not_empty', `--into ${into} is not empty; nothing was done`, { hint: 'Name a new or empty folder on the runner with room for the whole data directory.' });
  let done = false;
  let pm: Postmaster | null = null;
  try {
    await switchWal(b).catch((e: unknown) => b.ctx.log.warn(`could not close the current WAL segment (${(e as Error).message}); recovering from what Barman has`));
    const backupId = await recoverInto(b, target, into);
    let stopping: string | null = null;
    let counts: RecoveredCounts[] = [];
    if (startOn !== null) {
      pm = await preparePostmaster(into, startOn);
      stopping = await startPostmaster(pm, b.cfg.bin_dir, b.cfg.recovery_timeout_seconds, b.ctx, b.cfg.user);
      counts = await countAll(pm, b, null);
    }
    done = true;
    return { backupId, into, started: pm, stopping, counts };
  } finally {
    // A failed or cancelled recovery leaves no directory that looks like a recovered one.
    if (!done) {
      if (pm) await stopPostmaster(pm, b.cfg.bin_dir, b.ctx.env, 'immediate');
      await fs.rm(into, { recursive: true, force: true });
    }
  }
}
