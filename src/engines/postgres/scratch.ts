/**
 * The scratch database verify restores into. It is dropped and recreated at will, so the production
 * database is refused here whatever the config says (the config check is the first guard; this is the last).
 */
import { UsageError } from '../../errors.js';
import type { OpenMaintenance } from './admin.js';
import { withSession } from './session.js';

export function refuseProduction(name: string, production: string): void {
  if (name === production) {
    throw new UsageError('postgres.scratch_is_production', `refusing to drop or overwrite ${name}: it is the production database`, { hint: 'Set postgres.scratch_database to a different name.' });
  }
}

/** Drops and recreates `scratch`, empty; refused (before any connection) when it is `production`. */
export async function recreateScratch(open: OpenMaintenance, production: string, scratch: string): Promise<void> {
  refuseProduction(scratch, production);
  await withSession(open(), async (client) => {
    await client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(scratch)} WITH (FORCE)`);
    await client.query(`CREATE DATABASE ${client.escapeIdentifier(scratch)} TEMPLATE template0`);
  });
}

export async function dropScratch(open: OpenMaintenance, production: string, scratch: string): Promise<void> {
  refuseProduction(scratch, production);
  await withSession(open(), async (client) => {
    await client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(scratch)} WITH (FORCE)`);
  });
}
