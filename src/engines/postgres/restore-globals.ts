/**
 * restore --with-globals: the set's globals.sql (the cluster's roles and tablespaces) applied to the
 * target server after the safety set and before the database is restored, so the grants and owners
 * of the dump find their roles. Roles and tablespaces that exist are left as they are and reported.
 * A roll-back does not remove the roles created (they hold no data; `DROP ROLE` them by hand).
 */
import { promises as fs } from 'node:fs';
import { UsageError } from '../../errors.js';
import type { SetEntry } from '../../catalog/sets.js';
import { setFilePath } from '../../catalog/set-files.js';
import type { RunLog } from '../../report/log.js';
import type { Check } from '../../report/result.js';
import type { GlobalsApplied } from './globals.js';
import { globalsInventory } from './globals-sql.js';

/** The set's globals.sql when --with-globals asks for it; a set without one is refused (exit 2, nothing touched). */
export async function globalsToApply(set: SetEntry, withGlobals: boolean): Promise<string | null> {
  if (!withGlobals) return null;
  const g = set.manifest!.postgres!.globals;
  if (!g) {
    throw new UsageError('restore.no_globals', `set ${set.id} holds no roles and tablespaces (made before globals were kept, or imported); nothing was done`, {
      hint: 'Restore without --with-globals (create the roles the dump needs by hand first), or pick a set made by this version.',
    });
  }
  return setFilePath(set.path, g.path, set.id);
}

/** Applies the file through `apply` (the engine's), logs what was created and what was kept; returns the check. */
export async function restoreGlobals(file: string, apply: (text: string) => Promise<GlobalsApplied>, log: RunLog, where: string): Promise<Check> {
  const done = await apply(await fs.readFile(file, 'utf8'));
  if (done.created.length) log.info(`created on ${where}: role ${done.created.join(', ')}`);
  if (done.keptRoles.length) log.info(`roles that already exist on ${where}, left as they are: ${done.keptRoles.join(', ')}`);
  if (done.keptTablespaces.length) log.info(`tablespaces that already exist on ${where}, left as they are: ${done.keptTablespaces.join(', ')}`);
  const kept = done.keptRoles.length + done.keptTablespaces.length;
  return {
    name: 'postgres globals',
    result: 'passed',
    detail: `${done.created.length} role(s) created, ${done.statements} statement(s) run${kept ? `; already there and left as they are: ${[...done.keptRoles, ...done.keptTablespaces].join(', ')}` : ''}`,
  };
}

/**
 * verify: the set's globals.sql (its checksum is checked with the other files) must create every
 * role the manifest lists. Null for a set without globals.
 */
export async function checkGlobalsFile(set: SetEntry): Promise<Check | null> {
  const g = set.manifest!.postgres!.globals;
  if (!g) return null;
  let text: string;
  try {
    text = await fs.readFile(await setFilePath(set.path, g.path, set.id), 'utf8');
  } catch (err) {
    return { name: 'postgres globals', result: 'failed', detail: `${g.path}: ${(err as Error).message}` };
  }
  const found = globalsInventory(text);
  const missing = g.roles.filter((r) => !found.roles.includes(r));
  if (found.roles.length === 0 || missing.length > 0) {
    return { name: 'postgres globals', result: 'failed', detail: `${g.path} does not create ${found.roles.length === 0 ? 'any role' : `the role(s) ${missing.join(', ')} the manifest lists`}` };
  }
  return { name: 'postgres globals', result: 'passed', detail: `${g.path}: ${g.roles.length} roles, ${g.tablespaces.length} tablespaces${g.password_hashes ? ', with password hashes' : ''}` };
}
