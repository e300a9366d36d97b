/** What Barman holds, read from its home: the newest WAL received, and the recoverable window. */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { BaseBackup } from './barman.js';

/** Modification time of the newest WAL file Barman holds (archived or still streaming), or null. */
export function newestWal(home: string, server: string): Date | null {
  let newest = 0;
  const look = (dir: string, depth: number) => {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const n of names) {
      const p = path.join(dir, n);
      const st = statSync(p, { throwIfNoEntry: false });
      if (!st) continue;
      if (st.isDirectory() && depth > 0) look(p, depth - 1);
      else if (st.isFile() && /^[0-9A-F]{24}(\.partial)?$/.test(n)) newest = Math.max(newest, st.mtimeMs);
    }
  };
  look(path.join(home, server, 'wals'), 1);
  look(path.join(home, server, 'streaming'), 0);
  return newest ? new Date(newest) : null;
}

export interface Window {
  from: Date | null;
  to: Date | null;
  text: string;
}

/** Pure but for the WAL folder: any time from the oldest finished base backup's end to the newest WAL. */
export function recoverableWindow(backups: BaseBackup[], home: string, server: string): Window {
  const done = backups.filter((b) => b.status === 'DONE' && b.endedAt);
  const from = done.length ? done[done.length - 1]!.endedAt : null;
  const to = newestWal(home, server);
  if (!from) return { from, to, text: 'no recoverable window: Barman holds no finished base backup' };
  return { from, to, text: `recoverable window: any time from ${from.toISOString()} to ${(to ?? from).toISOString()}` };
}

