/**
 * The PostgreSQL server binaries in pitr.bin_dir (`check`'s row): Barman runs pg_basebackup and
 * pg_receivewal from there, and a scratch recovery pg_ctl and postgres; all must be of the
 * server's major version.
 */
import path from 'node:path';
import { childEnv } from '../engine.js';
import { readTool } from '../exec.js';

/** What recovery (pg_ctl, postgres) and Barman (pg_basebackup, pg_receivewal) start from bin_dir. */
export const PITR_SERVER_BINARIES = ['postgres', 'pg_ctl', 'pg_basebackup', 'pg_receivewal'] as const;

/** Pure: the major version in a `--version` line ("postgres (PostgreSQL) 17.6" → 17; "9.6.24" → 9.6). */
export function majorOf(versionLine: string): string | null {
  const m = /\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?/.exec(versionLine);
  if (!m) return null;
  return Number(m[1]) >= 10 ? m[1]! : `${m[1]}.${m[2] ?? '0'}`;
}

/** Each binary's major version (`--version`), and the ones that are missing or will not run. */
export async function binaryMajors(binDir: string, env: NodeJS.ProcessEnv): Promise<{ found: { bin: string; major: string | null }[]; missing: string[] }> {
  const found: { bin: string; major: string | null }[] = [];
  const missing: string[] = [];
  for (const bin of PITR_SERVER_BINARIES) {
    const r = await readTool(path.join(binDir, bin), ['--version'], childEnv(env, {}));
    if (!r.ok) missing.push(bin);
    else found.push({ bin, major: majorOf(r.out) });
  }
  return { found, missing };
}
