/** The commands, by name. Each returns a CommandOutcome or throws a typed error. */
import type { CommandName } from '../inputs/options.js';
import type { CommandOutcome } from '../report/result.js';
import { backup } from './backup.js';
import type { PrepareContext, RunContext } from './context.js';
import { list } from './list.js';
import { show } from './show.js';
import { check } from './check.js';
import { prune } from './prune.js';
import { status } from './status.js';
import { refuseScratchOfSet, verify } from './verify.js';
import { milestoneName } from '../catalog/labels.js';
import { findSet, listSets, newestVerifiable } from '../catalog/sets.js';
import { configSnapshot } from './config.js';
import { importSets } from './import.js';
import { withRemotes } from './replicate.js';
import { checkConfirmation, pickEngine, restorableEngine, restore } from './restore.js';
import { enginesInSet, findEngineTools, requireSections, selectEngines } from './engines.js';
import { pitrBackup, pitrRestore, pitrSetup, pitrVerify, preparePitr } from './pitr.js';

export interface CommandSpec {
  /** Takes the root's lock and writes a log file. */
  writes: boolean;
  /** false: writes no report file under <root>/logs and sends no notifications (check leaves no trace). Default true. */
  report?: boolean;
  /**
   * Checks that need no connection and write nothing (engines chosen, tools found), run before the
   * root, its logs/ and the lock are created: a mistake here is exit 2 with nothing created.
   */
  prepare?(p: PrepareContext): Promise<void> | void;
  run(ctx: RunContext): Promise<CommandOutcome>;
}

/** backup and milestone: the chosen engines exist in the config and their tools are installed. */
function prepareDump(p: PrepareContext): void {
  findEngineTools(p.config, selectEngines(p.config, p.request.engines), p.env);
}

/** verify: the tools of the engines in the set it will verify (the newest complete one by default). */
async function prepareVerify(p: PrepareContext): Promise<void> {
  const { root } = p.config;
  // The same choice verify makes; incomplete or missing sets are left for verify to refuse.
  const set = p.request.setId
    ? await findSet(root, p.request.setId)
    : newestVerifiable(await listSets(root), new Date(), p.request.engines === 'all' ? undefined : p.request.engines);
  if (!set || set.status !== 'complete') return;
  const engines = enginesInSet(set);
  requireSections(p.config, engines, 'verify.no_engine_config', `set ${set.id}`);
  findEngineTools(p.config, engines, p.env);
  await refuseScratchOfSet(p.config, set);
}

/** restore: the confirmation, then the engine it would restore and that engine's tools. */
async function prepareRestore(p: PrepareContext): Promise<void> {
  checkConfirmation(p.request.target, p.request.confirm);
  if (!p.request.setId) return; // restore itself says how to name one
  const set = await findSet(p.config.root, p.request.setId);
  if (set.status !== 'complete') return;
  const engine = pickEngine(enginesInSet(set), p.request.engines, set.id);
  requireSections(p.config, [engine], 'restore.no_engine_config', `set ${set.id}`);
  restorableEngine(p.config, engine, set.id);
  findEngineTools(p.config, [engine], p.env);
}

export const COMMAND_SPECS: Record<CommandName, CommandSpec> = {
  // backup, milestone, config and import copy what they made to the remotes that take it (replicate.ts).
  backup: { writes: true, prepare: prepareDump, run: (ctx) => withRemotes(ctx, () => backup(ctx, { kind: 'daily' })) },
  list: { writes: false, run: list },
  show: { writes: false, run: show },
  milestone: {
    writes: true,
    prepare: prepareDump,
    run: (ctx) => withRemotes(ctx, () => backup(ctx, { kind: 'milestone', milestone: milestoneName(ctx.request.milestone ?? ''), force: ctx.request.force })),
  },
  config: { writes: true, run: (ctx) => withRemotes(ctx, () => configSnapshot(ctx)) },
  verify: { writes: true, prepare: (p) => (p.request.pitr ? preparePitr(p) : prepareVerify(p)), run: (ctx) => (ctx.request.pitr ? pitrVerify(ctx) : verify(ctx)) },
  prune: { writes: true, run: prune },
  status: { writes: false, run: status },
  import: { writes: true, run: (ctx) => withRemotes(ctx, () => importSets(ctx)) },
  restore: { writes: true, prepare: (p) => (p.request.pitr ? preparePitr(p) : prepareRestore(p)), run: (ctx) => (ctx.request.pitr ? pitrRestore(ctx) : restore(ctx)) },
  check: { writes: false, report: false, run: check },
  'pitr-setup': { writes: true, prepare: preparePitr, run: pitrSetup },
  'pitr-backup': { writes: true, prepare: preparePitr, run: pitrBackup },
};
