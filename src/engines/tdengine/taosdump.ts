/**
 * Running taosdump: found in bin_dir or on PATH, its version read, the password on stdin (bare
 * `-p`: never in argv), its output streamed into an OutputAccumulator, and stopped when it can no
 * longer succeed: on its first "Failed to connect" line (the retries cost ~21 s each on a real
 * server and the run is lost anyway), and when it makes no progress for `stall_timeout_seconds`
 * (a real 3.3.7 taosdump blocks without a word while taosd is down mid-dump, then exits 0 with
 * rows missing; a nightly run must fail within minutes and free the lock instead).
 * The behaviours relied on: docs/tdengine.md ("taosdump options we use", "Exit codes and output").
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { JobError, UsageError, type ErrorCode } from '../../errors.js';
import type { TdengineConfig } from '../../inputs/config-schema.js';
import { formatDuration } from '../../shared/format.js';
import { MASK_MIN_LENGTH, maskText } from '../../shared/mask.js';
import { findBinary } from '../binaries.js';
import { childEnv, type EngineContext } from '../engine.js';
import { readTool, runTool, type ToolResult } from '../exec.js';
import { OutputAccumulator, parseTaosdumpVersion, type Verdict } from '../taosdump-output.js';
import { parseTdVersion, passwordLimit, supportsDriverOption, type TdVersion } from './versions.js';

export const INSTALL_HINT =
  "Install taosdump of the TDengine server's major.minor version: it ships with the TDengine server and client packages (e.g. TDengine-client-3.3.6.13-Linux-x64.tar.gz installs it in /usr/local/taos/bin).";
const PROGRESS_MS = 10_000;

/** `text` with the password replaced by ***, when it is long enough to mask (the run log's floor). */
export function maskPassword(text: string, password: string): string {
  return password.length >= MASK_MIN_LENGTH ? maskText(text, [password]) : text;
}

/**
 * A taosdump result file made safe to keep. Older taosdump versions wrote their settings into it,
 * `password: <value>` included (taos-tools src/taosdump.c main()): that line is blanked whatever
 * the password's length, and the password is masked anywhere else once it is MASK_MIN_LENGTH or longer.
 */
export function scrubResultText(text: string, password: string): string {
  const lines = text.replace(/^(\s*password\s*:[ \t]*)\S.*$/gim, '$1***');
  return password === '' ? lines : maskPassword(lines, password);
}

/** When taosdump last showed a sign of life (an output line, or its dump folder growing). */
export class Liveness {
  last = Date.now();
  touch(): void {
    this.last = Date.now();
  }
}

export interface TaosdumpRun {
  args: string[];
  cwd: string;
  password: string;
  acc: OutputAccumulator;
  /** 'dump' or 'restore', for messages. */
  what: string;
  /** Touched by the caller too (e.g. the dump folder growing); output lines touch it here. */
  liveness?: Liveness;
}

export class Taosdump {
  private file = '';
  private version: TdVersion | null = null;

  constructor(private readonly cfg: TdengineConfig) {}

  /** The taosdump found (for messages); '' before find(). */
  get binary(): string {
    return this.file;
  }

  /** The version read by clientVersion(), if it ran. */
  get knownVersion(): TdVersion | null {
    return this.version;
  }

  find(env: NodeJS.ProcessEnv): string {
    this.file = findBinary('taosdump', this.cfg.bin_dir, env, INSTALL_HINT);
    return this.file;
  }

  /** Environment for taosdump: no password, no TDENGINE_CLOUD_DSN (it would switch to WebSocket). */
  toolEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
    // TAOS_*: client settings; LD_LIBRARY_PATH: libtaos of a bin_dir install.
    return childEnv(env, { TDENGINE_CLOUD_DSN: undefined, TDENGINE_PASSWORD: undefined }, ['TAOS_', 'LD_LIBRARY_PATH']);
  }

  /** `taosdump -V`. */
  async clientVersion(env: NodeJS.ProcessEnv): Promise<TdVersion> {
    if (!this.file) this.find(env);
    const r = await readTool(this.file, ['-V'], this.toolEnv(env));
    const text = parseTaosdumpVersion(r.out);
    const v = text ? parseTdVersion(text) : null;
    if (!r.ok || !v) throw new JobError('tdengine.client_version', `cannot read the version of ${this.file}: ${(r.err || r.out).slice(0, 300)}`, { hint: INSTALL_HINT });
    this.version = v;
    return v;
  }

  checkPasswordFits(password: string, client: TdVersion): void {
    const limit = passwordLimit(client);
    if (Buffer.byteLength(password, 'utf8') > limit) {
      throw new UsageError('tdengine.password_too_long', `TDENGINE_PASSWORD is longer than the ${limit} bytes taosdump ${client.text} reads`, {
        hint: `taosdump silently cuts a longer password (then fails to log in). Use a password of at most ${limit} bytes${limit === 20 ? ', or taosdump 3.3.6 or newer (255 bytes)' : ''}.`,
      });
    }
  }

  connArgs(client: TdVersion): string[] {
    return [
      '-h', this.cfg.host,
      '-P', String(this.cfg.port),
      '-u', this.cfg.user,
      // bare -p: the password is read from stdin (never -pSECRET: it shows in /proc/<pid>/cmdline)
      '-p',
      // the native driver, whatever TDENGINE_CLOUD_DSN says (the option exists from 3.3.6)
      ...(supportsDriverOption(client) ? ['-Z', 'Native'] : []),
    ];
  }

  /**
   * Runs taosdump to its end, or stops it (SIGTERM, then SIGKILL) on a connection failure line or
   * after stall_timeout_seconds without progress; a stop throws a JobError saying which.
   */
  async run(ctx: EngineContext, run: TaosdumpRun): Promise<ToolResult> {
    const { log, signal, env } = ctx;
    const { acc, password } = run;
    const mask = (s: string) => maskPassword(s, password);
    const started = Date.now();
    const live = run.liveness ?? new Liveness();
    live.touch();
    const stop = new AbortController();
    let why: JobError | null = null;
    const halt = (err: JobError) => {
      if (why) return;
      why = err;
      stop.abort(err);
    };
    const stallMs = this.cfg.stall_timeout_seconds * 1000;
    const progress = setInterval(() => {
      const f = acc.facts;
      log.info(`taosdump: ${f.tablesDone} table(s) done after ${formatDuration(Date.now() - started)}${f.lastTable ? ` (last: ${f.lastTable})` : ''}${f.errorCount ? `, ${f.errorCount} ERROR line(s)` : ''}`);
    }, PROGRESS_MS);
    progress.unref();
    const watchdog = setInterval(() => {
      if (Date.now() - live.last >= stallMs) halt(this.stalled(run.what, acc));
    }, Math.min(1000, Math.max(50, stallMs / 10)));
    watchdog.unref();
    const onLine = (fromStderr: boolean) => (raw: string) => {
      live.touch();
      const line = acc.push(raw);
      if (!line) return;
      if (line.level === 'error' && acc.facts.connectFailures === 1) halt(this.connectLost(run.what, mask(line.text)));
      // INFO (per-table progress, can be huge) and the stdout settings block are only counted.
      if (line.level === 'info' || (!fromStderr && line.level === 'other')) return;
      if (/^Cannot get the attribution of the terminal/.test(line.text)) return; // bare -p with piped stdin: benign
      log.info(`taosdump: ${mask(line.text)}`);
    };
    let r: ToolResult;
    try {
      r = await runTool({
        file: this.file,
        args: run.args,
        env: this.toolEnv(env),
        cwd: run.cwd,
        // one token and a newline: EOF or an empty line would silently mean "taosdata"
        input: `${password}\n`,
        signal: AbortSignal.any([signal, stop.signal]),
        onStdout: onLine(false),
        onStderr: onLine(true),
      });
    } finally {
      clearInterval(progress);
      clearInterval(watchdog);
    }
    if (signal.aborted) throw signal.reason;
    if (why) throw why;
    if (r.spawnError) throw new UsageError('tdengine.spawn', `cannot run ${this.file}: ${r.spawnError}`, { hint: INSTALL_HINT });
    return r;
  }

  private stalled(what: string, acc: OutputAccumulator): JobError {
    const f = acc.facts;
    return new JobError('tdengine.stalled', `taosdump (${what}) made no progress for ${this.cfg.stall_timeout_seconds} s (no output${what === 'dump' ? ', no new data in the dump folder' : ''}; ${f.tablesDone} table(s) done${f.lastTable ? `, last ${f.lastTable}` : ''}) and was stopped`, {
      hint: 'taosdump waits without a word while the server is gone mid-run (a real 3.3.7 taosdump blocked until taosd came back, then exited 0 with rows missing). Check taosd on the server (systemctl status taosd) and run again. If one table really takes longer than that to dump or restore, raise tdengine.stall_timeout_seconds.',
    });
  }

  private connectLost(what: string, line: string): JobError {
    return new JobError('tdengine.connect_failed', `taosdump (${what}) could not connect to the TDengine server and was stopped rather than left to retry: ${line}`, {
      hint: 'The server answered the checks made just before, so it went away or refused taosdump since: check taosd (systemctl status taosd), tdengine.port and the password, then run again.',
    });
  }

  /** Older taosdump versions wrote their settings, password included, into the result file. */
  async scrub(file: string, password: string): Promise<void> {
    let text: string;
    try {
      text = await fs.readFile(file, 'utf8');
    } catch {
      return; // no result file: nothing to scrub
    }
    const clean = scrubResultText(text, password);
    if (clean !== text) await fs.writeFile(file, clean);
  }

  failure(code: ErrorCode, what: string, v: Verdict, password: string, hint: string): JobError {
    const quoted = v.quoted.length ? `:\n  ${v.quoted.map((l) => maskPassword(l, password)).join('\n  ')}` : '';
    return new JobError(code, `${what}: ${v.problems.join('; ')}${quoted}`, { hint });
  }

  /** The folder name taosdump -i gets (relative to its parent, as -i goes through wordexp()). */
  static safeBase(dumpDir: string): string {
    const base = path.basename(path.resolve(dumpDir));
    if (!/^[A-Za-z0-9._-]+$/.test(base)) {
      throw new UsageError('tdengine.dump_path', `the dump folder name "${base}" is unsafe for taosdump -i (it expands the path with wordexp and cuts it at a space)`, { hint: 'Rename the folder to letters, digits, ".", "_" and "-" only.' });
    }
    return base;
  }
}
