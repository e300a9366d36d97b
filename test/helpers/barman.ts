/**
 * Barman in the point-in-time tests: closing the current WAL segment and waiting until Barman
 * archived it. Like the tool (src/engines/barman/sql.ts), a transaction id taken after the switch
 * starts the next segment, so the tests never wait for an idle cluster's own next WAL record
 * (15-25 s, or never: `switch-wal --archive` without a timeout would then hang).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

export interface BarmanSide {
  /** Runs barman on the tool's config, as the tool's user; returns stdout + stderr. */
  barman: (...args: string[]) => string;
  /** Runs SQL on the database Barman streams from. */
  psql: (sql: string) => Promise<unknown>;
  home: string;
  server: string;
}

export function walFiles(b: Pick<BarmanSide, 'home' | 'server'>): string[] {
  const dir = path.join(b.home, b.server, 'wals');
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true }).map(String).filter((f) => /\/[0-9A-F]{24}$/.test(f));
}

/** The end of barman.log, without its once-a-tenth-second "no segments" lines. */
export function barmanLogTail(home: string, lines = 30): string {
  const log = path.join(home, 'barman.log');
  return existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter((l) => !l.includes('No xlog segments found')).slice(-lines).join('\n') : '(no barman.log)';
}

/** Closes the current segment; resolves with the segments archived since (sorted) once there is one. */
export async function closeSegment(b: BarmanSide): Promise<string[]> {
  const before = new Set(walFiles(b));
  b.barman('switch-wal', '--force', b.server);
  await b.psql('SELECT txid_current()');
  for (let i = 0; i < 240; i++) {
    b.barman('archive-wal', b.server);
    const added = walFiles(b).filter((f) => !before.has(f)).sort();
    if (added.length) return added;
    await new Promise((res) => setTimeout(res, 250));
  }
  throw new Error(`no segment archived within 60 s:\n${barmanLogTail(b.home)}`);
}
