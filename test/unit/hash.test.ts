// sha256Handle sizes its read buffer by the file: every size around the buffer's bounds, and a
// file that grows while it is read, must still hash to the digest of all its bytes.
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Handle, sha256Path } from '../../src/shared/hash.js';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hash-'));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

const hex = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const MiB4 = 4 << 20;

describe('sha256Handle / sha256Path', () => {
  it.each([0, 1, 4095, 4096, 65_537, MiB4 - 1, MiB4, MiB4 + 1, 2 * MiB4 + 3])('a file of %i bytes hashes to the digest of all its bytes', async (n) => {
    const data = randomBytes(n);
    const file = path.join(dir, `f${n}`);
    fs.writeFileSync(file, data);
    expect(await sha256Path(file)).toBe(hex(data));
  });

  it('a file that grows after its size was taken is read to its end', async () => {
    const first = randomBytes(1000);
    const more = randomBytes(5000);
    const file = path.join(dir, 'growing');
    fs.writeFileSync(file, first);
    const fh = await fs.promises.open(file, 'r');
    try {
      const stat = fh.stat.bind(fh);
      // the size is taken, then the file grows before the first read
      fh.stat = (async (...a: Parameters<typeof fh.stat>) => {
        const st = await stat(...a);
        fs.appendFileSync(file, more);
        return st;
      }) as typeof fh.stat;
      expect(await sha256Handle(fh)).toBe(hex(Buffer.concat([first, more])));
    } finally {
      await fh.close();
    }
  });
});
