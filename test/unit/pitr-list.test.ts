/**
 * The pure parts of point-in-time in list, show and check: Barman's show-backup JSON read into the
 * report, the "point-in-time" lines under list's table (and the one line when Barman cannot be read),
 * show's text for a base backup, and the major version read from a server binary's --version.
 */
import { describe, expect, it } from 'vitest';
import { parseShowBackup } from '../../src/engines/barman/barman.js';
import { renderPitrList, renderPitrShow } from '../../src/commands/pitr-list.js';
import { majorOf } from '../../src/engines/barman/binaries.js';
import { pitrListSchema, pitrShowSchema, type PitrList } from '../../src/report/result.js';

/** As barman 3.4 `-f json show-backup pg 20261206T051200` prints it (trimmed). */
const SHOW = JSON.stringify({
  pg: {
    backup_id: '20261206T051200',
    status: 'DONE',
    postgresql_version: 170006,
    pgdata_directory: '/var/lib/postgresql/17/main',
    tablespaces: [],
    base_backup_information: {
      disk_usage: '1.2 GiB', disk_usage_bytes: 1288490188, disk_usage_with_wals_bytes: 1300000000, timeline: 1,
      begin_wal: '000000010000000A00000012', end_wal: '000000010000000A00000014',
      begin_time_timestamp: '1796527920', begin_time: '2026-12-06 05:12:00.123456+00:00',
      end_time_timestamp: '1796528001', end_time: '2026-12-06 05:13:21.654321+00:00',
      begin_offset: 40, end_offset: 312, begin_lsn: 'A/12000028', end_lsn: 'A/14000138',
    },
    wal_information: { no_of_files: 37, disk_usage: '592.0 MiB', disk_usage_bytes: 620756992, wal_rate: 0, last_available: '000000010000000A00000037', timelines: [] },
    catalog_information: { retention_policy: 'VALID', previous_backup: '20261205T051200', next_backup: '- (this is the latest base backup)' },
  },
});

describe('parseShowBackup', () => {
  it('reads the begin/end times, LSNs, WAL names, sizes and the chain; "- (this is ...)" is no neighbour', () => {
    const d = parseShowBackup(SHOW, 'pg')!;
    expect(d).toMatchObject({
      id: '20261206T051200', status: 'DONE', postgresqlVersion: 170006, timeline: 1,
      beginLsn: 'A/12000028', endLsn: 'A/14000138', endWal: '000000010000000A00000014',
      bytes: 1288490188, walFiles: 37, walBytes: 620756992, previous: '20261205T051200', next: null, retention: 'VALID',
    });
  });

  it('a backup Barman does not know (or another server) is null; a FAILED one has its id and status only', () => {
    expect(parseShowBackup('{}', 'pg')).toBeNull();
    expect(parseShowBackup(SHOW, 'other')).toBeNull();
    expect(parseShowBackup(JSON.stringify({ pg: { backup_id: '20261206T051200', status: 'FAILED', error: 'failure' } }), 'pg')).toMatchObject({ status: 'FAILED', bytes: null, endLsn: null });
  });
});

describe('point-in-time in list and show', () => {
  const listed: PitrList = pitrListSchema.parse({
    server: 'pg',
    barman_home: '/srv/barman',
    backups: [
      { id: '20261206T051200', status: 'DONE', ended_at: '2026-12-06T05:13:21.000Z', bytes: 1288490188, wal_bytes: 620756992 },
      { id: '20261205T051200', status: 'FAILED', ended_at: null, bytes: 0, wal_bytes: 0 },
    ],
    window: { from: '2026-12-06T05:13:21.000Z', to: '2026-12-06T09:00:00.000Z', text: 'recoverable window: any time from 2026-12-06T05:13:21.000Z to 2026-12-06T09:00:00.000Z' },
    error: null,
  });

  it('list: a section with each base backup (id, status, ended, size, WAL) and the window', () => {
    const lines = renderPitrList(listed);
    expect(lines[0]).toBe('point-in-time (Barman server pg)');
    expect(lines[1]).toMatch(/^ {2}BASE BACKUP\s+STATUS\s+ENDED\s+SIZE\s+WAL$/);
    expect(lines[2]).toMatch(/^ {2}20261206T051200 {2}DONE\s+2026-12-06T05:13:21.000Z {2}1.2 GiB\s+592.0 MiB$/);
    expect(lines[3]).toMatch(/^ {2}20261205T051200 {2}FAILED {2}-/);
    expect(lines[4]).toBe('  recoverable window: any time from 2026-12-06T05:13:21.000Z to 2026-12-06T09:00:00.000Z');
  });

  it('list: a Barman that cannot be read is one line; none yet says so', () => {
    expect(renderPitrList({ ...listed, backups: [], error: 'barman cannot be started: spawn barman ENOENT' })).toEqual([
      'point-in-time (Barman server pg)',
      "  cannot read Barman's base backups: barman cannot be started: spawn barman ENOENT",
    ]);
    expect(renderPitrList({ ...listed, backups: [], window: { from: null, to: null, text: 'no recoverable window: Barman holds no finished base backup' } })[1]).toBe('  (no base backups)');
  });

  it('show: begin and end with LSN and WAL, the server version, sizes, the chain', () => {
    const d = parseShowBackup(SHOW, 'pg')!;
    const text = renderPitrShow(pitrShowSchema.parse({
      server: 'pg', id: d.id, status: d.status, postgresql_version: d.postgresqlVersion, pgdata: d.pgdata, timeline: d.timeline,
      begin_time: d.beginTime, end_time: d.endTime, begin_wal: d.beginWal, end_wal: d.endWal, begin_lsn: d.beginLsn, end_lsn: d.endLsn,
      bytes: d.bytes, wal_files: d.walFiles, wal_bytes: d.walBytes, last_wal: d.lastWal, previous_backup: d.previous, next_backup: d.next, retention: d.retention,
    })).join('\n');
    expect(text).toContain('base backup 20261206T051200 (Barman server pg, DONE)');
    expect(text).toContain('end       2026-12-06 05:13:21.654321+00:00  LSN A/14000138  WAL 000000010000000A00000014');
    expect(text).toContain('server    PostgreSQL 17.6 (170006), data directory /var/lib/postgresql/17/main');
    expect(text).toContain('WAL       37 files, 592.0 MiB until the next base backup; last WAL held 000000010000000A00000037');
    expect(text).toContain('chain     previous 20261205T051200, next - (the newest); retention VALID');
  });
});

describe('majorOf', () => {
  it('reads the major version of a server binary', () => {
    expect(majorOf('postgres (PostgreSQL) 17.6 (Debian 17.6-1.pgdg120+1)')).toBe('17');
    expect(majorOf('pg_ctl (PostgreSQL) 15.18')).toBe('15');
    expect(majorOf('postgres (PostgreSQL) 9.6.24')).toBe('9.6');
    expect(majorOf('something else')).toBeNull();
  });
});
