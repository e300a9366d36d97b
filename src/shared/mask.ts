/** Secrets out of text and JSON: every place that prints or writes masks through these. */

/** Shorter secrets are not masked: replacing every "ab" would shred the text (and they are no secret). */
export const MASK_MIN_LENGTH = 3;

/** Masks secrets in text, each replaced by ***, in the order given (RunLog keeps them longest first). */
export function maskText(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) out = out.split(s).join('***');
  return out;
}

/**
 * A copy of `value` with every string inside it masked, for JSON written to files or stdout.
 * Masking the serialised JSON instead breaks it: a numeric secret cuts into numbers, a secret
 * equal to a key renames the key, and a secret holding `"` or `\` is escaped and slips through.
 * Keys are the schema's names and numbers are sizes and counts, so both stay as they are.
 */
export function maskDeep<T>(value: T, mask: (text: string) => string): T {
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return mask(v);
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return walk(value) as T;
}
