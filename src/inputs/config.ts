/**
 * Loads the YAML config, applies flag/input overrides, validates with zod, and checks the
 * guards that must hold before anything connects. Every problem is reported at once, naming
 * the key and the file; nothing is created on failure.
 */
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { UsageError } from '../errors.js';
import '../engines/builtin.js';
import { enginePlugins } from '../engines/registry.js';
import { configSchemaFor, engineSection, type Config } from './config-schema.js';
import { OVERRIDES } from './options.js';

export { scratchDatabase } from './scratch.js';

export const DEFAULT_CONFIG_FILE = 'pgtaos-backup.yml';

export interface LoadedConfig {
  config: Config;
  /** The file it came from, or null when built from overrides alone. */
  file: string | null;
}

function resolveFile(explicit: string | undefined, env: NodeJS.ProcessEnv, cwd: string): { file: string; explicit: boolean } {
  const given = explicit || env.PGTAOS_BACKUP_CONFIG;
  // One path.resolve of a name known only at run time, on purpose: ncc's asset relocator rewrites
  // path.resolve(cwd, 'pgtaos-backup.yml') into a path inside dist/ when any */pgtaos-backup.yml
  // exists at build time (ops/pgtaos-backup.yml does), and the default file would never be found.
  const name = given || DEFAULT_CONFIG_FILE;
  return { file: path.resolve(cwd, name), explicit: Boolean(given) };
}

/** A config file is a page of YAML: anything far bigger is a mistake or an attack, refused before it is parsed. */
export const MAX_CONFIG_BYTES = 256 * 1024;
/** Longest flag or input value taken (paths and names are far shorter). */
export const MAX_OVERRIDE_LENGTH = 4096;
/** Aliases YAML may expand (a config needs few or none; an alias bomb needs millions). */
const MAX_YAML_ALIASES = 100;

/** The sample config shipped with the tool, to copy and fill in. */
export const SAMPLE_CONFIG = 'ops/pgtaos-backup.yml';

/** No file where the run looked: said as such, not as the missing keys it leads to (exit 2). */
function missingConfig(file: string): UsageError {
  return new UsageError('config.missing', `no config file at ${file} (create it from ${SAMPLE_CONFIG})`, {
    hint: `Copy ${SAMPLE_CONFIG} from the pgtaos-backup repository to ${file} and fill it in (the README's setup checklist), or point --config / PGTAOS_BACKUP_CONFIG (the action's config input) at your file. Nothing was changed.`,
  });
}

function readYaml(file: string): unknown {
  let text: string;
  try {
    const size = statSync(file).size;
    if (size > MAX_CONFIG_BYTES) {
      throw new UsageError('config.too_large', `config file ${file} is ${size} bytes; a config file may be at most ${MAX_CONFIG_BYTES} bytes`, {
        hint: 'Point --config (or PGTAOS_BACKUP_CONFIG) at the pgtaos-backup.yml you meant; a real one is a few KB.',
      });
    }
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if (err instanceof UsageError) throw err;
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw missingConfig(file);
    throw new UsageError('config.unreadable', `cannot read config file ${file}: ${(err as Error).message}`, {
      hint: 'Check the path given with --config (or PGTAOS_BACKUP_CONFIG) and its permissions.',
    });
  }
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new UsageError('config.yaml', `${file} is not valid YAML:\n${doc.errors.map((e) => `  ${e.message}`).join('\n')}`, {
      hint: 'Fix the YAML syntax at the line shown (indentation is made of spaces).',
    });
  }
  try {
    return doc.toJS({ maxAliasCount: MAX_YAML_ALIASES }) ?? {};
  } catch (err) {
    // yaml throws a ReferenceError for an alias bomb ("Excessive alias count ...") or an unresolved alias.
    throw new UsageError('config.yaml_aliases', `${file}: YAML aliases (*name) there cannot be used: ${(err as Error).message}`, {
      hint: `Write the values out instead of using anchors and aliases (at most ${MAX_YAML_ALIASES} expansions are allowed).`,
    });
  }
}

function setPath(obj: Record<string, unknown>, keys: readonly string[], value: unknown): void {
  let cur = obj;
  for (const k of keys.slice(0, -1)) {
    const next = cur[k];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) cur[k] = {};
    cur = cur[k] as Record<string, unknown>;
  }
  cur[keys[keys.length - 1]!] = value;
}

function applyOverrides(raw: Record<string, unknown>, overrides: Record<string, string>): string[] {
  const problems: string[] = [];
  for (const o of OVERRIDES) {
    const v = overrides[o.input];
    if (v === undefined || v === '') continue;
    if (v.length > MAX_OVERRIDE_LENGTH) {
      problems.push(`--${o.flag} / input ${o.input}: ${v.length} characters; at most ${MAX_OVERRIDE_LENGTH} are taken`);
      continue;
    }
    if (o.type === 'int') {
      if (!/^\d+$/.test(v.trim())) {
        problems.push(`--${o.flag} / input ${o.input}: ${JSON.stringify(v)} is not a whole number`);
        continue;
      }
      setPath(raw, o.path, Number(v.trim()));
    } else {
      setPath(raw, o.path, v);
    }
  }
  return problems;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const where = issue.path.map(String).join('.') || '(top level)';
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((k) => `${issue.path.length ? `${where}.` : ''}${k}: unknown key`).join('\n  ');
  }
  if (issue.code === 'invalid_type' && issue.input === undefined) return `${where}: required, but missing`;
  return `${where}: ${issue.message}`;
}

/** Guards that span keys: a scratch database must never be a production database (of any engine). */
function crossChecks(config: Config): string[] {
  const configured = enginePlugins()
    .map((p) => ({ name: p.name, section: engineSection(config, p.name), plugin: p }))
    .flatMap(({ name, section, plugin }) => (section === undefined ? [] : [{ name, ...plugin.databases(section) }]));
  const production = new Set(configured.map((c) => c.database));
  const problems: string[] = [];
  for (const c of configured) {
    if (c.scratch !== null && production.has(c.scratch)) {
      problems.push(`${c.name}.scratch_database: ${c.scratch} is a production database; verify drops and recreates its scratch database`);
    }
  }
  return problems;
}

/** Relative paths in engine sections (bin_dir) are relative to the config file too. */
function resolveEnginePaths(config: Config, base: string): void {
  for (const p of enginePlugins()) {
    const section = engineSection(config, p.name);
    if (typeof section !== 'object' || section === null) continue;
    const fields = section as Record<string, unknown>;
    for (const key of p.pathKeys ?? []) {
      const v = fields[key];
      if (typeof v === 'string') fields[key] = path.resolve(base, v);
    }
  }
}

export function loadConfig(opts: { file?: string; overrides?: Record<string, string>; env?: NodeJS.ProcessEnv; cwd?: string }): LoadedConfig {
  const cwd = opts.cwd ?? process.cwd();
  const env = opts.env ?? process.env;
  const { file, explicit } = resolveFile(opts.file, env, cwd);
  let raw: unknown = {};
  let source: string | null = null;
  if (explicit || existsSync(file)) {
    raw = readYaml(file);
    source = file;
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new UsageError('config.shape', `${file}: the config must be a mapping of keys (root:, postgres:, ...)`, { hint: 'See the configuration reference in the README.' });
  }
  const record = raw as Record<string, unknown>;
  const problems = applyOverrides(record, opts.overrides ?? {});
  // reportInput: tells a missing key (no input) from a wrong type, which zod words alike.
  const parsed = configSchemaFor().safeParse(record, { reportInput: true });
  if (!parsed.success) problems.push(...parsed.error.issues.map(describeIssue));
  if (parsed.success) problems.push(...crossChecks(parsed.data));
  if (problems.length > 0 || !parsed.success) {
    // No file and no flags: the file is what is missing, not its keys.
    const flagged = Object.values(opts.overrides ?? {}).some((v) => v !== '');
    if (source === null && !flagged) throw missingConfig(file);
    const what = source ?? `${file} (not found; settings from flags/inputs only)`;
    throw new UsageError('config.invalid', `invalid configuration in ${what}:\n  ${problems.join('\n  ')}`, {
      hint: 'Fix the keys named above; the README lists every key, its type and its default. Nothing was changed.',
    });
  }
  const config = parsed.data;
  // Relative paths are relative to the config file, so a run from any folder means the same.
  const base = source ? path.dirname(source) : cwd;
  config.root = path.resolve(base, config.root);
  refuseSystemRoot(config.root);
  resolveEnginePaths(config, base);
  if (config.config_files) config.config_files.base_dir = path.resolve(base, config.config_files.base_dir);
  if (config.pitr) {
    const p = config.pitr;
    p.barman_home = path.resolve(base, p.barman_home);
    p.bin_dir = path.resolve(base, p.bin_dir);
    p.scratch_dir = path.resolve(base, p.scratch_dir ?? path.join(p.barman_home, 'pgtaos-scratch'));
  }
  return { config, file: source };
}

/** Folders that hold the system: the root may not be one of them nor lie below one. */
const SYSTEM_TREES = ['/bin', '/boot', '/dev', '/etc', '/lib', '/lib32', '/lib64', '/libx32', '/proc', '/run', '/sbin', '/sys', '/usr'];
/** Shared folders that hold other things: the root may lie below one (/var/backups/x), not be it. */
const SHARED_FOLDERS = ['/', '/home', '/root', '/var', '/var/lib', '/tmp', '/opt', '/mnt', '/media', '/srv'];

/** Why a root is a system folder, or null. Pure (the caller resolves links). */
export function systemRootReason(root: string): string | null {
  const p = path.resolve(root);
  if (SHARED_FOLDERS.includes(p)) return `${p} is a shared system folder`;
  const tree = SYSTEM_TREES.find((t) => p === t || p.startsWith(`${t}/`));
  return tree ? `${p} is ${p === tree ? '' : 'inside '}the system folder ${tree}` : null;
}

/**
 * The tool runs as root, writes logs/ and a lock there and deletes what it finds in .incomplete/:
 * a root that is "/" or a system folder (as given, or through a link) is refused, exit 2.
 */
function refuseSystemRoot(root: string): void {
  let real = root;
  try {
    real = realpathSync(root);
  } catch {
    /* not made yet: the path as given is what will be made */
  }
  const why = systemRootReason(root) ?? systemRootReason(real);
  if (why) {
    throw new UsageError('config.root_system', `the backup root ${root} cannot be used: ${why}`, {
      hint: 'Give root (or --root) a folder of its own for the backups, such as /data/mystocks_backup; the tool writes logs/, a lock and set folders there and cleans its .incomplete/.',
    });
  }
}
