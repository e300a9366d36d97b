// The dump folder is hashed while taosdump writes it: a file hashed early and written again must
// never keep its early hash.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FolderHasher } from '../../src/engines/tdengine/folder-hasher.js';
import { sha256File } from '../../src/catalog/checksum.js';

let root: string;
beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'folder-hasher-'));
  fs.mkdirSync(path.join(root, 'tdengine', 'taosdump.1'), { recursive: true });
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

async function until(what: string, ok: () => boolean): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (ok()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`waited in vain for ${what}`);
}

describe('FolderHasher', () => {
  it('hashes settled files early, and hashes again a file written after that (append, and rewrite of the same size)', async () => {
    const a = path.join(root, 'tdengine', 'taosdump.1', 'a.avro');
    const b = path.join(root, 'tdengine', 'dbs.sql');
    fs.writeFileSync(a, 'block 1\n');
    fs.writeFileSync(b, 'header\n');
    const h = new FolderHasher(root, 'tdengine').start();
    await until('both files hashed while "taosdump" runs', () => h.hashedEarly === 2);
    fs.appendFileSync(a, 'block 2\n');
    fs.writeFileSync(b, 'HEADER\n'); // same size, new content
    fs.writeFileSync(path.join(root, 'tdengine', 'late.m'), '{}');
    const files = await h.finish();
    expect(files.map((f) => f.path)).toEqual(['tdengine/dbs.sql', 'tdengine/late.m', 'tdengine/taosdump.1/a.avro']);
    for (const f of files) {
      const abs = path.join(root, f.path);
      expect(f.sha256).toBe(await sha256File(abs));
      expect(f.bytes).toBe(fs.statSync(abs).size);
    }
  });
});
