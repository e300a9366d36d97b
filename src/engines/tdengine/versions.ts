/** TDengine and taosdump versions: what each version of taosdump can do, and which pairs work together. */
import type { ErrorCode } from '../../error-codes.js';

export interface TdVersion {
  /** [major, minor, patch, build]; missing parts are 0. */
  parts: number[];
  text: string;
}

/** "3.3.7.5.alpha" -> [3,3,7,5]; "3.3.6.13" -> [3,3,6,13]; "ver:3.3.7.5" (dbs.sql) -> [3,3,7,5]. */
export function parseTdVersion(text: string): TdVersion | null {
  const m = /(\d+)\.(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(text);
  if (!m) return null;
  return { parts: [m[1], m[2], m[3], m[4]].map((x) => Number(x ?? 0)), text: text.trim() };
}

export function majorMinor(v: TdVersion): string {
  return `${v.parts[0]}.${v.parts[1]}`;
}

export function versionAtLeast(v: TdVersion, min: number[]): boolean {
  for (let i = 0; i < min.length; i++) {
    const a = v.parts[i] ?? 0;
    if (a !== min[i]) return a > min[i]!;
  }
  return true;
}

/** TDengine 3.4.1.1+ ships taosBackup, whose format and options differ (docs/tdengine.md, "Versions"). */
export const TAOSBACKUP_SINCE = [3, 4, 1];
/** `-Z Native|WebSocket` exists from 3.3.6 (older ones exit 64 on it). */
export const supportsDriverOption = (v: TdVersion): boolean => versionAtLeast(v, [3, 3, 6]);
/** `-W old=new` since taos-tools 3.1.1.17 / 3.2.2.0 (PR #703). */
export const supportsRename = (v: TdVersion): boolean =>
  versionAtLeast(v, [3, 2, 2, 0]) || (majorMinor(v) === '3.1' && versionAtLeast(v, [3, 1, 1, 17]));
/** Bare `-p` reads at most this many bytes (scanf %20s before 3.3.6, %255s after); longer is silently cut. */
export const passwordLimit = (v: TdVersion): number => (versionAtLeast(v, [3, 3, 6]) ? 255 : 20);

export interface VersionProblem {
  code: ErrorCode;
  message: string;
  hint: string;
}

/** Server and taosdump must share major.minor; 3.4.1+ is the taosBackup era, which this tool does not drive. */
export function versionProblem(server: TdVersion, client: TdVersion, taosdumpPath = 'taosdump'): VersionProblem | null {
  const era = [server, client].find((v) => versionAtLeast(v, TAOSBACKUP_SINCE));
  if (era) {
    return {
      code: 'tdengine.taosbackup_era',
      message: `${era === server ? `the TDengine server is ${server.text}` : `taosdump ${client.text} (${taosdumpPath}) is`} 3.4.1 or newer: that release line ships taosBackup, whose dump format and options differ (its -p takes an argument, its -D filters on restore), and its taosdump exits 255 when a table is written during the dump (TDengine#35415). This tool drives taosdump 3.3.x`,
      hint: 'Back up this server with taosBackup by hand until this tool supports it, or keep the server and its tools on TDengine 3.3.x (see the README, TDengine section).',
    };
  }
  if (majorMinor(server) !== majorMinor(client)) {
    const want = server.parts.join('.');
    return {
      code: 'tdengine.version_mismatch',
      message: `taosdump ${client.text} (${taosdumpPath}) does not match the TDengine ${server.text} server (major.minor ${majorMinor(client)} vs ${majorMinor(server)}); dump and restore need the taosdump of the server's version (an older taosdump against a newer server is reported to corrupt values, TDengine#18975)`,
      hint: `Install the TDengine ${majorMinor(server)} client of the server's version (TDengine-client-${want}-Linux-x64.tar.gz from https://docs.tdengine.com/, which ships taosdump ${want}) and set tdengine.bin_dir to its bin folder (e.g. /usr/local/taos/bin).`,
    };
  }
  return null;
}
