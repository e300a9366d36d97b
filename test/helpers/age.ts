/**
 * age keys and decryption for tests, with Debian's stock `age`/`age-keygen` (the tools a person
 * restoring would use: proves the copies are not in a home-made format).
 *
 * When /usr/bin/age exists (scripts/setup.sh installs Debian's package, and CI fails without it),
 * the stock tools are used and nothing falls back: a broken `age` fails the test. Only on a machine
 * without it do keys and decryption come from the age-encryption package. ageDecrypt() says which
 * tool decrypted; where stockAgeRequired(), a test asserts it was 'age -d'.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Decrypter, generateIdentity, identityToRecipient } from 'age-encryption';
import { inCi } from './mount.js';

const AGE = '/usr/bin/age';
const AGE_KEYGEN = '/usr/bin/age-keygen';

/** Stock age is installed: every decryption goes through `age -d`. */
const STOCK_AGE = existsSync(AGE);

/**
 * The copies must be shown to decrypt with stock `age -d`: it is installed, or CI is set (where
 * makeAgeKey() already fails without it). Tests then assert the literal 'age -d'.
 */
export function stockAgeRequired(): boolean {
  return STOCK_AGE || inCi();
}

export type AgeTool = 'age -d' | 'age-encryption';

export interface AgeKey {
  /** The identity file (AGE-SECRET-KEY-1...), 0600. */
  file: string;
  identity: string;
  recipient: string;
}

export async function makeAgeKey(): Promise<AgeKey> {
  if (inCi() && !STOCK_AGE) throw new Error(`CI is set but ${AGE} is missing: scripts/setup.sh installs Debian's age; the copies must be shown to decrypt with it`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pgtaos-age-'));
  const file = path.join(dir, 'key.txt');
  if (STOCK_AGE) {
    const r = spawnSync(AGE_KEYGEN, ['-o', file], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${AGE_KEYGEN} -o failed (stock age is installed, so it must work): ${r.error?.message ?? r.stderr}`);
    const identity = readFileSync(file, 'utf8').split('\n').find((l) => l.startsWith('AGE-SECRET-KEY-'));
    const y = spawnSync(AGE_KEYGEN, ['-y', file], { encoding: 'utf8' });
    if (!identity || y.status !== 0) throw new Error(`${AGE_KEYGEN} gave no usable key: ${y.stderr}`);
    return { file, identity, recipient: y.stdout.trim() };
  }
  const identity = await generateIdentity();
  writeFileSync(file, `${identity}\n`, { mode: 0o600 });
  return { file, identity, recipient: await identityToRecipient(identity) };
}

/** Decrypts with stock `age -d -i key` when installed (never falling back then), else with age-encryption. */
export async function ageDecrypt(key: AgeKey, data: Buffer): Promise<{ plain: Buffer; tool: AgeTool }> {
  if (STOCK_AGE) {
    const r = spawnSync(AGE, ['-d', '-i', key.file], { input: data, maxBuffer: 1 << 30 });
    if (r.status !== 0) throw new Error(`age -d failed: ${r.error?.message ?? r.stderr.toString()}`);
    return { plain: r.stdout, tool: 'age -d' };
  }
  const d = new Decrypter();
  d.addIdentity(key.identity);
  return { plain: Buffer.from(await d.decrypt(new Uint8Array(data))), tool: 'age-encryption' };
}
