/**
 * age keys and decryption for tests: Debian's `age`/`age-keygen` when installed (the stock tools a
 * person would use: proves the copies are not in a home-made format), else the age-encryption package.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Decrypter, generateIdentity, identityToRecipient } from 'age-encryption';

export const STOCK_AGE = spawnSync('age', ['--version'], { encoding: 'utf8' }).status === 0 && spawnSync('age-keygen', ['--help'], { encoding: 'utf8' }).error === undefined;

export interface AgeKey {
  /** The identity file (AGE-SECRET-KEY-1...), 0600. */
  file: string;
  identity: string;
  recipient: string;
}

export async function makeAgeKey(): Promise<AgeKey> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pgtaos-age-'));
  const file = path.join(dir, 'key.txt');
  if (STOCK_AGE) {
    const r = spawnSync('age-keygen', ['-o', file], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`age-keygen failed: ${r.stderr}`);
    const identity = readFileSync(file, 'utf8').split('\n').find((l) => l.startsWith('AGE-SECRET-KEY-'))!;
    const recipient = spawnSync('age-keygen', ['-y', file], { encoding: 'utf8' }).stdout.trim();
    return { file, identity, recipient };
  }
  const identity = await generateIdentity();
  writeFileSync(file, `${identity}\n`, { mode: 0o600 });
  return { file, identity, recipient: await identityToRecipient(identity) };
}

/** Decrypts with `age -d -i key` (stock) when installed, else with age-encryption. */
export async function ageDecrypt(key: AgeKey, data: Buffer): Promise<{ plain: Buffer; tool: 'age -d' | 'age-encryption' }> {
  if (STOCK_AGE) {
    const r = spawnSync('age', ['-d', '-i', key.file], { input: data, maxBuffer: 1 << 30 });
    if (r.status !== 0) throw new Error(`age -d failed: ${r.stderr.toString()}`);
    return { plain: r.stdout, tool: 'age -d' };
  }
  const d = new Decrypter();
  d.addIdentity(key.identity);
  return { plain: Buffer.from(await d.decrypt(new Uint8Array(data))), tool: 'age-encryption' };
}
