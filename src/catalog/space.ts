/** Free space where the sets are written. */
import { promises as fs } from 'node:fs';

export const GIB = 1024 ** 3;

export async function freeBytes(dir: string): Promise<number> {
  const s = await fs.statfs(dir);
  return s.bavail * s.bsize;
}

/** The free space a backup needs: the configured floor, and room for one more set as big as the last. */
export function spaceNeeded(minFreeGb: number, lastSetBytes: number | null, estimateBytes: number | null): number {
  return Math.max(minFreeGb * GIB, lastSetBytes ?? 0, estimateBytes === null ? 0 : Math.ceil(estimateBytes * 0.25));
}
