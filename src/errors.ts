/**
 * Typed errors. Every error a user can meet carries a hint that says what to do.
 * `usage` errors (bad flags, bad config) exit 2 and are raised before any
 * connection or file is made; `failed` errors exit 1 (the job ran and failed).
 */
import type { ErrorCode, ErrorKind } from './error-codes.js';

export type { ErrorCode, ErrorKind } from './error-codes.js';

export class BackupError extends Error {
  readonly kind: ErrorKind;
  readonly hint: string | undefined;
  /** A short machine-readable code listed in error-codes.ts, e.g. `config.invalid`, `postgres.client_too_old`. */
  readonly code: ErrorCode;

  constructor(kind: ErrorKind, code: ErrorCode, message: string, opts: { hint?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'BackupError';
    this.kind = kind;
    this.code = code;
    this.hint = opts.hint;
  }
}

/** Bad usage or configuration: exit 2, nothing has been touched. */
export class UsageError extends BackupError {
  constructor(code: ErrorCode, message: string, opts: { hint?: string; cause?: unknown } = {}) {
    super('usage', code, message, opts);
    this.name = 'UsageError';
  }
}

/** The job ran and failed: exit 1. */
export class JobError extends BackupError {
  constructor(code: ErrorCode, message: string, opts: { hint?: string; cause?: unknown } = {}) {
    super('failed', code, message, opts);
    this.name = 'JobError';
  }
}

/** SIGINT/SIGTERM arrived: the run stopped and cleaned up. */
export class CancelledError extends BackupError {
  /** `said`: a command's own code, message and hint for what the cancel left (restore's partial target). */
  constructor(signal: string, said: { code?: ErrorCode; message?: string; hint?: string } = {}) {
    super('cancelled', said.code ?? 'run.cancelled', said.message ?? `cancelled by ${signal}`, {
      hint: said.hint ?? 'The run was stopped before it finished; earlier backups are untouched and no partial set was kept. Run it again.',
    });
    this.name = 'CancelledError';
  }
}

export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

export function exitCodeOf(err: unknown): number {
  if (err instanceof BackupError && err.kind === 'usage') return EXIT.usage;
  return EXIT.failed;
}

/** Said of errors nobody anticipated (a file system error, a bug): what a person can still do. */
export const INTERNAL_HINT =
  'This error was not anticipated by pgtaos-backup. The message names what failed (a file, a permission, a tool); fix that and run again. If it makes no sense, report it with the run\'s log file (its stack trace is there).';

/** A plain description of any thrown value, for messages. Every description carries a hint. */
export function describe(err: unknown): { message: string; hint?: string; code: ErrorCode } {
  if (err instanceof BackupError) {
    return { message: err.message, code: err.code, ...(err.hint ? { hint: err.hint } : {}) };
  }
  if (err instanceof Error) return { message: err.message, code: 'internal', hint: INTERNAL_HINT };
  return { message: String(err), code: 'internal', hint: INTERNAL_HINT };
}
