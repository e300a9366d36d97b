/**
 * The CLI's flags, parsed with commander into the same RunRequest the action builds.
 * Usage errors exit 2, like config errors.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { engineChoices, OVERRIDES, SECRET_INPUTS, lockWaitProblem, parseLockWait, type RunRequestInput } from './options.js';
import { TOOL_NAME, TOOL_VERSION } from '../version.js';
import { SET_KINDS } from '../catalog/labels.js';

export interface CliRequest {
  request: RunRequestInput;
  json: boolean;
}

type Opts = Record<string, unknown>;

function common(cmd: Command): Command {
  cmd.option('-c, --config <file>', 'config file (default: pgtaos-backup.yml here, or $PGTAOS_BACKUP_CONFIG)');
  cmd.option('--json', 'print one JSON report on stdout (logs go to stderr)');
  for (const o of OVERRIDES) cmd.option(`--${o.flag} <value>`, o.description);
  return cmd;
}

/** Commands that take the root's lock can wait for it. */
function waits(cmd: Command): Command {
  return cmd.addOption(
    new Option('--lock-wait <seconds>', 'wait up to this long for another run on the same root to finish (default 0: fail at once)').argParser((v: string) => {
      const n = parseLockWait(v);
      if (n === null) throw new InvalidArgumentError(lockWaitProblem(v));
      return n;
    }),
  );
}

function toRequest(command: RunRequestInput['command'], opts: Opts, extra: Partial<RunRequestInput>): CliRequest {
  const overrides: Record<string, string> = {};
  for (const o of OVERRIDES) {
    // commander camel-cases flags: --postgres-port -> postgresPort
    const key = o.flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    const v = opts[key];
    if (typeof v === 'string') overrides[o.input] = v;
  }
  return {
    json: Boolean(opts.json),
    request: {
      command,
      ...(typeof opts.config === 'string' ? { configFile: opts.config } : {}),
      overrides,
      ...(typeof opts.lockWait === 'number' ? { lockWait: opts.lockWait } : {}),
      ...extra,
    },
  };
}

/** `--last`: a whole number from 1. */
function positiveCount(v: string): number {
  if (!/^\d+$/.test(v.trim()) || Number(v) < 1) throw new InvalidArgumentError(`${JSON.stringify(v)} is not a whole number of sets from 1`);
  return Number(v);
}

function listFilters(opts: Opts): Partial<RunRequestInput> {
  return {
    ...(typeof opts.kind === 'string' ? { kind: opts.kind as RunRequestInput['kind'] } : {}),
    ...(typeof opts.engine === 'string' ? { engine: opts.engine } : {}),
    ...(typeof opts.last === 'number' ? { last: opts.last } : {}),
  };
}

const EXAMPLES: readonly (readonly [string, string])[] = [
  ['pgtaos-backup check', 'every precondition of a nightly run, as pass/fail rows'],
  ['pgtaos-backup backup', 'dump the configured databases into a new daily set'],
  ['pgtaos-backup status | grep FAILED', 'rows go to stdout, logs to stderr'],
  ["pgtaos-backup list --json | jq '.sets[0]'", 'one JSON report on stdout'],
  ['pgtaos-backup prune --dry-run', 'what retention would remove, and why'],
  ['pgtaos-backup verify', 'restore the newest set into scratch databases and compare'],
];

/** `pgtaos-backup --help`'s closing part: examples, the environment it reads, the exit codes. */
export function helpEpilogue(): string {
  const secrets = [
    ...SECRET_INPUTS.map((s) => ({ env: s.env, what: s.description })),
    { env: 'AWS_SESSION_TOKEN', what: 'S3-compatible remote session token, when the keys are temporary (masked).' },
  ];
  const width = Math.max('PGTAOS_BACKUP_CONFIG'.length, ...secrets.map((s) => s.env.length));
  const env = [{ env: 'PGTAOS_BACKUP_CONFIG', what: 'Config file when --config is not given (default: pgtaos-backup.yml here).' }, ...secrets];
  return [
    '',
    'Examples:',
    ...EXAMPLES.map(([cmd, what]) => `  ${cmd.padEnd(Math.max(...EXAMPLES.map(([c]) => c.length)))}  ${what}`),
    '',
    'Environment (secrets come only from here, never from flags or the config file):',
    ...env.map((e) => `  ${e.env.padEnd(width)}  ${e.what}`),
    '  (and each notify: entry\'s url_env / secret_env)',
    '',
    'Exit codes:',
    '  0  success',
    '  1  the job ran and failed (a dump, a check row, a verification, an unreachable server, a lock held)',
    '  2  bad usage or configuration, rejected before anything was touched',
    '',
  ].join('\n');
}

function parsePort(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1 || n > 65535) throw new InvalidArgumentError('must be a port number from 1 to 65535');
  return n;
}

function pitrOpts(opts: Opts): Partial<RunRequestInput> {
  if (!opts.pitr) return {};
  return { pitr: true, ...(typeof opts.to === 'string' ? { to: opts.to } : {}), ...(typeof opts.into === 'string' ? { into: opts.into } : {}), ...(typeof opts.startOn === 'number' ? { startOn: opts.startOn } : {}) };
}

/** Parses argv (without node and script). Throws CommanderError for usage errors and --help. */
export function parseCli(argv: string[], out: { writeOut: (s: string) => void; writeErr: (s: string) => void }): CliRequest {
  let parsed: CliRequest | null = null;
  const program = new Command(TOOL_NAME)
    .description('Back up PostgreSQL and TDengine, prove the backups restore, keep milestones forever.')
    .version(TOOL_VERSION)
    .exitOverride()
    .configureOutput(out)
    .showHelpAfterError('(add --help for usage)')
    .addHelpText('after', helpEpilogue());
  const engines = () => new Option('--engines <which>', 'engines to back up').choices(engineChoices()).default('all');

  const sub = (name: string, description: string) => common(program.command(name).description(description).exitOverride().configureOutput(out));
  const writer = (name: string, description: string) => waits(sub(name, description));

  writer('backup', 'dump the configured databases into a new daily set')
    .addOption(engines())
    .action((opts: Opts) => { parsed = toRequest('backup', opts, { engines: opts.engines as RunRequestInput['engines'] }); });
  writer('milestone', 'make a permanent set named <name>_<YYYYMMDD>')
    .argument('<name>', 'milestone name: a-z, 0-9, _ (a tag milestone/<name> gives <name>)')
    .addOption(engines())
    .option('--force', 'keep a second milestone of the same name on the same day')
    .action((name: string, opts: Opts) => { parsed = toRequest('milestone', opts, { milestone: name, force: Boolean(opts.force), engines: opts.engines as RunRequestInput['engines'] }); });
  writer('config', 'snapshot the configured config files when they changed').action((opts: Opts) => { parsed = toRequest('config', opts, {}); });
  writer('verify', 'restore a set into scratch databases and compare it with its manifest')
    .argument('[set-id]', 'set to verify (default: the newest complete daily or milestone set)')
    .addOption(new Option('--engines <which>', 'without a set id: the newest complete set holding this engine').choices(engineChoices()).default('all'))
    .option('--pitr', 'prove point-in-time recovery through Barman instead (README, Point-in-time recovery)')
    .option('--to <time|lsn>', 'with --pitr: the point, e.g. "2026-12-05 14:36:00+08" or 0/3000060 (default: the newest nightly restore point)')
    .action((setId: string | undefined, opts: Opts) => { parsed = toRequest('verify', opts, { ...(setId ? { setId } : {}), engines: opts.engines as RunRequestInput['engines'], ...pitrOpts(opts) }); });
  writer('prune', 'apply retention')
    .option('--dry-run', 'show what would be removed and why; remove nothing')
    .action((opts: Opts) => { parsed = toRequest('prune', opts, { dryRun: Boolean(opts.dryRun) }); });
  sub('check', 'every precondition of a nightly run as pass/fail rows, dumping nothing').action((opts: Opts) => { parsed = toRequest('check', opts, {}); });
  const reportFlag = '--report';
  const reportHelp = 'also write the JSON report under <root>/logs (status and list write none unless asked)';
  sub('status', "the runbook's checklists as pass/fail rows").option(reportFlag, reportHelp).action((opts: Opts) => { parsed = toRequest('status', opts, { report: Boolean(opts.report) }); });
  sub('list', 'list the sets, newest first, with a totals line')
    .option(reportFlag, reportHelp)
    .addOption(new Option('--kind <kind>', 'only sets of this kind').choices(SET_KINDS))
    .addOption(new Option('--engine <name>', 'only sets holding a dump of this engine (config: config snapshots)').choices([...engineChoices().filter((e) => e !== 'all'), 'config']))
    .addOption(new Option('--last <n>', 'only the newest n sets (after the other filters)').argParser(positiveCount))
    .action((opts: Opts) => { parsed = toRequest('list', opts, { ...listFilters(opts), report: Boolean(opts.report) }); });
  sub('show', 'what is in a set: engines, versions, files, tables and row counts, verification, remote copies')
    .argument('<set-id>', 'set to show (`list` shows the ids)')
    .action((setId: string, opts: Opts) => { parsed = toRequest('show', opts, { setId }); });
  writer('import', "adopt backup files from the old runbook's layout")
    .argument('<path...>', 'files or folders to adopt')
    .option('--move', 'move the files into the catalog instead of copying them')
    .action((paths: string[], opts: Opts) => { parsed = toRequest('import', opts, { paths, move: Boolean(opts.move) }); });
  writer('restore', 'restore a set into a database, after a safety backup of it (or, with --pitr, recover a data directory to a point in time)')
    .argument('[set-id]', 'set to restore')
    .option('--target <db>', 'database to restore into')
    .option('--confirm <db>', 'repeat the target database name to confirm')
    .option('--pitr', 'recover a data directory to a point in time through Barman (needs --to and --into)')
    .option('--to <time|lsn>', 'with --pitr: the point, e.g. "2026-12-05 14:36:00+08"')
    .option('--into <dir>', 'with --pitr: empty folder on the runner to recover into')
    .addOption(new Option('--start-on <port>', 'with --pitr: start the recovered server on 127.0.0.1:<port>').argParser(parsePort))
    .addOption(new Option('--engines <which>', 'which dump of a set holding both to restore').choices(engineChoices()).default('all'))
    .option('--with-globals', "first create the set's roles and tablespaces (PostgreSQL) on the target server; existing ones are left as they are")
    .option('--table <schema.table>', 'PostgreSQL: restore only this table (repeatable) into the existing target, replacing it in one transaction', (v: string, prev: string[]) => [...prev, v], [])
    .option('--as-schema <name>', 'with --table: restore the tables into this new schema of the target instead, replacing nothing')
    .action((setId: string | undefined, opts: Opts) => {
      if (!opts.pitr && (!setId || opts.target === undefined || opts.confirm === undefined)) {
        throw new CommanderError(2, 'pgtaos.restore_args', 'error: restore needs <set-id>, --target <db> and --confirm <db> (or --pitr --to ... --into ...)');
      }
      parsed = toRequest('restore', opts, { ...(setId ? { setId } : {}), target: opts.target as string, confirm: opts.confirm as string, engines: opts.engines as RunRequestInput['engines'], withGlobals: Boolean(opts.withGlobals), tables: opts.table as string[], ...(opts.asSchema === undefined ? {} : { asSchema: opts.asSchema as string }), ...pitrOpts(opts) });
    });
  const pitr = program.command('pitr').description('point-in-time recovery through Barman: setup, backup').exitOverride().configureOutput(out);
  waits(common(pitr.command('setup').description('write Barman\'s config, create the slot, start the WAL receiver, run barman check; print the DBA\'s steps').exitOverride().configureOutput(out)))
    .action((opts: Opts) => { parsed = toRequest('pitr-setup', opts, {}); });
  waits(common(pitr.command('backup').description('keep the WAL receiver running and take a base backup through Barman when one is due (pitr.base_backup_every_days; the nightly workflow runs it)').exitOverride().configureOutput(out)))
    .option('--force', 'take a base backup now, whether or not one is due')
    .action((opts: Opts) => { parsed = toRequest('pitr-backup', opts, { force: Boolean(opts.force) }); });

  program.parse(argv, { from: 'user' });
  if (!parsed) {
    out.writeErr(`error: no command given\n\n${program.helpInformation()}`);
    throw new CommanderError(2, 'pgtaos.nocommand', 'no command given (add --help for usage)');
  }
  return parsed;
}
