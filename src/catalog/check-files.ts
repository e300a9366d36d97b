/** A set's files against its manifest: what verify reports and what a restore requires before it touches anything. */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { manifestFiles, type Manifest } from './manifest.js';
import { sha256File } from './checksum.js';
import { setFilePath } from './set-files.js';
import { formatBytes } from '../shared/format.js';
import type { Check } from '../report/result.js';

/** Size and SHA-256 of every file against the manifest. */
export async function checkFiles(dir: string, manifest: Manifest): Promise<Check[]> {
  const checks: Check[] = [];
  for (const f of manifestFiles(manifest)) {
    let detail: string;
    let ok = false;
    try {
      // Checked again here (not only when the catalog was read): no link, nothing outside the set.
      const abs = await setFilePath(dir, f.path, path.basename(dir));
      const st = await fs.lstat(abs);
      if (st.size !== f.bytes) detail = `${f.path}: ${st.size} bytes, manifest says ${f.bytes}`;
      else {
        const sum = await sha256File(abs);
        ok = sum === f.sha256;
        detail = ok ? `${f.path}: ${formatBytes(f.bytes)}, sha256 ok` : `${f.path}: sha256 ${sum.slice(0, 16)}… differs from the manifest's ${f.sha256.slice(0, 16)}… (the file is damaged)`;
      }
    } catch (err) {
      detail = `${f.path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : (err as Error).message}`;
    }
    checks.push({ name: `checksum ${f.path}`, result: ok ? 'passed' : 'failed', detail });
  }
  return checks;
}
