/**
 * Reading taosdump's output (pure: no I/O). taosdump's exit code is not its verdict (a partial
 * failure exits 0), so its lines are: OK:/ERROR:/WARN: on stderr, INFO: on stdout. Each coloured
 * line is written as `ESC[3Xm` + `LEVEL: text\n` + `ESC[0m`: the reset starts the NEXT line, so
 * codes are stripped from every line before the level is read. See docs/tdengine.md,
 * "Exit codes and output: exit 0 is not success".
 */

export type LineLevel = 'ok' | 'error' | 'warn' | 'info' | 'other';

export interface ParsedLine {
  level: LineLevel;
  /** The line without colour codes, e.g. "ERROR: 1 failures occurred to dump in!". */
  text: string;
}

// CSI sequences (colours and the like) and lone ESC pairs: control characters are the point here.
// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[@-Z\\-_]/g;

export function stripAnsi(s: string): string {
  return s.replace(ANSI, '');
}

/** Bare `-p` prints `Enter password: ` without a newline, so it prefixes the next stdout line. */
const PROMPT = /^(?:Enter password: )+/;

/** One raw line (from either stream) -> its level and plain text; null when nothing is left. */
export function parseLine(raw: string): ParsedLine | null {
  const text = stripAnsi(raw).replace(PROMPT, '').replace(/\r$/, '').trimEnd();
  if (text === '') return null;
  const level: LineLevel = text.startsWith('ERROR:')
    ? 'error'
    : text.startsWith('WARN:')
      ? 'warn'
      : text.startsWith('OK:')
        ? 'ok'
        : text.startsWith('INFO:')
          ? 'info'
          : 'other';
  return { level, text };
}

const RE = {
  dumpedOut: /^(OK|ERROR): (-?\d+) row\(s\) dumped out!/,
  dumpedIn: /^OK: (-?\d+) row\(s\) dumped in!/,
  failedIn: /^ERROR: (-?\d+) row\(s\) failed to dump in!/,
  failures: /^ERROR: (-?\d+) failures occurred to dump in!/,
  dumpInFailed: /^ERROR: dumpIn\(\) failed!/,
  databaseDumped: /^OK: Database (\S+) dumped\s*$/,
  connectFailed: /^ERROR: Failed to connect to server /,
  tableDone: /^INFO: 100% of (.+)$/,
};

/** What a run printed, gathered while it streams (INFO lines are counted, never kept). */
export interface OutputFacts {
  /** Every ERROR: line, up to `keep` of them. */
  errors: string[];
  errorCount: number;
  /** Every WARN: line, up to `keep`. */
  warnings: string[];
  warnCount: number;
  /** OK: lines, up to `keep`. */
  oks: string[];
  /** Lines that are none of OK/ERROR/WARN/INFO (e.g. the terminal-attribute complaint), up to `keep`. */
  others: string[];
  /** INFO: lines seen. */
  infoCount: number;
  /** Tables whose data was written (`INFO: 100% of <table>`). */
  tablesDone: number;
  lastTable: string | null;
  /** `OK: Database <db> dumped` names. */
  databasesDumped: string[];
  /** `OK: <N> row(s) dumped out!` (null when absent). */
  rowsDumpedOut: number | null;
  /** `ERROR: <N> row(s) dumped out!`: the summary of a failed dump. */
  rowsDumpedOutFailed: number | null;
  /** `OK: <N> row(s) dumped in!` */
  rowsDumpedIn: number | null;
  /** Restore failure lines (summary lines, `failed to dump file`, `failed to dumped in`), up to `keep`. */
  restoreFailures: string[];
  restoreFailureCount: number;
  /** `ERROR: Failed to connect to server ...` lines. */
  connectFailures: number;
}

export function emptyFacts(): OutputFacts {
  return {
    errors: [],
    errorCount: 0,
    warnings: [],
    warnCount: 0,
    oks: [],
    others: [],
    infoCount: 0,
    tablesDone: 0,
    lastTable: null,
    databasesDumped: [],
    rowsDumpedOut: null,
    rowsDumpedOutFailed: null,
    rowsDumpedIn: null,
    restoreFailures: [],
    restoreFailureCount: 0,
    connectFailures: 0,
  };
}

/** Is this plain line one of the restore failures docs/tdengine.md lists? */
export function isRestoreFailureLine(text: string): boolean {
  return (
    RE.failures.test(text) ||
    RE.failedIn.test(text) ||
    RE.dumpInFailed.test(text) ||
    text.includes('failed to dump file') ||
    // the source's typo; printed as WARN: for data files, ERROR: for tag and normal-table files
    text.includes('failed to dumped in')
  );
}

/** Gathers facts line by line; memory stays bounded whatever the run prints. */
export class OutputAccumulator {
  readonly facts: OutputFacts = emptyFacts();

  constructor(private readonly keep = 200) {}

  private add(list: string[], text: string): void {
    if (list.length < this.keep) list.push(text);
  }

  /** Feeds one raw line; returns it parsed (null for an empty line). */
  push(raw: string): ParsedLine | null {
    const line = parseLine(raw);
    if (!line) return null;
    const f = this.facts;
    const { text } = line;
    switch (line.level) {
      case 'info': {
        f.infoCount++;
        const m = RE.tableDone.exec(text);
        if (m) {
          f.tablesDone++;
          f.lastTable = m[1]!;
        }
        break;
      }
      case 'ok': {
        this.add(f.oks, text);
        let m = RE.databaseDumped.exec(text);
        if (m && !f.databasesDumped.includes(m[1]!)) f.databasesDumped.push(m[1]!);
        m = RE.dumpedOut.exec(text);
        if (m) f.rowsDumpedOut = Number(m[2]);
        m = RE.dumpedIn.exec(text);
        if (m) f.rowsDumpedIn = Number(m[1]);
        break;
      }
      case 'error': {
        f.errorCount++;
        this.add(f.errors, text);
        const m = RE.dumpedOut.exec(text);
        if (m) f.rowsDumpedOutFailed = Number(m[2]);
        if (RE.connectFailed.test(text)) f.connectFailures++;
        break;
      }
      case 'warn':
        f.warnCount++;
        this.add(f.warnings, text);
        break;
      default:
        this.add(f.others, text);
    }
    if (isRestoreFailureLine(text)) {
      f.restoreFailureCount++;
      this.add(f.restoreFailures, text);
    }
    return line;
  }

  pushAll(raw: string): this {
    for (const l of raw.split('\n')) this.push(l);
    return this;
  }
}

/** Convenience for tests and small outputs. */
export function factsOf(...outputs: string[]): OutputFacts {
  const acc = new OutputAccumulator();
  for (const o of outputs) acc.pushAll(o);
  return acc.facts;
}

export interface ExitInfo {
  exitCode: number | null;
  signal: string | null;
}

export interface Verdict {
  ok: boolean;
  /** Why the run failed, one sentence each. */
  problems: string[];
  /** The lines to quote to the user (the failure lines, else the last errors). */
  quoted: string[];
  /** The run's own row total (dumped out / dumped in), null when it printed none. */
  rows: number | null;
  /** ERROR:/WARN: lines that did not fail the run (restore only). */
  warnings: string[];
}

const QUOTE = 15;

function exitProblem(exit: ExitInfo): string | null {
  if (exit.signal) return `taosdump was killed by ${exit.signal}`;
  if (exit.exitCode !== 0) return `taosdump exited with code ${exit.exitCode}`;
  return null;
}

function more(count: number, shown: number): string {
  return count > shown ? ` (${count - shown} more not shown)` : '';
}

/**
 * A dump (`-o`) succeeded only when: exit 0, no ERROR: line at all (a clean dump prints none),
 * `OK: Database <db> dumped` for the database asked for, and `OK: <N> row(s) dumped out!`.
 */
export function judgeDump(f: OutputFacts, database: string, exit: ExitInfo): Verdict {
  const problems: string[] = [];
  const e = exitProblem(exit);
  if (e) problems.push(e);
  if (f.errorCount > 0) problems.push(`taosdump printed ${f.errorCount} ERROR line(s)${more(f.errorCount, Math.min(f.errors.length, QUOTE))}`);
  if (!f.databasesDumped.includes(database)) problems.push(`taosdump did not print "OK: Database ${database} dumped": the database was not dumped whole`);
  if (f.rowsDumpedOut === null) {
    problems.push(
      f.rowsDumpedOutFailed !== null
        ? `taosdump's summary is an error: "ERROR: ${f.rowsDumpedOutFailed} row(s) dumped out!"`
        : 'taosdump printed no "OK: <N> row(s) dumped out!" summary',
    );
  }
  return {
    ok: problems.length === 0,
    problems,
    quoted: f.errors.slice(0, QUOTE),
    rows: f.rowsDumpedOut,
    warnings: f.warnings.slice(),
  };
}

/**
 * A restore (`-i`) prints benign ERROR: lines even when it fully succeeds (it probes each normal
 * table with DESCRIBE before creating it). It fails on the failure summaries, `failed to dump file`,
 * `failed to dumped in`, a missing `OK: <N> row(s) dumped in!`, or a non-zero exit; every other
 * ERROR:/WARN: line is a warning. The row counts decide the rest (checked by the caller).
 */
export function judgeRestore(f: OutputFacts, exit: ExitInfo): Verdict {
  const problems: string[] = [];
  const e = exitProblem(exit);
  if (e) problems.push(e);
  if (f.restoreFailureCount > 0) problems.push(`taosdump reported ${f.restoreFailureCount} failure line(s)${more(f.restoreFailureCount, Math.min(f.restoreFailures.length, QUOTE))}`);
  if (f.rowsDumpedIn === null) problems.push('taosdump printed no "OK: <N> row(s) dumped in!" summary: nothing says rows were restored');
  const failing = new Set(f.restoreFailures);
  const warnings = [...f.errors, ...f.warnings].filter((l) => !failing.has(l));
  const quoted = f.restoreFailures.length > 0 ? f.restoreFailures.slice(0, QUOTE) : f.errors.slice(-QUOTE);
  return { ok: problems.length === 0, problems, quoted, rows: f.rowsDumpedIn, warnings };
}

/** Version text out of `taosdump -V` ("taosdump version: 3.3.6.13", older "version: 3.3.5.6_abc"). */
export function parseTaosdumpVersion(out: string): string | null {
  const m = /version:\s*v?(\d+(?:\.\d+)+)/i.exec(stripAnsi(out));
  return m ? m[1]! : null;
}

/** The `#!dumpdb: <db>: <dir>` lines of a dump's top-level dbs.sql: the databases it holds. */
export function parseDumpedDatabases(dbsSql: string): string[] {
  const out: string[] = [];
  for (const line of dbsSql.split('\n')) {
    const m = /^#!dumpdb:\s*([^:\s]+)\s*:/.exec(line.trim());
    if (m && !out.includes(m[1]!)) out.push(m[1]!);
  }
  return out;
}

/** `#!server_ver:` / `#!taosdump_ver:` of a dbs.sql header (3.3.7 writes `#!server_ver: ver:3.3.7.5`). */
export function parseDumpHeader(dbsSql: string): { serverVersion: string | null; taosdumpVersion: string | null } {
  const pick = (key: string): string | null => {
    const m = new RegExp(`^#!${key}:\\s*(?:ver:)?(\\S+)`, 'm').exec(dbsSql);
    return m ? m[1]! : null;
  };
  return { serverVersion: pick('server_ver'), taosdumpVersion: pick('taosdump_ver') };
}
