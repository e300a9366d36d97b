/** Point-in-time recovery's pure parts: targets, backup choice, barman check lines, the files it writes, failure words. */
import { describe, expect, it } from 'vitest';
import { parseCheck, parseBackups } from '../../src/engines/barman/barman.js';
import { renderBarmanConf, renderPgpass } from '../../src/engines/barman/conf.js';
import { explainRecoveryFailure, serverOptions } from '../../src/engines/barman/postmaster.js';
import { compareCounts } from '../../src/engines/barman/recover.js';
import { pitrSchema } from '../../src/engines/barman/schema.js';
import { parseTarget, pickBackup } from '../../src/engines/barman/target.js';

const cfg = pitrSchema.parse({ barman_home: '/srv/barman', host: '127.0.0.1' });

describe('parseTarget', () => {
  it('reads a time with its offset, and an LSN', () => {
    const t = parseTarget('2026-12-05 14:36:00+08');
    expect(t.kind === 'time' && t.at.toISOString()).toBe('2026-12-05T06:36:00.000Z');
    expect(t.kind === 'time' && t.text).toBe('2026-12-05 06:36:00.000+00');
    expect(parseTarget('0/3000060')).toEqual({ kind: 'lsn', lsn: '0/3000060', at: null });
  });
  it('refuses a time without an offset (exit 2)', () => {
    expect(() => parseTarget('2026-12-05 14:36:00')).toThrow(/offset/);
    expect(() => parseTarget('yesterday')).toThrow(expect.objectContaining({ code: 'pitr.bad_target', kind: 'usage' }));
  });
});

describe('pickBackup', () => {
  const backups = parseBackups(JSON.stringify({ pg: [
    { backup_id: '20261201T010000', status: 'DONE', end_time_timestamp: String(Date.parse('2026-12-01T01:05:00Z') / 1000) },
    { backup_id: '20261203T010000', status: 'DONE', end_time_timestamp: String(Date.parse('2026-12-03T01:05:00Z') / 1000) },
    { backup_id: '20261204T010000', status: 'FAILED' },
  ] }), 'pg');
  it('takes the newest finished backup that ended before the target', () => {
    expect(pickBackup(backups, parseTarget('2026-12-02 00:00:00Z')).id).toBe('20261201T010000');
    expect(pickBackup(backups, parseTarget('2026-12-05 00:00:00Z')).id).toBe('20261203T010000');
  });
  it('refuses a target before the window', () => {
    expect(() => pickBackup(backups, parseTarget('2026-11-30 00:00:00Z'))).toThrow(expect.objectContaining({ code: 'pitr.before_window' }));
    expect(() => pickBackup([], parseTarget('2026-11-30 00:00:00Z'))).toThrow(expect.objectContaining({ code: 'pitr.no_backup' }));
  });
});

describe('barman check lines', () => {
  it('reads OK and FAILED rows with their detail', () => {
    expect(parseCheck(['Server pg:', '\tPostgreSQL: OK', '\treceive-wal running: FAILED (See the Barman log file for more details)'])).toEqual([
      { name: 'PostgreSQL', ok: true, detail: '' },
      { name: 'receive-wal running', ok: false, detail: 'See the Barman log file for more details' },
    ]);
  });
});

describe('the files it writes', () => {
  it('barman.conf names the passfile and never holds a password; .pgpass escapes : and \\', () => {
    const conf = renderBarmanConf(cfg, 'runner');
    expect(conf).toContain('barman_user = runner');
    expect(conf).toContain('passfile=/srv/barman/.pgpass');
    expect(conf).toContain('backup_method = postgres');
    expect(conf).toContain('streaming_archiver = on');
    expect(conf).toContain('slot_name = barman');
    expect(conf).not.toMatch(/password=/i);
    expect(renderPgpass(cfg, 'a:b\\c')).toBe('127.0.0.1:5432:*:barman:a\\:b\\\\c\n');
  });
  it('the throwaway server listens on loopback only, archives nothing, takes connections only after recovery', () => {
    const o = serverOptions({ dataDir: '/x/d', port: 5555, runDir: '/tmp/r', logFile: '/x/d.log' });
    expect(o).toContain("-c listen_addresses='127.0.0.1'");
    expect(o).toContain("-c archive_mode='off'");
    expect(o).toContain("-c hot_standby='off'");
  });
});

describe('recovery failures in plain words', () => {
  it('names a WAL that ends before the target, and a damaged base backup', () => {
    expect(explainRecoveryFailure(['FATAL:  recovery ended before configured recovery target was reached'])).toMatch(/missing or damaged/);
    expect(explainRecoveryFailure(['FATAL:  incorrect checksum in control file'])).toMatch(/base backup is damaged/);
    expect(explainRecoveryFailure(['FATAL:  database files are incompatible with server'])).toMatch(/base backup is damaged/);
    expect(explainRecoveryFailure(['LOG: all fine'])).toBeNull();
  });
});

describe('compareCounts', () => {
  const expected = { setId: 'mystocks_20261205_020000', database: 'mystocks', tables: [{ name: 'a', rows: 10 }, { name: 'b', rows: 5 }] };
  const target = parseTarget('0/3000060');
  it('passes when equal, and names each difference as rows written between snapshot and restore point', () => {
    expect(compareCounts(expected, { database: 'mystocks', tables: [{ name: 'a', rows: 10 }, { name: 'b', rows: 5 }] }, target)[0]!.result).toBe('passed');
    const c = compareCounts(expected, { database: 'mystocks', tables: [{ name: 'a', rows: 12 }, { name: 'b', rows: 5 }] }, target)[0]!;
    expect(c.result).toBe('failed');
    expect(c.detail).toContain('a: 12 rows recovered, 10 in set mystocks_20261205_020000 (+2: rows written between the dump\'s snapshot and its restore point');
  });
});
