/**
 * TDengine database names and the scratch guard. TDengine folds names to lower case (`Market_Data`
 * is `market_data`), so every comparison here is made on the folded name: a guard comparing
 * exactly would let a scratch "market_data" past a set that records "Market_Data".
 */
import { UsageError } from '../../errors.js';

export const SYSTEM_DATABASES = new Set(['information_schema', 'performance_schema', 'log', 'audit']);
/** Plain TDengine names: unquoted names are folded to lower case by the server. */
const NAME = /^[a-z_][a-z0-9_]{0,63}$/;

/** The name as the server knows it. */
export const fold = (name: string): string => name.toLowerCase();
export const sameDatabase = (a: string, b: string): boolean => fold(a) === fold(b);
export const isSystemDatabase = (name: string): boolean => SYSTEM_DATABASES.has(fold(name));

export function checkName(name: string, what: string): void {
  if (!NAME.test(name)) {
    throw new UsageError('tdengine.bad_name', `${what} "${name}" is not a plain lower-case TDengine name`, {
      hint: 'TDengine folds unquoted names to lower case, and taosdump matches names exactly: use lower-case letters, digits and _ (not starting with a digit).',
    });
  }
}

/** Names a scratch database must never have: production, system databases, a dump's own database. */
export class ScratchGuard {
  /** Databases recorded in dumps or sets this run read (restore targets of `-i`), folded. */
  private readonly sources = new Set<string>();

  constructor(private readonly production: string) {}

  /** A database that a set or its dump records: taosdump -i writes into it, so it is never a scratch. */
  remember(name: string): void {
    this.sources.add(fold(name));
  }

  refuse(name: string, what: string): void {
    checkName(name, 'the scratch database');
    if (sameDatabase(name, this.production) || isSystemDatabase(name)) {
      throw new UsageError('tdengine.scratch_is_production', `refusing to ${what} ${name}: it is ${sameDatabase(name, this.production) ? 'the production database' : 'a system database'}`, {
        hint: 'Set tdengine.scratch_database to a different name.',
      });
    }
    if (this.sources.has(fold(name))) {
      throw new UsageError('tdengine.scratch_is_dump_source', `refusing to ${what} ${name} as the scratch database: it is the database the set's dump was made from (recorded in the set; TDengine names ignore case), a real database that taosdump -i would also write into`, {
        hint: `Set tdengine.scratch_database to a name no real database uses (a set made with --tdengine-database, an imported set or a safety set can record a name other than tdengine.database).`,
      });
    }
  }
}
