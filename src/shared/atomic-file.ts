/** Files written whole or not at all: readers see the old content or the new one, never a part. */
import { constants, promises as fs } from 'node:fs';
import path from 'node:path';

/** Writes a file so that readers see the old content or the whole new one, never a part. */
export async function writeFileAtomic(file: string, text: string, mode = 0o600): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  // O_NOFOLLOW: a link planted at the temporary name must not make the tool write through it.
  const fh = await fs.open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, mode);
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fs.rename(tmp, file);
  await fsyncDir(path.dirname(file));
}

export async function fsyncDir(dir: string): Promise<void> {
  const fh = await fs.open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
