/**
 * Database-level statements for restores: a new database shaped like the one it replaces, and the
 * swap that puts it in place. A restore never runs pg_restore --clean over a live database
 * (TimescaleDB refuses to drop and re-create its extension in one session, and a cut archive is
 * found only after the target was emptied); it fills a new database and swaps names at the end.
 * All of these run on a session of the maintenance database, never on the databases they change.
 */
import type pg from 'pg';
import { JobError, UsageError } from '../../errors.js';
import { withSession } from './session.js';

/** Names a restore reserves beside its target: the copy being filled, and the old one until dropped. */
const STAGING_SUFFIX = '_pgtaos_new';
const OLD_SUFFIX = '_pgtaos_old';
const MAX_NAME = 63;

export function stagingName(target: string): string {
  return `${target.slice(0, MAX_NAME - STAGING_SUFFIX.length)}${STAGING_SUFFIX}`;
}

export function oldName(target: string): string {
  return `${target.slice(0, MAX_NAME - OLD_SUFFIX.length)}${OLD_SUFFIX}`;
}

/** True for a name a restore would make itself (so a target may not be one). */
export function isReservedName(name: string): boolean {
  return name.endsWith(STAGING_SUFFIX) || name.endsWith(OLD_SUFFIX);
}

/** What a database carries outside its contents (pg_restore without --create brings none of it back). */
export interface DatabaseShape {
  owner: string;
  encoding: string;
  collate: string;
  ctype: string;
  /** 'c' libc, 'i' ICU, 'b' builtin (PostgreSQL 15+; absent before). */
  provider: string | null;
  locale: string | null;
  connLimit: number;
  /** `datacl` as grants; null: the defaults (PUBLIC may connect). */
  grants: { grantee: string; privilege: string; grantable: boolean }[] | null;
  /** `ALTER DATABASE ... SET` entries ("name=value"), per role (null: every role). */
  settings: { role: string | null; entry: string }[];
}

export async function databaseShape(client: pg.Client, name: string): Promise<DatabaseShape> {
  // to_jsonb: the locale columns differ by server version (daticulocale 15-16, datlocale 17).
  const d = (await client.query<{ owner: string; encoding: string; row: Record<string, unknown> }>(
    'SELECT pg_get_userbyid(d.datdba) AS owner, pg_encoding_to_char(d.encoding) AS encoding, to_jsonb(d) AS row FROM pg_database d WHERE d.datname = $1',
    [name],
  )).rows[0];
  if (!d) throw new JobError('postgres.no_database', `database ${name} does not exist`, { hint: 'It was dropped while the restore ran; run the restore again.' });
  const str = (k: string): string | null => (typeof d.row[k] === 'string' && d.row[k] !== '' ? (d.row[k] as string) : null);
  const grants = d.row.datacl === null ? null : (await client.query<{ grantee: string; privilege: string; grantable: boolean }>(
    "SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END AS grantee, a.privilege_type AS privilege, a.is_grantable AS grantable FROM pg_database d, aclexplode(d.datacl) a WHERE d.datname = $1",
    [name],
  )).rows;
  const settings = (await client.query<{ role: string | null; entry: string }>(
    'SELECT CASE WHEN s.setrole = 0 THEN NULL ELSE pg_get_userbyid(s.setrole) END AS role, unnest(s.setconfig) AS entry FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase WHERE d.datname = $1',
    [name],
  )).rows;
  return {
    owner: d.owner,
    encoding: d.encoding,
    collate: str('datcollate') ?? 'C',
    ctype: str('datctype') ?? 'C',
    provider: str('datlocprovider'),
    locale: str('datlocale') ?? str('daticulocale'),
    connLimit: Number(d.row.datconnlimit ?? -1),
    grants,
    settings,
  };
}

type Quote = { ident: (s: string) => string; literal: (s: string) => string };

/** Pure: CREATE DATABASE for a new, empty database shaped like `shape` (or the server's defaults). */
export function createSql(name: string, shape: DatabaseShape | null, q: Quote): string {
  const base = `CREATE DATABASE ${q.ident(name)} TEMPLATE template0`;
  if (!shape) return base;
  const locale = shape.provider === 'i' && shape.locale ? ` LOCALE_PROVIDER = icu ICU_LOCALE = ${q.literal(shape.locale)}`
    : shape.provider === 'b' && shape.locale ? ` LOCALE_PROVIDER = builtin BUILTIN_LOCALE = ${q.literal(shape.locale)}`
      : shape.provider === 'c' ? ' LOCALE_PROVIDER = libc' : '';
  return `${base} OWNER ${q.ident(shape.owner)} ENCODING ${q.literal(shape.encoding)} LC_COLLATE ${q.literal(shape.collate)} LC_CTYPE ${q.literal(shape.ctype)}${locale} CONNECTION LIMIT ${shape.connLimit}`;
}

/** Settings whose value is a list: each element is quoted on its own (as pg_dump does). */
const LIST_SETTINGS = new Set(['search_path', 'temp_tablespaces', 'session_preload_libraries', 'local_preload_libraries', 'shared_preload_libraries']);

/** Pure: `a, "b c"` -> ['a', 'b c'] (a GUC list as stored in pg_db_role_setting). */
export function splitList(value: string): string[] {
  const out: string[] = [];
  const re = /\s*(?:"((?:[^"]|"")*)"|([^,]*?))\s*(?:,|$)/g;
  for (let m = re.exec(value); m && m.index < value.length; m = re.exec(value)) {
    out.push(m[1] !== undefined ? m[1].replace(/""/g, '"') : m[2]!);
    if (re.lastIndex === m.index) re.lastIndex++;
  }
  return out;
}

/**
 * Pure: the statements that give `name` the settings and grants of `shape`, after pg_restore ran
 * (a database-level statement_timeout must not apply to pg_restore's sessions). A leftover
 * `timescaledb.restoring` (a failed TimescaleDB restore's) is never carried over.
 */
export function shapeSql(name: string, shape: DatabaseShape, q: Quote): string[] {
  const db = q.ident(name);
  const out: string[] = [];
  for (const s of shape.settings) {
    const eq = s.entry.indexOf('=');
    const key = s.entry.slice(0, eq);
    if (eq <= 0 || key === 'timescaledb.restoring') continue;
    const raw = s.entry.slice(eq + 1);
    const value = LIST_SETTINGS.has(key) ? splitList(raw).map(q.literal).join(', ') : q.literal(raw);
    out.push(`${s.role === null ? `ALTER DATABASE ${db}` : `ALTER ROLE ${q.ident(s.role)} IN DATABASE ${db}`} SET ${q.ident(key)} = ${value}`);
  }
  if (shape.grants) {
    out.push(`REVOKE ALL ON DATABASE ${db} FROM PUBLIC`);
    for (const g of shape.grants) {
      out.push(`GRANT ${g.privilege} ON DATABASE ${db} TO ${g.grantee === 'PUBLIC' ? 'PUBLIC' : q.ident(g.grantee)}${g.grantable ? ' WITH GRANT OPTION' : ''}`);
    }
  }
  return out;
}

export function quoteWith(client: pg.Client): Quote {
  return { ident: (s) => client.escapeIdentifier(s), literal: (s) => client.escapeLiteral(s) };
}

/** SQLSTATE 55006: "database ... is being accessed by other users". */
const IN_USE = '55006';
const SWAP_ATTEMPTS = 3;

/**
 * Puts `staging` in the place of `target` in one transaction: either both renames happen or
 * neither. The target's other sessions are ended first (a database in use cannot be renamed;
 * the server waits up to 5 s for them to go); a client that keeps reconnecting makes it fail,
 * and then nothing was changed. `old`: the name the replaced database gets (null: no target yet).
 */
export async function swapIn(client: pg.Client, staging: string, target: string, old: string | null, log: (line: string) => void): Promise<void> {
  const q = quoteWith(client);
  for (let attempt = 1; ; attempt++) {
    try {
      // Inside the try: a user without the right to end them gets the same "stop the services" hint.
      if (old) {
        const ended = await client.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [target]);
        if (ended.rowCount) log(`ended ${ended.rowCount} other session(s) on ${target}`);
      }
      await client.query('BEGIN');
      if (old) await client.query(`ALTER DATABASE ${q.ident(target)} RENAME TO ${q.ident(old)}`);
      await client.query(`ALTER DATABASE ${q.ident(staging)} RENAME TO ${q.ident(target)}`);
      await client.query('COMMIT');
      return;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      if ((err as { code?: string }).code !== IN_USE || attempt >= SWAP_ATTEMPTS) {
        throw new JobError('postgres.swap_failed', `could not put the restored copy ${staging} in the place of ${target}: ${(err as Error).message}`, {
          hint: `Stop every service that connects to ${target} (e.g. systemctl stop <unit>), then run the restore again.`,
          cause: err,
        });
      }
    }
  }
}

/** Opens a session on the maintenance database (called only once a guard has passed). */
export type OpenMaintenance = () => Promise<pg.Client>;

/** The last guard before a DROP or RENAME of a staging database: only names a restore reserves. */
export function refuseUnreserved(name: string): void {
  if (!isReservedName(name)) throw new UsageError('postgres.not_staging', `refusing to drop or rename ${name}: it is not a name a restore reserves for its new copy`, { hint: 'This is a bug in pgtaos-backup; nothing was changed.' });
}

/**
 * A new, empty database for a restore to fill (a leftover of an earlier run under that name is
 * dropped first: the name is reserved). `like`: the database it will replace, whose owner,
 * encoding and locale it gets; null: the server's defaults.
 */
export async function createStaging(open: OpenMaintenance, staging: string, like: string | null): Promise<void> {
  refuseUnreserved(staging);
  await withSession(open(), async (client) => {
    const shape = like === null ? null : await databaseShape(client, like);
    await client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(staging)} WITH (FORCE)`);
    await client.query(createSql(staging, shape, quoteWith(client)));
  });
}

/** After pg_restore: the settings and grants of `like` (applied now, so none of them hindered pg_restore). */
export async function shapeLike(open: OpenMaintenance, staging: string, like: string): Promise<void> {
  refuseUnreserved(staging);
  await withSession(open(), async (client) => {
    for (const stmt of shapeSql(staging, await databaseShape(client, like), quoteWith(client))) await client.query(stmt);
  });
}

/**
 * Swaps the filled `staging` in as `target` (see swapIn), then drops the replaced database.
 * Returns what could not be done after the swap (the old copy left behind), for a warning.
 */
export async function swapStagingIn(open: OpenMaintenance, staging: string, target: string, replacing: boolean, log: (line: string) => void): Promise<string | null> {
  refuseUnreserved(staging);
  const old = replacing ? oldName(target) : null;
  return withSession(open(), async (client) => {
    await swapIn(client, staging, target, old, log);
    if (!old) return null;
    return client.query(`DROP DATABASE ${client.escapeIdentifier(old)} WITH (FORCE)`).then(
      () => null,
      (e: unknown) => `could not drop ${old} (what ${target} held before; the safety set has it too): ${(e as Error).message}; drop it by hand: dropdb ${old}`,
    );
  });
}

/** Drops a staging database a restore did not swap in (it holds nothing that is not in the set). */
export async function dropStaging(open: OpenMaintenance, staging: string): Promise<void> {
  refuseUnreserved(staging);
  await withSession(open(), async (client) => {
    await client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(staging)} WITH (FORCE)`);
  });
}

export async function databaseExists(open: OpenMaintenance, name: string): Promise<boolean> {
  return withSession(open(), async (client) => (await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount === 1);
}
