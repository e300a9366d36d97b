/** The restore's database-level SQL, pure parts: reserved names, CREATE DATABASE like the target, settings and grants. */
import { describe, expect, it } from 'vitest';
import { createSql, isReservedName, oldName, shapeSql, splitList, stagingName, type DatabaseShape } from '../../src/engines/postgres/index.js';

const q = { ident: (s: string) => `"${s.replace(/"/g, '""')}"`, literal: (s: string) => `'${s.replace(/'/g, "''")}'` };
const shape: DatabaseShape = {
  owner: 'app_owner', encoding: 'UTF8', collate: 'en_US.UTF-8', ctype: 'en_US.UTF-8', provider: 'c', locale: null, connLimit: -1,
  grants: [{ grantee: 'PUBLIC', privilege: 'TEMPORARY', grantable: false }, { grantee: 'app reader', privilege: 'CONNECT', grantable: true }],
  settings: [
    { role: null, entry: 'search_path=analytics, "$user", public' },
    { role: null, entry: 'timescaledb.restoring=on' },
    { role: 'app reader', entry: "statement_timeout=5s" },
    { role: null, entry: "application_name=it's" },
  ],
};

describe('names a restore reserves', () => {
  it('<target>_pgtaos_new and _pgtaos_old, within 63 characters, never the target itself', () => {
    expect(stagingName('mystocks')).toBe('mystocks_pgtaos_new');
    expect(oldName('mystocks')).toBe('mystocks_pgtaos_old');
    const long = 'a'.repeat(63);
    expect(stagingName(long)).toHaveLength(63);
    expect(isReservedName(stagingName(long))).toBe(true);
    expect(isReservedName(oldName(long))).toBe(true);
    expect(isReservedName('mystocks')).toBe(false);
  });
});

describe('a new database shaped like the one it replaces', () => {
  it('CREATE DATABASE: defaults when nothing is replaced; else owner, encoding, locale and connection limit', () => {
    expect(createSql('x_pgtaos_new', null, q)).toBe('CREATE DATABASE "x_pgtaos_new" TEMPLATE template0');
    expect(createSql('x_pgtaos_new', shape, q)).toBe(`CREATE DATABASE "x_pgtaos_new" TEMPLATE template0 OWNER "app_owner" ENCODING 'UTF8' LC_COLLATE 'en_US.UTF-8' LC_CTYPE 'en_US.UTF-8' LOCALE_PROVIDER = libc CONNECTION LIMIT -1`);
    expect(createSql('x_pgtaos_new', { ...shape, provider: 'i', locale: 'und-x-icu' }, q)).toContain(`LOCALE_PROVIDER = icu ICU_LOCALE = 'und-x-icu'`);
    expect(createSql('x_pgtaos_new', { ...shape, provider: 'b', locale: 'C.UTF-8' }, q)).toContain(`LOCALE_PROVIDER = builtin BUILTIN_LOCALE = 'C.UTF-8'`);
    expect(createSql('x_pgtaos_new', { ...shape, provider: null }, q)).not.toContain('LOCALE_PROVIDER');
  });

  it('settings (list values element by element, quotes escaped) and grants; timescaledb.restoring is never carried over', () => {
    expect(shapeSql('x_pgtaos_new', shape, q)).toEqual([
      `ALTER DATABASE "x_pgtaos_new" SET "search_path" = 'analytics', '$user', 'public'`,
      `ALTER ROLE "app reader" IN DATABASE "x_pgtaos_new" SET "statement_timeout" = '5s'`,
      `ALTER DATABASE "x_pgtaos_new" SET "application_name" = 'it''s'`,
      'REVOKE ALL ON DATABASE "x_pgtaos_new" FROM PUBLIC',
      'GRANT TEMPORARY ON DATABASE "x_pgtaos_new" TO PUBLIC',
      'GRANT CONNECT ON DATABASE "x_pgtaos_new" TO "app reader" WITH GRANT OPTION',
    ]);
    expect(shapeSql('x_pgtaos_new', { ...shape, grants: null, settings: [] }, q)).toEqual([]);
  });

  it('splitList reads a stored GUC list', () => {
    expect(splitList('a, "b c", "d""e"')).toEqual(['a', 'b c', 'd"e']);
    expect(splitList('public')).toEqual(['public']);
  });
});
