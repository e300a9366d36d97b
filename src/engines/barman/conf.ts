/**
 * Barman's configuration, written from the `pitr:` section: one file (`barman.conf`) holding the
 * global section and the server's, and the `.pgpass` libpq reads (mode 0600, in Barman's home).
 * The password never appears in barman.conf, in argv or in the tool's output: the conninfo names the
 * passfile, so `barman cron` started by the system's cron (without our environment) finds it too.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UsageError } from '../../errors.js';
import { writeFileAtomic } from '../../shared/atomic-file.js';
import { PITR_PASSWORD_ENV, type PitrConfig } from './schema.js';

export const CONF_FILE = 'barman.conf';
export const PGPASS_FILE = '.pgpass';

export interface BarmanPaths {
  home: string;
  conf: string;
  pgpass: string;
  log: string;
}

export function barmanPaths(cfg: Pick<PitrConfig, 'barman_home'>): BarmanPaths {
  const home = cfg.barman_home;
  return { home, conf: path.join(home, CONF_FILE), pgpass: path.join(home, PGPASS_FILE), log: path.join(home, 'barman.log') };
}

/** A conninfo value, quoted as libpq wants when it holds spaces or quotes. */
function connValue(v: string): string {
  return /^[A-Za-z0-9_./:-]+$/.test(v) ? v : `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** Pure: barman.conf's text. The user Barman runs as is the user running the tool (no sudo, no `barman` account needed). */
export function renderBarmanConf(cfg: PitrConfig, user: string): string {
  const p = barmanPaths(cfg);
  const conn = `host=${connValue(cfg.host)} port=${cfg.port} user=${connValue(cfg.user)} passfile=${connValue(p.pgpass)}`;
  return [
    '; Written by pgtaos-backup from the pitr: section of its config; edits here are overwritten.',
    '[barman]',
    `barman_user = ${user}`,
    `barman_home = ${p.home}`,
    `barman_lock_directory = ${p.home}`,
    `log_file = ${p.log}`,
    'log_level = INFO',
    '',
    `[${cfg.server}]`,
    'description = pgtaos-backup point-in-time recovery',
    `conninfo = ${conn} dbname=postgres application_name=pgtaos_barman`,
    `streaming_conninfo = ${conn} application_name=pgtaos_barman_streaming`,
    'backup_method = postgres',
    'streaming_archiver = on',
    `slot_name = ${cfg.slot}`,
    `path_prefix = ${cfg.bin_dir}`,
    `retention_policy = ${cfg.retention.toUpperCase()}`,
    '',
  ].join('\n');
}

/** A .pgpass field: `:` and `\` are escaped with `\`. */
function passField(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/:/g, '\\:');
}

/** Pure: the .pgpass line for the pitr role (every database: the conninfo's and replication). */
export function renderPgpass(cfg: Pick<PitrConfig, 'host' | 'port' | 'user'>, password: string): string {
  return `${passField(cfg.host)}:${cfg.port}:*:${passField(cfg.user)}:${passField(password)}\n`;
}

/** The pitr role's password, from the environment only. */
export function pitrPassword(env: NodeJS.ProcessEnv): string {
  const pw = env[PITR_PASSWORD_ENV];
  if (!pw) {
    throw new UsageError('pitr.no_password', `${PITR_PASSWORD_ENV} is not set: the password of the pitr role is read from the environment only`, {
      hint: `Export ${PITR_PASSWORD_ENV} (a repository secret in the workflow); the tool writes it to ${PGPASS_FILE} in barman_home, mode 0600.`,
    });
  }
  return pw;
}

/** Writes barman.conf and .pgpass (0600) into Barman's home, creating the home (0700) when needed. */
export async function writeBarmanFiles(cfg: PitrConfig, password: string): Promise<BarmanPaths> {
  const p = barmanPaths(cfg);
  await fs.mkdir(p.home, { recursive: true, mode: 0o700 });
  await writeFileAtomic(p.pgpass, renderPgpass(cfg, password), 0o600);
  await writeFileAtomic(p.conf, renderBarmanConf(cfg, os.userInfo().username), 0o600);
  return p;
}
