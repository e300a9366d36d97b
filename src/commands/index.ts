/** The commands, by name. Each returns a CommandOutcome or throws a typed error. */
import { UsageError } from '../errors.js';
import type { CommandName } from '../inputs/options.js';
import type { CommandOutcome } from '../report/result.js';
import { backup } from './backup.js';
import type { RunContext } from './context.js';
import { list } from './list.js';
import { prune } from './prune.js';
import { status } from './status.js';
import { verify } from './verify.js';
import { restore } from './restore.js';

export interface CommandSpec {
  /** Takes the root's lock and writes a log file. */
  writes: boolean;
  run(ctx: RunContext): Promise<CommandOutcome>;
}

function notYet(name: string): CommandSpec {
  return {
    writes: false,
    run: () => {
      throw new UsageError('command.unavailable', `the ${name} command is not available in this version`, { hint: 'See the README for the commands this version has.' });
    },
  };
}

export const COMMAND_SPECS: Record<CommandName, CommandSpec> = {
  backup: { writes: true, run: (ctx) => backup(ctx, { kind: 'daily' }) },
  list: { writes: false, run: list },
  milestone: notYet('milestone'),
  config: notYet('config'),
  verify: { writes: true, run: verify },
  prune: { writes: true, run: prune },
  status: { writes: false, run: status },
  import: notYet('import'),
  restore: { writes: true, run: restore },
};
