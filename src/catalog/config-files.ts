/**
 * The config files a `config` snapshot holds (config_files.paths under config_files.base_dir):
 * found, hashed, packed into one tar.gz, and the tar.gz read back to prove it holds exactly that.
 *
 * content_sha256 (manifest `config` section) is the SHA-256 of one line per entry, sorted by path:
 *   "<file|dir>\0<path>\0<mode, octal>\0<sha256 of the content, files only>\n"
 * so two snapshots are identical exactly when every path, permission and byte is. It is computed
 * the same way from the files on disk and from the archive.
 *
 * Links: a link whose target stays inside base_dir is stored as its target's content (a `.env`
 * that is a link is backed up as the file it points to). Anything that resolves outside base_dir
 * (`config/x -> /etc/shadow`, `config/sub -> /home/u/.ssh`) is refused, exit 2, naming it: the
 * snapshot holds the application's config and nothing else from the machine.
 */
import { createWriteStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { newSha256, sha256Path } from '../shared/hash.js';
import { create as tarCreate, list as tarList } from 'tar';
import { UsageError } from '../errors.js';

export interface ConfigEntry {
  /** Relative to base_dir, "/"-separated; folders without a trailing "/". */
  path: string;
  type: 'file' | 'dir';
  /** Permission bits (mode & 0o7777). */
  mode: number;
  /** Files only. */
  sha256: string | null;
  bytes: number;
}

/** Walks the configured paths. A path that does not exist is a UsageError naming it. */
export async function collectConfigFiles(baseDir: string, paths: string[]): Promise<ConfigEntry[]> {
  try {
    if (!(await fs.stat(baseDir)).isDirectory()) throw new Error('not a folder');
  } catch (err) {
    throw new UsageError('config_files.base_dir', `config_files.base_dir ${baseDir} is not a readable folder: ${(err as Error).message}`, {
      hint: 'Set config_files.base_dir to the application checkout that holds .env, table_config.yaml and config/ (relative paths are relative to the config file).',
    });
  }
  const out = new Map<string, ConfigEntry>();
  const seenDirs = new Set<string>();
  const realBase = await fs.realpath(baseDir);
  const visit = async (rel: string): Promise<void> => {
    const abs = path.join(baseDir, ...rel.split('/'));
    await refuseOutside(baseDir, realBase, rel, abs);
    const st = await fs.stat(abs);
    const mode = st.mode & 0o7777;
    if (st.isDirectory()) {
      const real = await fs.realpath(abs);
      if (seenDirs.has(real)) return; // a symlink loop, or the same folder twice
      seenDirs.add(real);
      out.set(rel, { path: rel, type: 'dir', mode, sha256: null, bytes: 0 });
      for (const name of (await fs.readdir(abs)).sort()) await visit(`${rel}/${name}`);
    } else if (st.isFile()) {
      out.set(rel, { path: rel, type: 'file', mode, sha256: await sha256Path(abs), bytes: st.size });
    }
    // Sockets, fifos and devices are not config files: left out.
  };
  for (const p of paths) {
    const rel = p.split(/[\\/]+/).filter((x) => x && x !== '.').join('/');
    try {
      await fs.stat(path.join(baseDir, ...rel.split('/')));
    } catch (err) {
      throw new UsageError('config_files.missing', `config file ${p} is missing: ${path.join(baseDir, rel)} ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : `cannot be read (${(err as Error).message})`}`, {
        hint: `Create it, or remove ${JSON.stringify(p)} from config_files.paths (paths are relative to config_files.base_dir ${baseDir}). No snapshot was taken.`,
      });
    }
    await visit(rel);
  }
  return [...out.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Is `p` `base` or below it? */
function within(base: string, p: string): boolean {
  const rel = path.relative(base, p);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** A config path that resolves (through a link anywhere on its way) outside base_dir: exit 2, naming it. */
async function refuseOutside(baseDir: string, realBase: string, rel: string, abs: string): Promise<void> {
  const real = await fs.realpath(abs).catch((err: NodeJS.ErrnoException) => {
    throw new UsageError('config_files.unreadable', `config file ${rel} under ${baseDir} cannot be resolved (${err.code ?? err.message}; a dangling link?)`, {
      hint: `Fix or remove ${path.join(baseDir, rel)}, or take it out of config_files.paths. No snapshot was taken.`,
    });
  });
  if (within(realBase, real)) return;
  const link = await fs.readlink(abs).then((t) => ` (a link to ${t})`, () => ' (through a linked folder)');
  throw new UsageError('config_files.outside_base_dir', `config file ${rel}${link} resolves to ${real}, outside config_files.base_dir ${baseDir}; no snapshot was taken`, {
    hint: `A config snapshot holds only what is inside base_dir. Replace the link with a copy of the file, or remove it from ${baseDir}; links inside base_dir are fine (stored as their target's content).`,
  });
}

export function contentSha256(entries: ConfigEntry[]): string {
  const h = newSha256();
  for (const e of [...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) {
    h.update(`${e.type}\0${e.path}\0${e.mode.toString(8)}\0${e.sha256 ?? ''}\n`);
  }
  return h.digest('hex');
}

/** Packs the entries (exactly those: no folder is recursed by tar itself) into `file`, 0600. */
export async function writeConfigArchive(baseDir: string, entries: ConfigEntry[], file: string, signal?: AbortSignal): Promise<void> {
  const pack = tarCreate({ gzip: true, cwd: baseDir, portable: true, noDirRecurse: true, follow: true }, entries.map((e) => e.path));
  await pipeline(pack, createWriteStream(file, { flags: 'wx', mode: 0o600 }), ...(signal ? [{ signal }] : []));
}

/** Reads an archive back into entries (the content hashed), to compare with what was meant to go in. */
export async function readConfigArchive(file: string): Promise<ConfigEntry[]> {
  const out: ConfigEntry[] = [];
  const pending: Promise<void>[] = [];
  await tarList({
    file,
    onReadEntry: (entry) => {
      const rel = entry.path.replace(/\/+$/, '');
      const mode = (entry.mode ?? 0) & 0o7777;
      if (entry.type === 'Directory') {
        out.push({ path: rel, type: 'dir', mode, sha256: null, bytes: 0 });
        entry.resume();
        return;
      }
      const h = newSha256();
      let bytes = 0;
      pending.push(
        new Promise<void>((resolve, reject) => {
          entry.on('data', (c: Buffer) => {
            h.update(c);
            bytes += c.length;
          });
          entry.on('end', () => {
            out.push({ path: rel, type: 'file', mode, sha256: h.digest('hex'), bytes });
            resolve();
          });
          entry.on('error', reject);
        }),
      );
    },
  });
  await Promise.all(pending);
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
