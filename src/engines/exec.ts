/**
 * The one place that starts external tools (pg_dump, pg_restore, taosdump).
 * Arguments are arrays (no shell); secrets go through the environment or stdin, never argv;
 * output is streamed line by line, never buffered whole; an aborted run kills the child.
 */
import { execa } from 'execa';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';

export interface ToolRun {
  /** Absolute path or a name found on PATH. */
  file: string;
  args: string[];
  /** The whole environment of the child (not merged with ours: we pass only what it needs). */
  env: NodeJS.ProcessEnv;
  cwd?: string;
  /** Written to the child's stdin, then stdin is closed (taosdump reads its password this way). */
  input?: string;
  signal?: AbortSignal;
  onStdout?: (line: string) => void;
  onStderr?: (line: string) => void;
}

export interface ToolResult {
  exitCode: number | null;
  /** Set when the child was killed by a signal. */
  signal: string | null;
  cancelled: boolean;
  /** The last stderr lines, for error messages. */
  stderrTail: string[];
  /** The child could not be started at all (ENOENT, EACCES). */
  spawnError: string | null;
}

const TAIL = 40;

function lines(stream: Readable | null | undefined, each: (line: string) => void): Promise<void> {
  if (!stream) return Promise.resolve();
  const rl = createInterface({ input: stream, crlfDelay: Infinity });
  rl.on('line', each);
  return new Promise((resolve) => rl.once('close', () => resolve()));
}

export async function runTool(run: ToolRun): Promise<ToolResult> {
  const tail: string[] = [];
  const child = execa(run.file, run.args, {
    env: run.env,
    extendEnv: false,
    cwd: run.cwd,
    input: run.input,
    stdin: run.input === undefined ? 'ignore' : undefined,
    buffer: false,
    reject: false,
    cancelSignal: run.signal,
    // SIGTERM first; a child that ignores it is killed 3 s later (the runner's own SIGKILL comes at 10 s).
    forceKillAfterDelay: 3000,
    windowsHide: true,
  });
  const streams = Promise.all([
    lines(child.stdout, (l) => run.onStdout?.(l)),
    lines(child.stderr, (l) => {
      tail.push(l);
      if (tail.length > TAIL) tail.shift();
      run.onStderr?.(l);
    }),
  ]);
  const result = await child;
  await streams;
  const spawnError =
    result.failed && result.exitCode === undefined && !result.isCanceled && !result.signal
      ? (result.cause instanceof Error ? result.cause.message : (result.shortMessage ?? 'could not start'))
      : null;
  return {
    exitCode: result.exitCode ?? null,
    signal: result.signal ?? null,
    cancelled: Boolean(result.isCanceled),
    stderrTail: tail,
    spawnError,
  };
}

/** Runs a tool to read a short answer (e.g. `--version`); output is small by construction. */
export async function readTool(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ ok: boolean; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const r = await runTool({ file, args, env, onStdout: (l) => out.push(l), onStderr: (l) => err.push(l) });
  return { ok: r.exitCode === 0, out: out.join('\n'), err: r.spawnError ?? err.join('\n') };
}
