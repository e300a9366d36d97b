/** One file of a set as its manifest lists it. A leaf module: every engine's manifest section uses it. */
import { z } from 'zod';

export const fileEntrySchema = z.strictObject({
  /** Relative to the set folder, "/"-separated. */
  path: z.string().min(1),
  bytes: z.number().int().min(0),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});
export type FileEntry = z.infer<typeof fileEntrySchema>;

/** A table's row count as a manifest records it. */
export const tableCountSchema = z.strictObject({ name: z.string().min(1), rows: z.number().int().min(0) });
export type TableCount = z.infer<typeof tableCountSchema>;
