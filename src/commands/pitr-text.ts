/** What point-in-time commands tell a person: the DBA's steps, and the emergency steps. Pure. */
import type { PitrConfig } from '../engines/barman/schema.js';
import type { EmergencyResult } from '../engines/barman/recover.js';
export { recoverableWindow } from '../engines/barman/window.js';

/** What the DBA does on the database host (nothing is installed there). */
export function dbaSteps(cfg: PitrConfig): string[] {
  return [
    `On the database host (${cfg.host}), as the DBA (nothing is installed there):`,
    `  1. CREATE ROLE ${cfg.user} LOGIN SUPERUSER REPLICATION PASSWORD '...';   -- the password goes into PITR_PGPASSWORD on the runner`,
    `  2. pg_hba.conf: host all ${cfg.user} <runner-ip>/32 scram-sha-256  and  host replication ${cfg.user} <runner-ip>/32 scram-sha-256; then SELECT pg_reload_conf();`,
    '  3. wal_level = replica (the default) and max_wal_senders >= 2; set max_slot_wal_keep_size (e.g. 50GB) so a dead receiver cannot fill the disk',
    `  4. the slot "${cfg.slot}" is created by this command (barman receive-wal --create-slot); a person may instead run SELECT pg_create_physical_replication_slot('${cfg.slot}');`,
  ];
}

/** The exact steps to put a recovered directory in place; the tool never writes production files. */
export function emergencySteps(r: EmergencyResult, cfg: PitrConfig): string[] {
  const lines = [`Recovered data directory: ${r.into} (from base backup ${r.backupId}).`];
  if (r.started) {
    lines.push(
      `It runs on 127.0.0.1:${r.started.port}: take what you need, e.g. pg_dump -h 127.0.0.1 -p ${r.started.port} -U ${cfg.user} -t <table> <database> > table.sql`,
      `Stop it when done: ${cfg.bin_dir}/pg_ctl -D ${r.into} stop`,
    );
  }
  lines.push(
    'To put the whole directory in place on the database host (the tool never does this):',
    '  1. stop PostgreSQL there (systemctl stop postgresql@17-main) and move its data directory aside (keep it until the recovered one is proven)',
    `  2. copy ${r.into} to the data directory's place (rsync -a --delete ${r.into}/ postgres@<host>:<data dir>/), owned by postgres, mode 0700`,
    '  3. start PostgreSQL; it replays WAL up to the chosen time and promotes (recovery.signal and barman_wal/ are in the copy) unless it was already started here',
    `  4. recreate the slot "${cfg.slot}" and run \`pgtaos-backup pitr setup\`, then \`pgtaos-backup pitr backup\`: the new timeline needs a new base backup`,
  );
  return lines;
}
