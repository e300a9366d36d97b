/**
 * The tail of the failing tool's stderr, for the report and the chat message. An error may carry
 * it as `stderrTail: string[]` (on itself or on a `cause`); the engines' tool errors put the last
 * stderr lines into the message after the first line, indented, so those lines are taken then.
 */
import { z } from 'zod';

const MAX_LINES = 20;
const MAX_LINE = 500;
const carrier = z.object({ stderrTail: z.array(z.string()) });
const withCause = z.object({ cause: z.unknown() });

function clip(lines: string[]): string[] {
  return lines
    .map((l) => l.trim())
    .filter(Boolean)
    .slice(-MAX_LINES)
    .map((l) => (l.length > MAX_LINE ? `${l.slice(0, MAX_LINE)}…` : l));
}

export function stderrTail(err: unknown): string[] {
  const seen = new Set<unknown>();
  for (let e: unknown = err; e !== null && e !== undefined && !seen.has(e); ) {
    seen.add(e);
    const c = carrier.safeParse(e);
    if (c.success && c.data.stderrTail.length) return clip(c.data.stderrTail);
    const cause = withCause.safeParse(e);
    e = cause.success ? cause.data.cause : undefined;
  }
  if (err instanceof Error) {
    const [, ...rest] = err.message.split('\n');
    // "pg_dump failed (exit 1):\n  pg_dump: error: ..." — only indented continuation lines are tool output.
    const tool = rest.filter((l) => /^\s+\S/.test(l));
    if (tool.length) return clip(tool);
  }
  return [];
}
