/**
 * A restore reads the set before it touches anything: a dump cut in half (its manifest untouched)
 * must be refused while the target is still whole, not found by pg_restore halfway through.
 * Recorded files become paths through the catalog's checked resolver (set-files.ts); what is
 * PostgreSQL's (the archive's path, `pg_restore --list`) is in engines/postgres/restore.ts.
 */
import path from 'node:path';
import { JobError } from '../errors.js';
import { archiveProblem, pgDumpPath, type PgArchives } from './postgres/index.js';
import type { EngineContext, EngineName } from './engine.js';
import { TDENGINE_DUMP_DIR } from './tdengine.js';
import type { SetEntry } from '../catalog/sets.js';
import type { Check } from '../report/result.js';
import { checkFiles } from '../catalog/check-files.js';

/** Where restores have always found it. */
export { pgDumpPath };

/** The folder taosdump -i reads. */
export function tdengineDumpDir(set: SetEntry): string {
  return path.join(set.path, TDENGINE_DUMP_DIR);
}

/**
 * Size and SHA-256 of each file of `engine`'s dump against the manifest; for PostgreSQL also that
 * `pg_restore --list` reads the archive. Throws `restore.damaged_set` (exit 1) naming what is wrong.
 */
export async function requireWholeSet(set: SetEntry, engine: EngineName, archives: PgArchives | null, ectx: EngineContext): Promise<Check> {
  const m = set.manifest!;
  // Only this engine's files: a restore of one engine does not read the other's.
  const own = { ...m, postgres: engine === 'postgres' ? m.postgres : undefined, tdengine: engine === 'tdengine' ? m.tdengine : undefined, config: undefined };
  const failed = (await checkFiles(set.path, own)).filter((c) => c.result !== 'passed').map((c) => c.detail);
  if (failed.length === 0 && engine === 'postgres' && archives) {
    const problem = await archiveProblem(archives, set, ectx);
    if (problem !== null) failed.push(problem);
  }
  if (failed.length > 0) {
    throw new JobError('restore.damaged_set', `set ${set.id} is damaged, so it was not restored: ${failed.join('; ')}`, {
      hint: `No safety set was taken and nothing was changed. Pick another set from \`pgtaos-backup list\` (check it first with \`pgtaos-backup verify <set>\`); keep ${set.id} for a person to look at.`,
    });
  }
  const files = own.postgres?.files ?? own.tdengine?.files ?? [];
  return { name: 'set files', result: 'passed', detail: `${files.length} file(s) match the manifest's sizes and SHA-256${engine === 'postgres' ? '; pg_restore --list reads the archive' : ''}` };
}
