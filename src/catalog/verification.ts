/**
 * verification.json beside a set's manifest: the outcome of the last `verify` of that set with its
 * checks, and the earlier ones in brief (when, result, tool version; newest first, at most
 * HISTORY_MAX). The manifest is never rewritten; this file is.
 */
import path from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../shared/atomic-file.js';
import { readFileNoFollow } from './set-files.js';

export const VERIFICATION_FILE = 'verification.json';

export const HISTORY_MAX = 52;

const earlierSchema = z.object({ verified_at: z.string(), result: z.enum(['passed', 'failed']), tool_version: z.string() });

export const verificationSchema = z.object({
  verified_at: z.string(),
  result: z.enum(['passed', 'failed']),
  checks: z.array(z.object({ name: z.string(), result: z.enum(['passed', 'failed', 'skipped']), detail: z.string() })),
  tool_version: z.string(),
  /** Earlier verifications of the set, newest first (absent in files written before it was kept). */
  history: z.array(earlierSchema).default([]),
});
export type Verification = z.infer<typeof verificationSchema>;

/** Pure: the record to write, the previous one folded into its history (newest first, capped). */
export function withHistory(prev: Verification | null, next: Omit<Verification, 'history'>): Verification {
  const earlier = prev ? [{ verified_at: prev.verified_at, result: prev.result, tool_version: prev.tool_version }, ...prev.history] : [];
  return { ...next, history: earlier.slice(0, HISTORY_MAX) };
}

export async function readVerification(dir: string): Promise<Verification | null> {
  try {
    const parsed = verificationSchema.safeParse(JSON.parse(await readFileNoFollow(path.join(dir, VERIFICATION_FILE))));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/** Writes this verification; the one it replaces joins the history. */
export async function writeVerification(dir: string, v: Omit<Verification, 'history'>): Promise<void> {
  const record = withHistory(await readVerification(dir), v);
  await writeFileAtomic(path.join(dir, VERIFICATION_FILE), `${JSON.stringify(verificationSchema.parse(record), null, 2)}\n`);
}
