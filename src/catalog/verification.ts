/**
 * verification.json beside a set's manifest: the outcome of the last `verify` of that set.
 * The manifest is never rewritten; this file is.
 */
import path from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../shared/atomic-file.js';
import { readFileNoFollow } from './set-files.js';

export const VERIFICATION_FILE = 'verification.json';

export const verificationSchema = z.object({
  verified_at: z.string(),
  result: z.enum(['passed', 'failed']),
  checks: z.array(z.object({ name: z.string(), result: z.enum(['passed', 'failed', 'skipped']), detail: z.string() })),
  tool_version: z.string(),
});
export type Verification = z.infer<typeof verificationSchema>;

export async function readVerification(dir: string): Promise<Verification | null> {
  try {
    const parsed = verificationSchema.safeParse(JSON.parse(await readFileNoFollow(path.join(dir, VERIFICATION_FILE))));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

export async function writeVerification(dir: string, v: Verification): Promise<void> {
  await writeFileAtomic(path.join(dir, VERIFICATION_FILE), `${JSON.stringify(verificationSchema.parse(v), null, 2)}\n`);
}
