/** The commands, by name. Each returns a CommandOutcome or throws a typed error. */
import type { CommandName } from '../inputs/options.js';
import type { CommandOutcome } from '../report/result.js';
import { backup } from './backup.js';
import type { RunContext } from './context.js';
import { list } from './list.js';
import { prune } from './prune.js';
import { status } from './status.js';
import { verify } from './verify.js';
import { milestoneName } from '../catalog/labels.js';
import { configSnapshot } from './config.js';
import { importSets } from './import.js';
import { withRemotes } from './replicate.js';
import { restore } from './restore.js';

export interface CommandSpec {
  /** Takes the root's lock and writes a log file. */
  writes: boolean;
  run(ctx: RunContext): Promise<CommandOutcome>;
}

export const COMMAND_SPECS: Record<CommandName, CommandSpec> = {
  // backup, milestone, config and import copy what they made to the remotes that take it (replicate.ts).
  backup: { writes: true, run: (ctx) => withRemotes(ctx, () => backup(ctx, { kind: 'daily' })) },
  list: { writes: false, run: list },
  milestone: {
    writes: true,
    run: (ctx) => withRemotes(ctx, () => backup(ctx, { kind: 'milestone', milestone: milestoneName(ctx.request.milestone ?? ''), force: ctx.request.force })),
  },
  config: { writes: true, run: (ctx) => withRemotes(ctx, () => configSnapshot(ctx)) },
  verify: { writes: true, run: verify },
  prune: { writes: true, run: prune },
  status: { writes: false, run: status },
  import: { writes: true, run: (ctx) => withRemotes(ctx, () => importSets(ctx)) },
  restore: { writes: true, run: restore },
};
