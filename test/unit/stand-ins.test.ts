// The TDengine stand-ins must obey docs/tdengine.md, traps included: these tests
// pin each trap, so the product's tests against the stand-ins mean something.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createStore,
  plainLines,
  runTaosdump,
  seedMarketData,
  SETTINGS_FILE,
  TAOSDUMP_STAND_IN,
  standInBin,
  standInEnv,
  startTaosAdapter,
  stripAnsi,
  type SeedSummary,
  type Store,
  type TaosAdapterHandle,
  type TaosdumpSwitches,
} from '../stand-ins/index.js';

let root: string;
let store: Store;
let seed: SeedSummary;

beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'stand-ins-'));
  store = createStore(path.join(root, 'store'));
  seed = seedMarketData(store, { childrenPerStable: 3, rowsPerChild: 20, normalTableRows: 5 });
});

afterEach(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

/** a fresh empty output dir (taosdump requires it to exist) */
function freshDir(name: string): string {
  const d = path.join(root, name);
  fs.mkdirSync(d);
  return d;
}

const result = () => path.join(root, 'result.txt');
const dump = (extra: string[], opts: { stdin?: string; env?: NodeJS.ProcessEnv; switches?: TaosdumpSwitches } = {}) =>
  runTaosdump(['-r', result(), ...extra], { store, cwd: root, ...opts });

function dataFiles(dumpDir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.avro')) out.push(p);
    }
  };
  walk(dumpDir);
  return out.sort();
}

function tableOfDataFile(file: string): string {
  return JSON.parse(fs.readFileSync(file, 'utf8').split('\n')[1] ?? '{}').table;
}

async function goodDump(): Promise<string> {
  const dir = freshDir('dump');
  const r = await dump(['-D', 'market_data', '-o', dir, '-ptaosdata']);
  expect(r.code).toBe(0);
  return dir;
}

describe('taosdump stand-in: basics and exit codes', () => {
  it('-V prints a version like the real one and exits 0', async () => {
    const r = await dump(['-V'], { switches: { version: '3.3.6.13' } });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^TDengine Community Edition\ntaosdump version: 3\.3\.6\.13\ngit: .+\nbuild: .+\n$/);
  });

  it('refuses to run without its settings file (run as test/stand-ins/taosdump itself)', async () => {
    const r = spawnSync(TAOSDUMP_STAND_IN, ['-V'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(r.status).toBe(255);
    expect(r.stderr).toContain(`no store named in ${SETTINGS_FILE} beside ${TAOSDUMP_STAND_IN}`);
  });

  it('takes its switches from the settings file beside the copy it runs as, not from the environment', async () => {
    const bin = standInBin(store, { version: '3.2.1.0' });
    expect(JSON.parse(fs.readFileSync(path.join(bin, SETTINGS_FILE), 'utf8'))).toEqual({ store: store.dir, version: '3.2.1.0' });
    expect((await dump(['-V'], { switches: { version: '3.2.1.0' } })).stdout).toContain('taosdump version: 3.2.1.0');
    expect((await dump(['-V'], { env: { TDSTANDIN_TAOSDUMP_VERSION: '3.2.1.0' } })).stdout).toContain('taosdump version: 3.3.6.13');
  });

  it('refuses a non-loopback host', async () => {
    const r = await dump(['-h', 'db.example.invalid', '-D', 'market_data', '-o', freshDir('o'), '-ptaosdata']);
    expect(r.code).toBe(255);
    expect(r.stderr).toContain('only talks to loopback hosts');
  });

  it.each([
    [['-A', '-D', 'market_data'], 1, 'conflict option --all-databases and --databases'],
    [['-D', 'market_data', 'stray'], 1, 'stray is an invalid input if database(s) be already specified.'],
    [['-P', 'abc', '-D', 'market_data'], 1, "option requires a number argument '-P'"],
    [['-T', 'x', '-D', 'market_data'], 1, '-T need a number following!'],
    [['-d', 'zstd', '-D', 'market_data'], 1, 'Invalid AVRO codec inputted. Exit program!'],
    [['-t', '5', '-D', 'market_data'], 64, 'Option should have been recognized'],
    [['--password=x', '-D', 'market_data'], 64, "option '--password' doesn't allow an argument"],
    [['-x', '-D', 'market_data'], 64, "invalid option -- 'x'"],
    [['-Z', 'Carrier', '-D', 'market_data'], 255, 'Invalid input driver'],
  ])('%j exits %i', async (args, code, message) => {
    const r = await dump([...args, '-o', freshDir('o')]);
    expect(r.code).toBe(code);
    expect(stripAnsi(r.stderr)).toContain(message);
  });
});

describe('taosdump stand-in: TDENGINE_CLOUD_DSN', () => {
  const DSN = 'ws://root:wrong-password@127.0.0.1:6041';

  it('in the environment it switches to WebSocket with the DSN\'s credentials (3.3.5: nothing to refuse it with)', async () => {
    const env = { TDENGINE_CLOUD_DSN: DSN };
    const switches = { version: '3.3.5.6' };
    const r = await dump(['-h', '127.0.0.1', '-D', 'market_data', '-o', freshDir('o'), '-ptaosdata'], { env, switches });
    expect(r.code).toBe(255);
    expect(r.stdout).toContain(`INFO: read dsn from evn dsn=${DSN}`);
    expect(plainLines(r.stderr)[0]).toBe('ERROR: Failed to connect to server 127.0.0.1, code: 0x80000357, reason: Authentication failure! ');
    const z = await dump(['-Z', 'Native', '-D', 'market_data', '-o', freshDir('o2'), '-ptaosdata'], { env, switches });
    expect(z.code).toBe(64); // no -Z before 3.3.6
  });

  it('3.3.6: -Z Native keeps the native driver and says it ignores the DSN', async () => {
    const r = await dump(['-Z', 'Native', '-D', 'market_data', '-o', freshDir('o'), '-ptaosdata'], { env: { TDENGINE_CLOUD_DSN: DSN } });
    expect(r.code).toBe(0);
    expect(plainLines(r.stderr)).toContain(`WARN: command line pass native mode , ignore evn dsn:${DSN}`);
  });
});

describe('taosdump stand-in: -o DIR', () => {
  it('DIR must already exist', async () => {
    const missing = path.join(root, 'missing');
    const r = await dump(['-D', 'market_data', '-o', missing, '-ptaosdata']);
    expect(r.code).toBe(255);
    expect(plainLines(r.stderr)).toContain(`ERROR: ${missing}/ is not exist!`);
  });

  it.each(['dbs.sql', 'taosdump.123', 'x.avro', 'y.avro-ntb', 'z.avro-tbstb'])('DIR holding %s is refused', async (name) => {
    const dir = freshDir('o');
    fs.writeFileSync(path.join(dir, name), '');
    const r = await dump(['-D', 'market_data', '-o', dir, '-ptaosdata']);
    expect(r.code).toBe(255);
    expect(plainLines(r.stderr)).toContain(`ERROR: Found data file(s) exists in ${dir}/! Please use other place to dump out!`);
  });

  it('an unrelated file does not block a dump', async () => {
    const dir = freshDir('o');
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'x');
    const r = await dump(['-D', 'market_data', '-o', dir, '-ptaosdata']);
    expect(r.code).toBe(0);
  });

  it('a failed connection attempt poisons DIR (dbs.sql is written before connecting)', async () => {
    store.updateServer({ users: { root: 'another' } });
    const dir = freshDir('o');
    const first = await dump(['-D', 'market_data', '-o', dir, '-ptaosdata']);
    expect(first.code).toBe(255);
    const err = plainLines(first.stderr);
    expect(err).toContain('ERROR: Failed to connect to server (null), code: 0x80000357, reason: Authentication failure! ');
    expect(err).toContain('ERROR: 0 row(s) dumped out!');
    expect(plainLines(first.stdout).filter((l) => l.startsWith('INFO: Retry to connect for '))).toHaveLength(3);
    expect(fs.existsSync(path.join(dir, 'dbs.sql'))).toBe(true);

    store.updateServer({ users: { root: 'taosdata' } });
    const second = await dump(['-D', 'market_data', '-o', dir, '-ptaosdata']);
    expect(second.code).toBe(255);
    expect(stripAnsi(second.stderr)).toContain('Found data file(s) exists in');
  });

  it('taosd down: connection error with code 0x8000000b, exit 255', async () => {
    store.updateServer({ taosdUp: false });
    const r = await dump(['-h', '127.0.0.1', '-D', 'market_data', '-o', freshDir('o'), '-ptaosdata']);
    expect(r.code).toBe(255);
    expect(plainLines(r.stderr)[0]).toBe('ERROR: Failed to connect to server 127.0.0.1, code: 0x8000000b, reason: Unable to establish connection! ');
  });
});

describe('taosdump stand-in: -p', () => {
  it('bare -p prompts on stdout; EOF on stdin silently leaves the password "taosdata"', async () => {
    const r = await dump(['-p', '-D', 'market_data', '-o', freshDir('o')]);
    expect(r.code).toBe(0);
    expect(r.stdout.startsWith('Enter password: ')).toBe(true);
    expect(r.stderr).toContain('Cannot get the attribution of the terminal: Inappropriate ioctl for device');
  });

  it('bare -p with EOF fails once the real password is not the default', async () => {
    store.updateServer({ users: { root: 's3cret' } });
    const r = await dump(['-p', '-D', 'market_data', '-o', freshDir('o')]);
    expect(r.code).toBe(255);
    expect(stripAnsi(r.stderr)).toContain('reason: Authentication failure!');
  });

  it('bare -p reads one whitespace-free token from stdin', async () => {
    store.updateServer({ users: { root: 's3cret' } });
    const r = await dump(['-p', '-D', 'market_data', '-o', freshDir('o')], { stdin: '  s3cret\nignored\n' });
    expect(r.code).toBe(0);
  });

  it('a token longer than 255 characters is silently truncated', async () => {
    const long = 'a'.repeat(300);
    store.updateServer({ users: { root: long.slice(0, 255) } });
    const r = await dump(['-p', '-D', 'market_data', '-o', freshDir('o')], { stdin: long });
    expect(r.code).toBe(0);
  });

  it('an open stdin that is never written makes it hang', async () => {
    const r = await runTaosdump(['-r', result(), '-p', '-D', 'market_data', '-o', freshDir('o')], { store, cwd: root, stdin: 'open', timeoutMs: 1500 });
    expect(r.signal).toBe('SIGKILL');
    expect(r.stdout).toBe('Enter password: ');
  });

  it('-p SECRET (space) without -D: SECRET is taken as the database name', async () => {
    const asDb = await dump(['-p', 'market_data', '-o', freshDir('o1')]);
    expect(asDb.code).toBe(0);
    expect(asDb.stdout).toContain('arg_list[0]: market_data');
    expect(plainLines(asDb.stderr)).toContain('OK: Database market_data dumped');

    const leaked = await dump(['-p', 'hunter2', '-o', freshDir('o2')]);
    expect(leaked.code).toBe(255);
    expect(leaked.stdout).toContain('arg_list[0]: hunter2');
    expect(plainLines(leaked.stderr)).toContain('ERROR: 0 database(s) valid to dump');
  });

  it('-p SECRET (space) on a restore (-i, no -D): silently accepted, SECRET a stray positional', async () => {
    const dir = await goodDump();
    const r = await dump(['-i', dir, '-p', 'hunter2', '-W', 'market_data=market_data_test']);
    expect(r.code).toBe(0);
    expect(r.stdout.startsWith('Enter password: ')).toBe(true);
    expect(r.stdout).toContain('arg_list[0]: hunter2');
    expect(plainLines(r.stderr).filter((l) => l.includes('hunter2'))).toEqual([]);
    expect(plainLines(r.stderr)).toContain(`OK: ${seed.totalRows} row(s) dumped in!`);
    // it logged in with the default password (stdin EOF), not with the stray "hunter2"
    expect(store.countRows('market_data_test', 'tick')).toBe(seed.stableRows.tick);
  });

  it('-p SECRET (space) with -D exits 1', async () => {
    const r = await dump(['-p', 'hunter2', '-D', 'market_data', '-o', freshDir('o')]);
    expect(r.code).toBe(1);
    expect(plainLines(r.stderr)).toContain('ERROR: hunter2 is an invalid input if database(s) be already specified.');
  });
});

describe('taosdump stand-in: dump output', () => {
  it('a clean dump prints the OK lines and writes the documented layout', async () => {
    const dir = freshDir('dump');
    const r = await dump(['-D', 'market_data,not_there', '-o', dir, '-ptaosdata']);
    expect(r.code).toBe(0);
    const err = plainLines(r.stderr);
    expect(err.filter((l) => l.startsWith('ERROR:'))).toEqual([]);
    expect(err).toContain('OK: Database: market_data exists');
    expect(err).toContain('OK: total 3 table(s) of stable: tick schema dumped.');
    expect(err).toContain('OK: Database market_data dumped');
    expect(err).toContain(`OK: ${seed.totalRows} row(s) dumped out!`);
    expect(plainLines(r.stdout).filter((l) => /^INFO: 100% of /.test(l))).toHaveLength(seed.childTables.length + seed.normalTables.length);

    const top = fs.readFileSync(path.join(dir, 'dbs.sql'), 'utf8');
    // a real 3.3.7 taosdump writes the version after "ver:"
    expect(top).toMatch(/^#!server_ver: ver:3\.3\.6\.13$/m);
    expect(top).toMatch(/^#!dumpdb: market_data: .*taosdump\.\d+$/m);
    const [sub] = fs.readdirSync(dir).filter((e) => e.startsWith('taosdump.'));
    const subDir = path.join(dir, sub!);
    expect(fs.readFileSync(path.join(subDir, 'dbs.sql'), 'utf8')).toMatch(/^CREATE DATABASE IF NOT EXISTS market_data .*PRECISION 'ms'/m);
    const entries = fs.readdirSync(subDir);
    expect(entries.filter((e) => e.endsWith('.avro-tbtags'))).toHaveLength(2);
    expect(entries.filter((e) => e.endsWith('.avro-tbtags.m'))).toHaveLength(2);
    expect(entries.filter((e) => e.endsWith('.avro-ntb'))).toHaveLength(1);
    expect(entries.filter((e) => /^data0-[0-9a-f]{8}$/.test(e))).toHaveLength(2);
    expect(fs.readdirSync(path.join(subDir, 'data0-0'))).toHaveLength(1);
    expect(dataFiles(dir)).toHaveLength(seed.childTables.length + 1);
  });

  it('-S/-E bound the dumped rows by ts', async () => {
    const end = seed.firstTs + 9_000; // rows 0..9 of each child (1 s apart)
    const r = await dump(['-D', 'market_data', '-o', freshDir('o'), '-S', String(seed.firstTs), '-E', String(end), '-ptaosdata']);
    expect(r.code).toBe(0);
    const expected = seed.childTables.length * 10 + 1; // calendar: only its first row is in range
    expect(plainLines(r.stderr)).toContain(`OK: ${expected} row(s) dumped out!`);
  });

  it('colour: the reset ESC[0m comes after the newline, at the start of the next stderr line', async () => {
    const dir = await goodDump();
    const r = await dump(['-i', dir, '-W', 'market_data=market_data_test', '-ptaosdata']); // OK, ERROR and WARN lines
    for (const [colour, word] of [['32', 'OK'], ['31', 'ERROR'], ['33', 'WARN']]) {
      expect(r.stderr).toMatch(new RegExp(`\x1b\\[${colour}m${word}: [^\x1b\n]*\n\x1b\\[0m`));
    }
    const lines = r.stderr.split('\n');
    for (const l of lines.slice(1)) expect(l.startsWith('\x1b[0m')).toBe(true);
    // eslint-disable-next-line no-control-regex -- the colour reset is what is checked
    expect(r.stderr).not.toMatch(/\x1b\[0m\n/);
  });

  it('a partial failure exits 0 with ERROR lines, an ERROR summary and no "Database ... dumped"', async () => {
    const bad = seed.childTables[1]!;
    store.updateServer({ faults: { failDumpTable: bad } });
    const r = await dump(['-D', 'market_data', '-o', freshDir('o'), '-ptaosdata']);
    expect(r.code).toBe(0);
    const err = plainLines(r.stderr);
    expect(err.some((l) => l.startsWith('ERROR: Failed to execute taosQuery') && l.includes(bad))).toBe(true);
    expect(err).toContain(`ERROR: ${seed.totalRows - seed.rows[bad]!} row(s) dumped out!`);
    expect(err).not.toContain('OK: Database market_data dumped');
  });

  it('can be killed mid-dump (switch slowMs), leaving a poisoned partial DIR', async () => {
    const dir = freshDir('o');
    const child = spawn('taosdump', ['-r', result(), '-D', 'market_data', '-o', dir, '-ptaosdata'], {
      env: standInEnv(store, {}, { slowMs: 300 }),
      cwd: root,
    });
    child.stdin.end();
    await new Promise<void>((resolve) => {
      child.stdout.on('data', (d: Buffer) => {
        if (d.toString().includes('INFO: 100% of ')) resolve();
      });
    });
    child.kill('SIGKILL');
    const [code, signal] = await new Promise<[number | null, string | null]>((resolve) => child.on('close', (c, s) => resolve([c, s])));
    expect([code, signal]).toEqual([null, 'SIGKILL']);
    expect(dataFiles(dir).length).toBeLessThan(seed.childTables.length + 1);
    const again = await dump(['-D', 'market_data', '-o', dir, '-ptaosdata']);
    expect(again.code).toBe(255);
  });
});

describe('taosdump stand-in: seen on a real 3.3.7 server', () => {
  it('taosd gone mid-dump: taosdump blocks silently until it is back, then exits 0 with a short total', async () => {
    store.updateServer({ faults: { taosdDownAfterTables: 2 } });
    const dir = freshDir('o');
    const child = spawn('taosdump', ['-r', result(), '-D', 'market_data', '-o', dir, '-ptaosdata'], { env: standInEnv(store), cwd: root });
    child.stdin.end();
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const closed = new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    let exited = false;
    void closed.then(() => (exited = true));
    // the stand-in "server" dies after two tables (it sets taosdUp false itself)
    while (store.readServer().taosdUp) await new Promise((r) => setTimeout(r, 20));
    expect(store.readServer().faults.taosdDownAfterTables).toBeUndefined();
    // still blocked, and silent, while the server stays down (polled: no time is asserted)
    const doneSoFar = (stdout.match(/INFO: 100% of /g) ?? []).length;
    for (let i = 0; i < 10; i++) {
      await new Promise((r) => setTimeout(r, 30));
      expect(exited).toBe(false);
    }
    expect((stdout.match(/INFO: 100% of /g) ?? []).length).toBe(doneSoFar);
    expect(plainLines(stderr).filter((l) => l.startsWith('ERROR:'))).toEqual([]);
    store.updateServer({ taosdUp: true });
    expect(await closed).toBe(0);
    const err = plainLines(stderr);
    // the table whose query was running when taosd went away (the third: minute_bar first) lost its rows; nothing says so
    expect(err).toContain(`OK: ${seed.totalRows - seed.rows['minute_bar_sh600002']!} row(s) dumped out!`);
    expect(err).toContain('OK: Database market_data dumped');
    expect(err.filter((l) => l.startsWith('ERROR:'))).toEqual([]);
  });

  it('dbs.sql records the server version after "ver:"', async () => {
    const dir = await goodDump();
    expect(fs.readFileSync(path.join(dir, 'dbs.sql'), 'utf8')).toMatch(/^#!server_ver: ver:3\.3\.6\.13$/m);
  });

  it('futureRows: calendar rows dated after now, dumped without -E, left out with an -E of now', async () => {
    const s = seedMarketData(store, { database: 'md_future', childrenPerStable: 2, rowsPerChild: 5, normalTableRows: 3, futureRows: 20 });
    expect(s.futureRows).toBe(20);
    expect(s.rows.calendar).toBe(23);
    const now = Date.now();
    expect(store.countRows('md_future', 'calendar', { from: now + 1 })).toBe(20);
    const all = await dump(['-D', 'md_future', '-o', freshDir('all'), '-ptaosdata']);
    expect(plainLines(all.stderr)).toContain(`OK: ${s.totalRows} row(s) dumped out!`);
    const bounded = await dump(['-D', 'md_future', '-o', freshDir('bounded'), '-E', String(now), '-ptaosdata']);
    expect(plainLines(bounded.stderr)).toContain(`OK: ${s.totalRows - 20} row(s) dumped out!`);
  });
});

describe('taosdump stand-in: restore', () => {
  it('without -W it writes into the RECORDED database; -D is ignored on restore', async () => {
    const dir = await goodDump();
    store.dropDatabase('market_data');
    const r = await dump(['-i', dir, '-D', 'market_data_test', '-ptaosdata']);
    expect(r.code).toBe(0);
    expect(store.readDatabase('market_data_test')).toBeNull();
    expect(store.countRows('market_data', 'tick')).toBe(seed.stableRows.tick);
    expect(store.countRows('market_data', 'calendar')).toBe(seed.rows.calendar);
  });

  it('with -W "old=new" it writes into the new database and prints the benign normal-table lines', async () => {
    const dir = await goodDump();
    const r = await dump(['-i', dir, '-W', 'market_data=market_data_test', '-ptaosdata']);
    expect(r.code).toBe(0);
    const err = plainLines(r.stderr);
    expect(err).toContain('ERROR: Failed to execute taosQuery, code: 0x80002603, reason: Table does not exist, sql=DESCRIBE market_data_test.`calendar` ');
    expect(err.some((l) => l.startsWith('ERROR: getTableDes() LN1790, failed to run command <DESCRIBE market_data_test.`calendar`>'))).toBe(true);
    expect(err.some((l) => /^WARN: open file failed\. file=.*\/data0-0\/stbname error=No such file or directory$/.test(l))).toBe(true);
    expect(err).toContain(`OK: ${seed.totalRows} row(s) dumped in!`);
    for (const t of [...seed.stables, ...seed.normalTables]) {
      expect(store.countRows('market_data_test', t)).toBe(store.countRows('market_data', t));
    }
  });

  it.each([
    ['3.0.7.0', 64],
    ['3.1.1.16', 64],
    ['3.1.1.17', 0],
    ['3.2.1.0', 64],
    ['3.2.2.0', 0],
    ['3.3.5.6', 0],
  ])('-W exists since 3.1.1.17 / 3.2.2.0: taosdump %s exits %i', async (version, code) => {
    const dir = await goodDump();
    const switches = { version };
    const r = await dump(['-i', dir, '-W', 'market_data=market_data_test', '-ptaosdata'], { switches });
    expect(r.code).toBe(code);
    if (code === 64) {
      expect(r.stderr).toContain("taosdump: invalid option -- 'W'");
      expect(store.readDatabase('market_data_test')).toBeNull();
      const long = await dump(['-i', dir, '--rename=market_data=market_data_test', '-ptaosdata'], { switches });
      expect(long.code).toBe(64);
      expect(long.stderr).toContain("unrecognized option '--rename=market_data=market_data_test'");
    } else {
      expect(store.countRows('market_data_test', 'tick')).toBe(seed.stableRows.tick);
    }
  });

  it('-W names are exact and case-sensitive', async () => {
    const dir = await goodDump();
    const r = await dump(['-i', dir, '-W', 'Market_Data=market_data_test', '-ptaosdata']);
    expect(r.code).toBe(0);
    expect(store.readDatabase('market_data_test')).toBeNull();
  });

  it('restoring into an existing database merges (rows with the same ts are not doubled)', async () => {
    const dir = await goodDump();
    await dump(['-i', dir, '-ptaosdata']);
    expect(store.countRows('market_data', 'tick')).toBe(seed.stableRows.tick);
  });

  it('a damaged data file: failure lines, exit 0, that table missing, the rest restored', async () => {
    const dir = await goodDump();
    const file = dataFiles(dir).find((f) => tableOfDataFile(f) === seed.childTables[0])!;
    // flip one digit of the last row's timestamp: still valid JSON, so only the checksum can tell
    const bytes = fs.readFileSync(file);
    const at = bytes.lastIndexOf('\n[') + 2;
    bytes[at + 5]! ^= 0x01;
    fs.writeFileSync(file, bytes);
    const base = path.basename(file);

    const r = await dump(['-i', dir, '-W', 'market_data=market_data_test', '-ptaosdata']);
    expect(r.code).toBe(0);
    const err = plainLines(r.stderr);
    expect(err.some((l) => /^ERROR: .*Unable to open avro file .*: Cannot decode file block$/.test(l) && l.includes(base))).toBe(true);
    expect(err.some((l) => /^ERROR: dumpInAvroWorkThreadFp\(\) .*, failed to dump file: /.test(l) && l.endsWith(base))).toBe(true);
    expect(err.some((l) => /^WARN: \[\d+\] -1 row\(s\) of file\(.*\) failed to dumped in!$/.test(l) && l.includes(base))).toBe(true);
    const lost = seed.rows[seed.childTables[0]!]!;
    expect(err).toContain(`OK: ${seed.totalRows - lost} row(s) dumped in!`);
    expect(err).toContain('ERROR: 1 failures occurred to dump in!');
    expect(store.countRows('market_data_test', seed.childTables[0]!)).toBe(0);
    expect(store.countRows('market_data_test', seed.childTables[1]!)).toBe(seed.rows[seed.childTables[1]!]);
  });

  it('a truncated data file is detected too', async () => {
    const dir = await goodDump();
    const file = dataFiles(dir)[0]!;
    fs.truncateSync(file, Math.floor(fs.statSync(file).size * 0.7));
    const r = await dump(['-i', dir, '-W', 'market_data=market_data_test', '-ptaosdata']);
    expect(r.code).toBe(0);
    expect(plainLines(r.stderr)).toContain('ERROR: 1 failures occurred to dump in!');
  });

  it('corruptOnRestore and dropRowsOnRestore faults', async () => {
    const dir = await goodDump();
    const [c0, c1] = seed.childTables;
    store.updateServer({ faults: { corruptOnRestore: c0!, dropRowsOnRestore: { table: c1!, rows: 3 } } });
    const r = await dump(['-i', dir, '-W', 'market_data=market_data_test', '-ptaosdata']);
    expect(r.code).toBe(0);
    const err = plainLines(r.stderr);
    expect(err).toContain(`OK: ${seed.totalRows - seed.rows[c0!]!} row(s) dumped in!`); // claims c1 in full
    expect(store.countRows('market_data_test', c0!)).toBe(0);
    expect(store.countRows('market_data_test', c1!)).toBe(seed.rows[c1!]! - 3);
  });

  it('restore that cannot connect: exit code from the switch restoreConnectExit (default 0)', async () => {
    const dir = await goodDump();
    store.updateServer({ taosdUp: false });
    const r = await dump(['-i', dir, '-ptaosdata']);
    expect(r.code).toBe(0);
    expect(plainLines(r.stderr)).toContain('ERROR: dumpIn() failed!');
    const r255 = await dump(['-i', dir, '-ptaosdata'], { switches: { restoreConnectExit: 255 } });
    expect(r255.code).toBe(255);
  });
});

describe('taosAdapter REST stand-in', () => {
  let adapter: TaosAdapterHandle;
  beforeEach(async () => {
    adapter = await startTaosAdapter({ store });
  });
  afterEach(async () => {
    await adapter.close();
  });

  const auth = (user = 'root', password = 'taosdata') => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  async function sql(body: string, { authorization = auth(), suffix = '' } = {}) {
    const res = await fetch(`${adapter.url}/rest/sql${suffix}`, { method: 'POST', body, headers: authorization ? { Authorization: authorization } : {} });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  }

  it('listens on 127.0.0.1', () => {
    expect(adapter.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('answers the documented queries', async () => {
    expect((await sql('SELECT SERVER_VERSION()')).json).toEqual({ code: 0, column_meta: [['server_version()', 'VARCHAR', 72]], data: [['3.3.6.13']], rows: 1 });
    const dbs = (await sql('select name from information_schema.ins_databases')).json;
    expect(dbs.data).toEqual([['information_schema'], ['performance_schema'], ['market_data']]);
    const stbs = (await sql("SELECT stable_name FROM information_schema.ins_stables WHERE db_name='market_data'")).json;
    expect(stbs.data).toEqual([['minute_bar'], ['tick']]);
    const tbs = (await sql("SELECT table_name, stable_name, type FROM information_schema.ins_tables WHERE db_name = 'market_data'")).json;
    expect(tbs.rows).toBe(seed.childTables.length + 1);
    expect(tbs.data).toContainEqual(['calendar', null, 'NORMAL_TABLE']);
    expect(tbs.data).toContainEqual([seed.childTables[0], 'tick', 'CHILD_TABLE']);
    expect((await sql('SELECT COUNT(*) FROM market_data.tick')).json.data).toEqual([[seed.stableRows.tick]]);
    const cut = seed.firstTs + 4_000;
    expect((await sql(`SELECT COUNT(*) FROM market_data.\`tick\` WHERE _c0 <= ${cut};`)).json.data).toEqual([[3 * 5]]);
    expect((await sql(`SELECT COUNT(*) FROM market_data.tick WHERE _c0 <= '${new Date(cut).toISOString()}'`)).json.data).toEqual([[3 * 5]]);
    const parts = (await sql('select tbname, count(*) from market_data.tick partition by tbname')).json;
    expect(parts.column_meta).toEqual([
      ['tbname', 'VARCHAR', 192],
      ['count(*)', 'BIGINT', 8],
    ]);
    expect(parts.rows).toBe(3);
    expect((await sql('SELECT COUNT(*) FROM calendar', { suffix: '/market_data' })).json.data).toEqual([[seed.rows.calendar]]);
  });

  it('COUNT(*) with time bounds (answered by binary search, as a real server reads its block index) equals a row-by-row count', async () => {
    const ts = (i: number) => seed.firstTs + i * 1000; // each child: rows 0..19, 1 s apart
    const count = async (where: string) => (await sql(`SELECT COUNT(*) FROM market_data.tick WHERE ${where}`)).json.data;
    const cases: [string, number][] = [
      [`_c0 <= ${ts(4)}`, 5],
      [`_c0 < ${ts(4)}`, 4],
      [`_c0 > ${ts(4)}`, 15],
      [`_c0 >= ${ts(4)}`, 16],
      [`_c0 >= ${ts(4)} AND _c0 < ${ts(10)}`, 6],
      [`_c0 > ${ts(10)} AND _c0 < ${ts(4)}`, 0],
      [`_c0 <= ${ts(-1)}`, 0],
      [`_c0 > ${ts(19)}`, 0],
      [`_c0 <= ${ts(19)}`, 20],
      [`ts = ${ts(7)}`, 1],
      [`_c0 <> ${ts(7)}`, 19],
    ];
    for (const [where, perChild] of cases) expect([where, await count(where)]).toEqual([where, [[3 * perChild]]]);
    // rows out of timestamp order (never written so by the store, but a hand-made file could be): still right, by a scan
    const db = store.readDatabase('market_data')!;
    db.rows['tick_sh600000'] = [...db.rows['tick_sh600000']!].reverse();
    store.writeDatabase(db);
    expect(await count(`_c0 <= ${ts(4)}`)).toEqual([[3 * 5]]);
    expect(await count(`_c0 > ${ts(4)}`)).toEqual([[3 * 15]]);
  });

  it('COUNT(*) over information_schema answers one row, as the table-count scan does', async () => {
    const tick = (await sql("SELECT COUNT(*) FROM information_schema.ins_tables WHERE db_name='market_data' AND stable_name='tick'")).json;
    expect(tick).toEqual({ code: 0, column_meta: [['count(*)', 'BIGINT', 8]], data: [[3]], rows: 1 });
    expect((await sql("select count(*) from information_schema.ins_stables where db_name = 'market_data'")).json.data).toEqual([[2]]);
    expect((await sql("SELECT COUNT(*) FROM information_schema.ins_tables WHERE db_name='market_data' AND type='NORMAL_TABLE'")).json.data).toEqual([[1]]);
    expect((await sql("SELECT COUNT(*) FROM information_schema.ins_tables WHERE db_name='nope'")).json.data).toEqual([[0]]);
    // no GROUP BY: a column beside COUNT(*) is an error
    expect((await sql("SELECT table_name, COUNT(*) FROM information_schema.ins_tables WHERE db_name='market_data'")).json.code).toBe(9728);
  });

  it('`precision` is a keyword: backquoted it is the column, bare it is a syntax error', async () => {
    const q = (col: string) => sql(`SELECT name, ${col} FROM information_schema.ins_databases WHERE name='market_data'`);
    expect((await q('`precision`')).json).toMatchObject({ code: 0, data: [['market_data', 'ms']] });
    expect((await q('precision')).json.code).toBe(9728);
    expect((await sql("SELECT name FROM information_schema.ins_databases WHERE precision='ms'")).json.code).toBe(9728);
    expect((await sql("SELECT name FROM information_schema.ins_databases WHERE `precision`='ms'")).json.data).toContainEqual(['market_data']);
  });

  it('faults: failSql answers an SQL error; shortListing cuts listings short with code 0', async () => {
    store.updateServer({ faults: { failSql: 'stable_name=' } });
    const failed = await sql("SELECT COUNT(*) FROM information_schema.ins_tables WHERE db_name='market_data' AND stable_name='tick'");
    expect(failed.status).toBe(200);
    expect(failed.json).toMatchObject({ code: 9728, desc: 'stand-in fault failSql: stable_name=' });
    store.updateServer({ faults: { failSql: null, shortListing: 1 } });
    const listed = (await sql("SELECT table_name FROM information_schema.ins_tables WHERE db_name='market_data'")).json;
    expect(listed).toMatchObject({ code: 0, rows: seed.childTables.length });
    expect((await sql("SELECT COUNT(*) FROM information_schema.ins_tables WHERE db_name='market_data'")).json.data).toEqual([[seed.childTables.length + 1]]);
  });

  it('DDL answers affected_rows; DROP/CREATE DATABASE act on the store', async () => {
    const created = await sql("CREATE DATABASE IF NOT EXISTS scratch PRECISION 'ms'");
    expect(created.json).toEqual({ code: 0, column_meta: [['affected_rows', 'INT', 4]], data: [[0]], rows: 1 });
    expect(store.readDatabase('scratch')).not.toBeNull();
    expect((await sql('DROP DATABASE IF EXISTS scratch')).json.code).toBe(0);
    expect(store.readDatabase('scratch')).toBeNull();
    expect((await sql('DROP DATABASE scratch')).json.code).toBe(0x388);
  });

  it('SQL errors come with HTTP 200, a code and timing', async () => {
    const r = await sql('SHOW DATABASES');
    expect(r.status).toBe(200);
    expect(r.json.code).toBe(9728);
    expect(typeof r.json.desc).toBe('string');
    expect(typeof r.json.timing).toBe('number');
    expect((await sql('SELECT COUNT(*) FROM market_data.nope')).json.code).toBe(0x2603);
  });

  it('wrong password: HTTP 200 with code 855', async () => {
    const r = await sql('SELECT SERVER_VERSION()', { authorization: auth('root', 'wrong') });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ code: 855, desc: 'Authentication failure' });
  });

  it('missing or malformed Authorization: HTTP 401', async () => {
    expect((await sql('SELECT SERVER_VERSION()', { authorization: '' })).status).toBe(401);
    expect((await sql('SELECT SERVER_VERSION()', { authorization: 'Basic !!!' })).status).toBe(401);
    expect((await sql('SELECT SERVER_VERSION()', { authorization: 'Token abc' })).status).toBe(401);
  });

  it('taosd down while the adapter is up: code 11, HTTP 200', async () => {
    store.updateServer({ taosdUp: false });
    const r = await sql('SELECT SERVER_VERSION()');
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ code: 11, desc: 'Unable to establish connection' });
  });

  it('adapter down: connection refused, and back up on the same port', async () => {
    store.updateServer({ adapterUp: false });
    await adapter.refresh();
    const err = await fetch(`${adapter.url}/rest/sql`, { method: 'POST', body: 'SELECT SERVER_VERSION()' }).then(
      () => null,
      (e: unknown) => e as Error & { cause?: { code?: string } },
    );
    expect(err?.cause?.code).toBe('ECONNREFUSED');
    store.updateServer({ adapterUp: true });
    await adapter.refresh();
    expect((await sql('SELECT SERVER_VERSION()')).json.code).toBe(0);
  });

  it('REST counts bounded by -E match what the dump wrote', async () => {
    const end = seed.firstTs + 7_000;
    const r = await dump(['-D', 'market_data', '-o', freshDir('o'), '-E', String(end), '-ptaosdata']);
    const dumped = Number(/OK: (\d+) row\(s\) dumped out!/.exec(stripAnsi(r.stderr))?.[1]);
    let viaSql = 0;
    for (const t of [...seed.stables, ...seed.normalTables]) {
      const { json } = await sql(`SELECT COUNT(*) FROM market_data.${t} WHERE _c0 <= ${end}`);
      viaSql += (json.data as number[][])[0]![0]!;
    }
    expect(dumped).toBe(viaSql);
  });

  describe('database precision (us, ns): epochs are read in it', () => {
    /** The first value of the answer's first row. */
    const first = async (q: string): Promise<unknown> => {
      const { json } = await sql(q);
      expect(json.code).toBe(0);
      return (json.data as unknown[][])[0]![0];
    };

    it.each([
      ['us', 1000n],
      ['ns', 1_000_000n],
    ] as const)('%s: REST WHERE _c0 and taosdump -E take epochs in the precision; a ms epoch is far in the past', async (precision, factor) => {
      const s = seedMarketData(store, { database: `md_${precision}`, precision, childrenPerStable: 2, rowsPerChild: 10, normalTableRows: 3 });
      const cutMs = s.firstTs + 4_000; // rows 0..4 of each child (1 s apart)
      const cut = BigInt(cutMs) * factor;
      expect(await first(`SELECT name, \`precision\` FROM information_schema.ins_databases WHERE name='md_${precision}'`)).toBe(`md_${precision}`);
      expect(await first(`SELECT COUNT(*) FROM md_${precision}.tick WHERE _c0 <= ${cut}`)).toBe(2 * 5);
      expect(await first(`SELECT COUNT(*) FROM md_${precision}.tick WHERE _c0 <= ${cutMs}`)).toBe(0);
      expect(await first(`SELECT COUNT(*) FROM md_${precision}.tick WHERE _c0 <= '${new Date(cutMs).toISOString()}'`)).toBe(2 * 5);

      const wrong = await dump(['-D', `md_${precision}`, '-o', freshDir('o-ms'), '-E', String(cutMs), '-ptaosdata']);
      expect(plainLines(wrong.stderr)).toContain('OK: 0 row(s) dumped out!');
      const dir = freshDir('o');
      const right = await dump(['-D', `md_${precision}`, '-o', dir, '-E', String(cut), '-ptaosdata']);
      const expected = 2 * 2 * 5 + 1; // two super tables of two children, 5 rows each; calendar's first row
      expect(plainLines(right.stderr)).toContain(`OK: ${expected} row(s) dumped out!`);
      const [sub] = fs.readdirSync(dir).filter((e) => e.startsWith('taosdump.'));
      expect(fs.readFileSync(path.join(dir, sub!, 'dbs.sql'), 'utf8')).toContain(`PRECISION '${precision}'`);

      // a restore recreates the precision, so the same epochs bound the scratch copy
      await dump(['-i', dir, '-W', `md_${precision}=md_copy`, '-ptaosdata']);
      expect(store.readDatabase('md_copy')?.precision).toBe(precision);
      expect(await first(`SELECT COUNT(*) FROM md_copy.tick WHERE _c0 <= ${cut}`)).toBe(2 * 5);
    });

    it('seedMarketData refuses a precision other than the existing database\'s', () => {
      expect(() => seedMarketData(store, { precision: 'us' })).toThrow(/exists with precision ms/);
    });
  });
});
