/** Finds the stock tools an engine runs: in the configured bin_dir, else on PATH. */
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.js';

function executable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function findBinary(name: string, binDir: string | undefined, env: NodeJS.ProcessEnv, installHint: string): string {
  if (binDir) {
    const p = path.resolve(binDir, name);
    if (executable(p)) return p;
    throw new UsageError('binary.missing', `${name} not found in bin_dir ${binDir}`, {
      hint: `Check the bin_dir setting (it must be the folder holding ${name}), or remove it to use PATH. ${installHint}`,
    });
  }
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, name);
    if (executable(p)) return p;
  }
  throw new UsageError('binary.missing', `${name} not found on PATH`, { hint: `${installHint} Or set bin_dir in the config to the folder that holds it.` });
}
