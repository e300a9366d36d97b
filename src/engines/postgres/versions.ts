/** PostgreSQL versions: what the client tools and the server say, and when a client is too old. */
import { JobError } from '../../errors.js';

export interface PgVersion {
  major: number;
  text: string;
}

/** "pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)" -> 15 / "15.18". */
export function parseClientVersion(out: string): PgVersion | null {
  const m = /\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?/.exec(out);
  if (!m) return null;
  return { major: Number(m[1]), text: m[2] ? `${m[1]}.${m[2]}` : m[1]! };
}

/** server_version_num 170006 -> 17 / "17.6". */
export function parseServerVersionNum(num: number): PgVersion {
  const major = Math.floor(num / 10000);
  return { major, text: `${major}.${num % 10000}` };
}

/** A client older than the server cannot dump it (pg_dump refuses) nor read its archives. */
export function clientTooOld(client: PgVersion, server: PgVersion): boolean {
  return client.major < server.major;
}

/** The error for clientTooOld: names the pg_dump found and the client to install instead. */
export function clientTooOldError(client: PgVersion, server: PgVersion, pgDump: string): JobError {
  return new JobError('postgres.client_too_old', `pg_dump ${client.text} (${pgDump}) is older than the PostgreSQL ${server.text} server; it cannot dump it, and pg_restore ${client.major} cannot read its archives`, {
    hint: `Install the PostgreSQL ${server.major} client (Debian/Ubuntu: apt install postgresql-client-${server.major} from apt.postgresql.org) and point postgres.bin_dir at it, e.g. /usr/lib/postgresql/${server.major}/bin.`,
  });
}
