/**
 * The run's log: every line goes to the console sink (stderr for the CLI, the Actions log for
 * the action) and to the run's log file under <root>/logs/, with every secret masked.
 * Lines logged before the file is attached (the lock's wait and takeover messages) are kept
 * and written to the file first, so the file has the whole run.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { MASK_MIN_LENGTH, maskDeep, maskText } from '../shared/mask.js';

/** Lines kept before a file is attached; a run logs a handful there, this only bounds a runaway. */
const MAX_PENDING = 2000;

export interface Sink {
  info(line: string): void;
  warn(line: string): void;
  error(line: string): void;
  startGroup(title: string): void;
  endGroup(): void;
  /**
   * A line of the command's main output (status and check rows, prune --dry-run's plan): the CLI
   * prints it on stdout, so `pgtaos-backup status | grep FAILED` works. Absent: it is an info line.
   */
  output?(line: string): void;
}

/** Plain stderr: stdout stays free for --json. */
export const stderrSink: Sink = {
  info: (l) => process.stderr.write(`${l}\n`),
  warn: (l) => process.stderr.write(`warning: ${l}\n`),
  error: (l) => process.stderr.write(`error: ${l}\n`),
  startGroup: (t) => process.stderr.write(`== ${t}\n`),
  endGroup: () => {},
};

export const silentSink: Sink = { info: () => {}, warn: () => {}, error: () => {}, startGroup: () => {}, endGroup: () => {} };

export class RunLog {
  private file: WriteStream | null = null;
  /** Lines logged before attachFile; null once a file is attached. */
  private pending: string[] | null = [];
  private secrets: string[];
  readonly warnings: string[] = [];
  readonly errors: string[] = [];

  constructor(
    private readonly sink: Sink,
    secrets: (string | undefined)[],
  ) {
    // Longest first, so a secret containing another is masked whole.
    this.secrets = [...new Set(secrets.filter((s): s is string => typeof s === 'string' && s.length >= MASK_MIN_LENGTH))].sort((a, b) => b.length - a.length);
  }

  /** Values learnt during the run (webhook URLs from the config's env vars) are masked from then on. */
  addSecrets(values: (string | undefined)[]): void {
    this.secrets = [...new Set([...this.secrets, ...values.filter((s): s is string => typeof s === 'string' && s.length >= MASK_MIN_LENGTH)])].sort((a, b) => b.length - a.length);
  }

  mask(text: string): string {
    return maskText(text, this.secrets);
  }

  /** `value` with every string in it masked (see maskDeep). */
  maskDeep<T>(value: T): T {
    return maskDeep(value, (t) => this.mask(t));
  }

  /** Starts copying lines into a log file (created owner-only; it may name hosts and users). */
  attachFile(path: string): void {
    const stream = createWriteStream(path, { flags: 'a', mode: 0o600 });
    // A full disk must not crash the run (and hide its real error): keep logging to the console.
    stream.on('error', (err) => {
      if (this.file === stream) this.file = null;
      this.sink.warn(`the log file ${path} cannot be written (${err.message}); the console has the whole log`);
    });
    for (const l of this.pending ?? []) stream.write(l);
    this.pending = null;
    this.file = stream;
  }

  private toFile(level: string, line: string): void {
    const l = `${new Date().toISOString()} ${level} ${line}\n`;
    if (this.file) this.file.write(l);
    else if (this.pending && this.pending.length < MAX_PENDING) this.pending.push(l);
  }

  info(line: string): void {
    const l = this.mask(line);
    this.sink.info(l);
    this.toFile('INFO ', l);
  }

  /** A line of the command's main output (Sink.output); the log file has it as an info line. */
  output(line: string): void {
    const l = this.mask(line);
    if (this.sink.output) this.sink.output(l);
    else this.sink.info(l);
    this.toFile('INFO ', l);
  }

  warn(line: string): void {
    const l = this.mask(line);
    this.warnings.push(l);
    this.sink.warn(l);
    this.toFile('WARN ', l);
  }

  error(line: string): void {
    const l = this.mask(line);
    this.errors.push(l);
    this.sink.error(l);
    this.toFile('ERROR', l);
  }

  async group<T>(title: string, fn: () => Promise<T>): Promise<T> {
    const t = this.mask(title);
    this.sink.startGroup(t);
    this.toFile('INFO ', `== ${t}`);
    try {
      return await fn();
    } finally {
      this.sink.endGroup();
    }
  }

  close(): Promise<void> {
    const f = this.file;
    this.file = null;
    if (!f) return Promise.resolve();
    return new Promise((resolve) => f.end(() => resolve()));
  }
}
