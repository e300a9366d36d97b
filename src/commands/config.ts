/**
 * config: a snapshot of config_files.paths under config_files.base_dir (.env, table_config.yaml,
 * config/) as one tar.gz in a set of kind `config`, named config_<YYYYMMDD>_<HHMMSS>.
 *
 * - Skipped, and said so, when the content is byte-identical to the newest config snapshot
 *   (content_sha256 over every path, permission and byte; see catalog/config-files.ts).
 * - Private: the set folder is 0700 and every file in it 0600 (.env holds secrets).
 * - A configured path that does not exist is a usage error naming it; nothing is written.
 * - Copies leave the machine only age-encrypted (commands/replicate.ts); without
 *   encryption.age_recipients the snapshot stays local and the run warns.
 * - SIGINT/SIGTERM: checked between the steps (walk, pack, read back), so a cancel stops before
 *   the next one and the staged folder is removed; nothing is committed after a cancel.
 * Retention (catalog/retention.ts) keeps retention.config_days, and always the newest.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { JobError, UsageError } from '../errors.js';
import { collectConfigFiles, contentSha256, readConfigArchive, writeConfigArchive } from '../catalog/config-files.js';
import { fileEntry } from '../catalog/checksum.js';
import { setIdFor, uniqueId } from '../catalog/labels.js';
import { MANIFEST_FORMAT, type Manifest } from '../catalog/manifest.js';
import { listSets, stageSet } from '../catalog/sets.js';
import { localTime } from '../catalog/time.js';
import { formatBytes } from '../shared/format.js';
import type { CommandOutcome } from '../report/result.js';
import { TOOL_NAME, TOOL_VERSION } from '../version.js';
import { gitInfo, type RunContext } from './context.js';

export const CONFIG_ARCHIVE = 'config.tar.gz';

/** Owner-only: the folder 0700, every file in it 0600. */
async function makePrivate(dir: string): Promise<void> {
  await fs.chmod(dir, 0o700);
  for (const e of await fs.readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) await makePrivate(p);
    else if (e.isFile()) await fs.chmod(p, 0o600);
  }
}

/** A cancel that arrived during the last step stops the snapshot before the next one. */
function stopIfCancelled(ctx: RunContext): void {
  if (ctx.signal.aborted) throw ctx.signal.reason;
}

export async function configSnapshot(ctx: RunContext): Promise<CommandOutcome> {
  const { config, log } = ctx;
  const cf = config.config_files;
  if (!cf) {
    throw new UsageError('config_files.missing_section', 'no config_files: section in the config, so there is nothing to snapshot', {
      hint: 'Add `config_files: {base_dir: /opt/claude/mystocks_spec, paths: [.env, table_config.yaml, config]}`.',
    });
  }
  const entries = await collectConfigFiles(cf.base_dir, cf.paths);
  stopIfCancelled(ctx);
  const content = contentSha256(entries);
  const files = entries.filter((e) => e.type === 'file');
  log.info(`${files.length} files (${formatBytes(files.reduce((a, e) => a + e.bytes, 0))}) in ${cf.paths.join(', ')} under ${cf.base_dir}; content sha256 ${content.slice(0, 16)}…`);

  const sets = await listSets(config.root);
  const newest = sets.find((s) => s.kind === 'config' && s.status === 'complete' && s.manifest?.config);
  if (newest?.manifest?.config?.content_sha256 === content) {
    const message = `config unchanged since ${newest.id} (${newest.manifest.started_at}): byte-identical, no snapshot taken`;
    log.info(message);
    return {
      message,
      set: { id: newest.id, kind: 'config', path: newest.path, bytes: newest.manifest.bytes },
      checks: [{ name: 'config snapshot', result: 'skipped', detail: message }],
    };
  }

  const startedAt = ctx.now();
  const local = localTime(startedAt, config.timezone);
  const taken = new Set(sets.map((s) => s.id));
  const id = uniqueId(setIdFor('config', local, 'config'), (c) => taken.has(c));
  const staged = await stageSet(config.root, 'config', id);
  try {
    const archive = path.join(staged.dir, CONFIG_ARCHIVE);
    await writeConfigArchive(cf.base_dir, entries, archive, ctx.signal);
    stopIfCancelled(ctx);
    // The archive must hold what was hashed: a file edited while we read it would make them differ.
    const packed = contentSha256(await readConfigArchive(archive));
    if (packed !== content) {
      throw new JobError('config.changed', 'the config files changed while the snapshot was being taken', { hint: 'Run `pgtaos-backup config` again.' });
    }
    const entry = await fileEntry(staged.dir, CONFIG_ARCHIVE);
    const manifest: Manifest = {
      format: MANIFEST_FORMAT,
      id,
      kind: 'config',
      milestone: null,
      status: 'complete',
      started_at: local.iso,
      finished_at: localTime(ctx.now(), config.timezone).iso,
      timezone: config.timezone,
      tool: { name: TOOL_NAME, version: TOOL_VERSION },
      hostname: os.hostname(),
      git: gitInfo(ctx.env),
      bytes: entry.bytes,
      config: { base_dir: cf.base_dir, paths: cf.paths, content_sha256: content, files: [entry] },
    };
    stopIfCancelled(ctx);
    const finalDir = await staged.commit(manifest);
    await makePrivate(finalDir);
    const message = `config set ${id}: ${files.length} files${newest ? ` changed since ${newest.id}` : ' (first snapshot)'}, ${formatBytes(entry.bytes)} (restore: tar -xzf ${CONFIG_ARCHIVE})`;
    log.info(message);
    return { message, set: { id, kind: 'config', path: finalDir, bytes: entry.bytes }, checks: [{ name: 'config snapshot', result: 'passed', detail: message }] };
  } catch (err) {
    await staged.discard();
    throw err;
  }
}
