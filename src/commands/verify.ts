/**
 * verify: prove a set restores. Checksums first (cheap, names the damaged file); then a real
 * restore into the scratch database and a table-by-table comparison with the manifest.
 * The scratch database is dropped whatever happens; the outcome is recorded beside the set.
 */
import { JobError, UsageError } from '../errors.js';
import type { ScratchContext } from '../engines/plugin.js';
import { findSet, listSets, newestVerifiable, type SetEntry } from '../catalog/sets.js';
import { checkFiles } from '../catalog/check-files.js';
import { writeVerification } from '../catalog/verification.js';
import { localTime } from '../catalog/time.js';
import { formatBytes } from '../shared/format.js';
import { engineSection, type Config } from '../inputs/config-schema.js';
import type { Check, CommandOutcome, EngineReport } from '../report/result.js';
import { TOOL_VERSION } from '../version.js';
import type { RunContext } from './context.js';
import { createEngine, enginesInSet, setSection } from './engines.js';

/**
 * Before the root, its log or the lock exist (the prepare step): each engine's checks of its section
 * (a scratch database equal to the database the set was dumped from is bad configuration, exit 2,
 * and says nothing about the set).
 */
export async function refuseScratchOfSet(config: Config, set: SetEntry): Promise<void> {
  for (const name of enginesInSet(set)) {
    if (engineSection(config, name) === undefined) continue;
    await createEngine(config, name).checkSet?.(setSection(set.manifest!, name));
  }
}

async function pickSet(ctx: RunContext): Promise<SetEntry> {
  if (ctx.request.setId) {
    const s = await findSet(ctx.config.root, ctx.request.setId);
    if (s.status !== 'complete') throw new JobError('verify.incomplete', `set ${s.id} is incomplete (${s.reason}); it is not a backup`, { hint: 'Verify a complete set; `pgtaos-backup list` shows which are.' });
    return s;
  }
  const engine = ctx.request.engines === 'all' ? undefined : ctx.request.engines;
  const newest = newestVerifiable(await listSets(ctx.config.root), ctx.now(), engine);
  if (!newest) throw new JobError('verify.no_set', `no complete daily or milestone set${engine ? ` holding ${engine}` : ''} under ${ctx.config.root}`, { hint: 'Run `pgtaos-backup backup` first (a safety or config set is verified only when named: `verify <set id>`).' });
  return newest;
}

export async function verify(ctx: RunContext): Promise<CommandOutcome> {
  const { config, log } = ctx;
  const set = await pickSet(ctx);
  const manifest = set.manifest!;
  log.info(`verifying ${set.kind} set ${set.id} (${formatBytes(manifest.bytes)}, ${manifest.started_at})`);
  const checks: Check[] = [];
  const engines: Record<string, EngineReport> = {};
  const sctx: ScratchContext = { log, signal: ctx.signal, env: ctx.env, root: config.root };

  const held = enginesInSet(set);
  const parts = held.map((name) => {
    if (engineSection(config, name) === undefined) noConfig(name);
    return { name, engine: createEngine(config, name), section: setSection(manifest, name) };
  });
  for (const p of parts) p.engine.findTools(ctx.env);

  let failed = false;
  try {
    checks.push(...(await log.group('checksums', () => checkFiles(set.path, manifest))));
    for (const c of checks) (c.result === 'passed' ? log.info : log.error).call(log, c.detail);
    if (checks.some((c) => c.result === 'failed')) {
      failed = true;
      return finish();
    }
    for (const p of parts) {
      const out = await p.engine.restoreScratch(sctx, set, p.section, checks);
      if (out.failed) failed = true;
      engines[p.name] = out.report;
    }
    return finish();
  } catch (err) {
    failed = true;
    // A usage error (a scratch name the config should not have) says nothing about the set.
    if (!ctx.signal.aborted && !(err instanceof UsageError)) await record();
    throw err;
  }

  async function record(): Promise<void> {
    // Details quote tools and servers (pg_restore lines, error messages): no secret may reach the file.
    // Only the free text is masked: maskDeep would also reach the result enum and the timestamp.
    await writeVerification(set.path, {
      verified_at: localTime(ctx.now(), config.timezone).iso,
      result: failed ? 'failed' : 'passed',
      checks: checks.map((c) => ({ ...c, name: log.mask(c.name), detail: log.mask(c.detail) })),
      tool_version: TOOL_VERSION,
    }).catch((e: unknown) => log.warn(`could not record the verification beside ${set.id}: ${(e as Error).message}`));
  }

  async function finish(): Promise<CommandOutcome> {
    await record();
    const failedChecks = checks.filter((c) => c.result === 'failed');
    return {
      message: failed ? `set ${set.id} FAILED verification: ${failedChecks.map((c) => c.detail).join('; ')}` : `set ${set.id} verified: ${verifiedSummary(checks)}`,
      failed,
      set: { id: set.id, kind: set.kind, path: set.path, bytes: manifest.bytes },
      checks,
      engines,
    };
  }
}

/** What a passed verification checked, and what it could not (skipped checks say why). */
export function verifiedSummary(checks: Check[]): string {
  const skipped = checks.filter((c) => c.result === 'skipped');
  if (skipped.length === 0) return 'checksums, restore and row counts match';
  const passed = [...new Set(checks.filter((c) => c.result === 'passed').map((c) => c.name.replace(/^checksum .*/, 'checksums')))];
  return `passed: ${passed.join(', ')}; not checked: ${skipped.map((c) => `${c.name} (${c.detail})`).join('; ')}`;
}

function noConfig(engine: string): never {
  throw new UsageError('verify.no_engine_config', `the set holds a ${engine} dump but the config has no ${engine}: section`, { hint: `Add the ${engine}: section (it names the server to restore into).` });
}
