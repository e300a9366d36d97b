// Judging taosdump's output (src/engines/taosdump-output.ts): pure, fed with the lines of
// docs/tdengine.md, written the way taosdump writes them (colour first, the reset
// ESC[0m after the newline, i.e. at the start of the next stderr line).
import { describe, expect, it } from 'vitest';
import {
  factsOf,
  judgeDump,
  judgeRestore,
  OutputAccumulator,
  parseDumpedDatabases,
  parseDumpHeader,
  parseLine,
  parseTaosdumpVersion,
  stripAnsi,
} from '../../src/engines/taosdump-output.js';

const ok = (m: string) => `\x1b[32mOK: ${m}\n\x1b[0m`;
const err = (m: string) => `\x1b[31mERROR: ${m}\n\x1b[0m`;
const warn = (m: string) => `\x1b[33mWARN: ${m}\n\x1b[0m`;
const TTY = 'Cannot get the attribution of the terminal: Inappropriate ioctl for device\n';
const exit0 = { exitCode: 0, signal: null };

// A clean dump on a real 3.3.7 server (docs/tdengine.md, "Seen on a real TDengine 3.3.7 server").
const CLEAN_DUMP =
  TTY +
  TTY +
  ok('Database: market_data exists') +
  ok('total 8 table(s) of stable: tick schema dumped.') +
  ok('dumpNTablesOfDb() LN3960, dump normal table: calendar') +
  ok('Database market_data dumped') +
  ok('30000 row(s) dumped out!');

const FAILED_TABLE =
  err('Failed to execute taosQuery, code: 0x80002603, reason: Table does not exist, sql=SELECT * FROM market_data.`tick_sh600001` WHERE _c0 >= -9223372036854775807 AND _c0 <= 1748739600000 ORDER BY _c0 ASC; ') +
  err('queryDbForDumpOutNative() LN2187, failed to run command <SELECT * FROM market_data.`tick_sh600001` ...>. code: 0x80002603, reason: Table does not exist');

// A fully successful restore with -W on the real server: benign ERROR lines, exit 0.
const BENIGN_RESTORE =
  TTY +
  ok('[0] 8table(s) belong stb from the file(market_data.1795589326579.avro-tbtags) be successfully dumped in!') +
  err('Failed to execute taosQuery, code: 0x80002603, reason: Table does not exist, sql=DESCRIBE market_data_test.`calendar` ') +
  err('getTableDes() LN1790, failed to run command <DESCRIBE market_data_test.`calendar`>. code: 0x80002603, reason: Table does not exist') +
  ok('[0] 1 normal table(s) from (market_data.1795589326586.avro-ntb) be successfully dumped in!') +
  warn('open file failed. file=/backups/set/tdengine/taosdump.1795589326578/data0-0/stbname error=No such file or directory') +
  ok('[0] 5600 row(s) of file(market_data.1795589326584.0.avro) be successfully dumped in!') +
  ok('30000 row(s) dumped in!');

// A restore of a dump with one damaged .avro file (real server): exit 0.
const DAMAGED_RESTORE =
  ok('[0] 8table(s) belong stb from the file(market_data.1.avro-tbtags) be successfully dumped in!') +
  err('getSchemaAndReaderFromFile() LN1995, Unable to open avro file /b/tdengine/taosdump.9/data0-0e4ddb56/market_data.7.0.avro: Cannot decode file block') +
  err('dumpInOneAvroFile() LN2074, failed to get schema') +
  err('dumpInAvroWorkThreadFp() LN2133, failed to dump file: market_data.7.0.avro') +
  warn('[0] -1 row(s) of file(market_data.7.0.avro) failed to dumped in!') +
  ok('28600 row(s) dumped in!') +
  err('1 failures occurred to dump in!');

describe('lines: colour codes and levels', () => {
  it('the reset that starts the next line does not hide its level (the colour-reset trap)', () => {
    const raw = CLEAN_DUMP.split('\n');
    // the raw line really starts with the previous line's reset: a naive startsWith fails on it
    const dumped = raw.find((l) => l.includes('Database market_data dumped'))!;
    expect(dumped.startsWith('OK:')).toBe(false);
    expect(parseLine(dumped)).toEqual({ level: 'ok', text: 'OK: Database market_data dumped' });
    const e = `\x1b[0m\x1b[31mERROR: 18 row(s) dumped out!`;
    expect(parseLine(e)).toEqual({ level: 'error', text: 'ERROR: 18 row(s) dumped out!' });
    expect(parseLine('\x1b[0m')).toBeNull();
    expect(stripAnsi('\x1b[1;33mWARN: x\x1b[0m')).toBe('WARN: x');
  });

  it('the password prompt (no newline) does not hide the next stdout line', () => {
    expect(parseLine('Enter password: INFO: 100% of tick_sh600000')).toEqual({ level: 'info', text: 'INFO: 100% of tick_sh600000' });
    expect(parseLine('Enter password: ==============================')).toEqual({ level: 'other', text: '==============================' });
    expect(parseLine(TTY.trim())?.level).toBe('other');
  });

  it('keeps memory bounded: INFO lines are counted, not kept; ERROR lines are capped but counted', () => {
    const acc = new OutputAccumulator(50);
    for (let i = 0; i < 100_000; i++) acc.push(`INFO: 100% of tick_sh${600000 + i}`);
    for (let i = 0; i < 1000; i++) acc.push(`\x1b[0m\x1b[31mERROR: table ${i} failed`);
    expect(acc.facts.infoCount).toBe(100_000);
    expect(acc.facts.tablesDone).toBe(100_000);
    expect(acc.facts.lastTable).toBe('tick_sh699999');
    expect(acc.facts.errorCount).toBe(1000);
    expect(acc.facts.errors).toHaveLength(50);
    const v = judgeDump(acc.facts, 'market_data', exit0);
    expect(v.ok).toBe(false);
    expect(v.problems.join(' ')).toContain('1000 ERROR line(s)');
  });
});

describe('judging a dump', () => {
  it('a clean dump passes and gives its row total', () => {
    const v = judgeDump(factsOf(CLEAN_DUMP), 'market_data', exit0);
    expect(v).toMatchObject({ ok: true, problems: [], rows: 30000 });
  });

  it('a partial dump with exit 0 fails: ERROR lines quoted, no "Database dumped" line, an ERROR summary', () => {
    const out =
      ok('Database: market_data exists') +
      ok('total 4 table(s) of stable: tick schema dumped.') +
      FAILED_TABLE +
      ok('dumpNTablesOfDb() LN3960, dump normal table: calendar') +
      err('29950 row(s) dumped out!');
    const v = judgeDump(factsOf(out), 'market_data', exit0);
    expect(v.ok).toBe(false);
    expect(v.rows).toBeNull();
    expect(v.quoted).toHaveLength(3);
    expect(v.quoted[0]).toMatch(/^ERROR: Failed to execute taosQuery, code: 0x80002603, reason: Table does not exist/);
    expect(v.problems.join('\n')).toContain('did not print "OK: Database market_data dumped"');
    expect(v.problems.join('\n')).toContain('"ERROR: 29950 row(s) dumped out!"');
  });

  it('a partial dump whose summary still says OK (the 3.3.6-era source) fails on its ERROR lines', () => {
    const out = ok('Database: market_data exists') + FAILED_TABLE + ok('29950 row(s) dumped out!');
    const v = judgeDump(factsOf(out), 'market_data', exit0);
    expect(v.ok).toBe(false);
    expect(v.rows).toBe(29950);
    expect(v.problems[0]).toMatch(/2 ERROR line/);
  });

  it('a dump of another database (-D silently skipped the one asked for) fails', () => {
    const out = ok('Database: other_db exists') + ok('Database other_db dumped') + ok('10 row(s) dumped out!');
    const v = judgeDump(factsOf(out), 'market_data', exit0);
    expect(v.ok).toBe(false);
    expect(v.problems).toEqual(['taosdump did not print "OK: Database market_data dumped": the database was not dumped whole']);
  });

  it('a connection failure fails (exit 255)', () => {
    const out =
      err('Failed to connect to server 127.0.0.1, code: 0x80000357, reason: Authentication failure! ') +
      'INFO: Retry to connect for 1 after sleep 1000ms ...\n' +
      err('Failed to connect to server 127.0.0.1, code: 0x80000357, reason: Authentication failure! ') +
      err('0 row(s) dumped out!');
    const f = factsOf(out);
    expect(f.connectFailures).toBe(2);
    const v = judgeDump(f, 'market_data', { exitCode: 255, signal: null });
    expect(v.ok).toBe(false);
    expect(v.problems[0]).toBe('taosdump exited with code 255');
  });

  it('a non-zero exit or a signal fails even with clean output', () => {
    expect(judgeDump(factsOf(CLEAN_DUMP), 'market_data', { exitCode: 1, signal: null }).ok).toBe(false);
    expect(judgeDump(factsOf(CLEAN_DUMP), 'market_data', { exitCode: null, signal: 'SIGKILL' }).problems).toEqual(['taosdump was killed by SIGKILL']);
  });

  it('a WARN line alone does not fail a dump', () => {
    const out = warn('dumpNTablesOfDb() LN3911, database: market_data has 0 tables') + ok('Database market_data dumped') + ok('0 row(s) dumped out!');
    const v = judgeDump(factsOf(out), 'market_data', exit0);
    expect(v.ok).toBe(true);
    expect(v.warnings).toHaveLength(1);
  });
});

describe('judging a restore', () => {
  it('the benign ERROR lines of a fully successful restore do not fail it; they become warnings', () => {
    const v = judgeRestore(factsOf(BENIGN_RESTORE), exit0);
    expect(v.ok).toBe(true);
    expect(v.rows).toBe(30000);
    expect(v.warnings).toEqual([
      'ERROR: Failed to execute taosQuery, code: 0x80002603, reason: Table does not exist, sql=DESCRIBE market_data_test.`calendar`',
      'ERROR: getTableDes() LN1790, failed to run command <DESCRIBE market_data_test.`calendar`>. code: 0x80002603, reason: Table does not exist',
      'WARN: open file failed. file=/backups/set/tdengine/taosdump.1795589326578/data0-0/stbname error=No such file or directory',
    ]);
  });

  it('a damaged data file fails it (exit 0): the failure lines are quoted', () => {
    const v = judgeRestore(factsOf(DAMAGED_RESTORE), exit0);
    expect(v.ok).toBe(false);
    expect(v.rows).toBe(28600);
    expect(v.quoted).toEqual([
      'ERROR: dumpInAvroWorkThreadFp() LN2133, failed to dump file: market_data.7.0.avro',
      'WARN: [0] -1 row(s) of file(market_data.7.0.avro) failed to dumped in!',
      'ERROR: 1 failures occurred to dump in!',
    ]);
    // the other ERROR lines are still reported, as warnings
    expect(v.warnings.some((w) => w.includes('Cannot decode file block'))).toBe(true);
  });

  it('the older summary "ERROR: <F> row(s) failed to dump in!" (F negative) fails it', () => {
    const out = ok('28600 row(s) dumped in!') + err('-1 row(s) failed to dump in!');
    const v = judgeRestore(factsOf(out), exit0);
    expect(v.ok).toBe(false);
    expect(v.quoted).toEqual(['ERROR: -1 row(s) failed to dump in!']);
  });

  it('a restore that could not connect and still exited 0 (3.3.6.13) fails', () => {
    const out =
      err('Failed to connect to server 127.0.0.1, code: 0x8000000b, reason: Unable to establish connection! ') +
      err('Failed to dump database path: tdengine in!') +
      err('dumpIn() failed!') +
      ok('0 row(s) dumped in!') +
      err('0 row(s) failed to dump in!');
    const v = judgeRestore(factsOf(out), exit0);
    expect(v.ok).toBe(false);
    expect(v.quoted).toContain('ERROR: dumpIn() failed!');
  });

  it('a restore that says nothing about rows (e.g. pointed at the wrong folder) fails', () => {
    const v = judgeRestore(factsOf(TTY), exit0);
    expect(v.ok).toBe(false);
    expect(v.problems[0]).toMatch(/no "OK: <N> row\(s\) dumped in!" summary/);
  });

  it('a failed tag file ("table(s) ... failed to dumped in", an ERROR line) fails it', () => {
    const out = err('[0] -1 table(s) belong stb from the file(market_data.1.avro-tbtags) failed to dumped in!') + ok('100 row(s) dumped in!');
    expect(judgeRestore(factsOf(out), exit0).ok).toBe(false);
  });
});

describe('version and dbs.sql parsing', () => {
  it('reads taosdump -V of 3.3.6 and of older versions', () => {
    expect(parseTaosdumpVersion('TDengine Community Edition\ntaosdump version: 3.3.6.13\ngit: abc\nbuild: x\n')).toBe('3.3.6.13');
    expect(parseTaosdumpVersion('taosdump version: 3.3.5.6_b94b0d4\ngit: b94b0d4\n')).toBe('3.3.5.6');
    expect(parseTaosdumpVersion('no version here')).toBeNull();
  });

  it('reads the databases a dump holds and its header', () => {
    const sql = '#!server_ver: 3.3.6.13\n#!taosdump_ver: 3.3.6.13_stand-in\n#!os_id: LINUX\n#!escape_char: true\n#!loose_mode: false\n#!charset: UTF-8\n#!dumpdb: market_data: tdengine/taosdump.1795589326578\n\n';
    expect(parseDumpedDatabases(sql)).toEqual(['market_data']);
    expect(parseDumpedDatabases('#!server_ver: 3.3.6.13\n')).toEqual([]);
    expect(parseDumpHeader(sql)).toEqual({ serverVersion: '3.3.6.13', taosdumpVersion: '3.3.6.13_stand-in' });
    // a real 3.3.7 taosdump writes "ver:" before the server's version
    expect(parseDumpHeader('#!server_ver: ver:3.3.7.5\n#!taosdump_ver: 3.3.7.5_abc\n').serverVersion).toBe('3.3.7.5');
  });
});
