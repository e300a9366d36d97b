/**
 * Every option a run takes, named once. The action's inputs and the CLI's flags are both read
 * from this list, and a test checks that action.yml declares exactly these inputs.
 */
import { z } from 'zod';
import { MILESTONE_RE, SET_KINDS } from '../catalog/labels.js';
import '../engines/builtin.js';
import { enginePlugins, engineSecretEnv } from '../engines/registry.js';
import '../remotes/builtin.js';
import { remoteSecretEnv } from '../remotes/registry.js';
import { BUILTIN_OPTIONS, type OverrideSpec, type SecretInputSpec } from '../engines/options.js';

export const COMMANDS = ['backup', 'milestone', 'config', 'verify', 'prune', 'status', 'list', 'show', 'import', 'restore', 'check', 'pitr-setup', 'pitr-backup'] as const;
export type CommandName = (typeof COMMANDS)[number];

/** `--engines` / input `engines`: a registered engine's name, or `all`. Read when parsed: engines registered at run time count. */
export function engineChoices(): string[] {
  return [...enginePlugins().map((p) => p.name), 'all'];
}
export type EngineChoice = string;

/** One rule for the CLI, the action and the request: a name not registered is refused, naming the choices. */
export const engineChoice = z.string().check((c) => {
  if (!engineChoices().includes(c.value)) c.issues.push({ code: 'custom', input: c.value, message: `engines must be one of: ${engineChoices().join(', ')}` });
});

/** Settings that override the config file: input name, CLI flag, config path, value type (each engine's from its options rows). */
export const OVERRIDES: readonly OverrideSpec[] = [
  { input: 'root', flag: 'root', path: ['root'], type: 'string', description: 'Backup root folder (overrides `root` in the config file).' },
  { input: 'timezone', flag: 'timezone', path: ['timezone'], type: 'string', description: 'IANA time zone for set names and timestamps (overrides `timezone`).' },
  ...BUILTIN_OPTIONS.flatMap((e) => e.overrides),
];

/** Secrets the action takes as inputs and hands on as the environment variables the tools read. */
export const SECRET_INPUTS: readonly SecretInputSpec[] = [
  ...BUILTIN_OPTIONS.flatMap((e) => e.secretInputs),
  { input: 'pitr-password', env: 'PITR_PGPASSWORD', description: 'Password of the pitr role (written to the .pgpass in barman_home, mode 0600; masked).' },
  { input: 'aws-access-key-id', env: 'AWS_ACCESS_KEY_ID', description: 'S3-compatible remote access key id (masked).' },
  { input: 'aws-secret-access-key', env: 'AWS_SECRET_ACCESS_KEY', description: 'S3-compatible remote secret key (masked).' },
];

/**
 * Environment variables whose values are masked wherever they would be printed: the built-in
 * engines' and the remotes'. secretEnvNames() adds those of engines registered at run time.
 */
export const SECRET_ENV: readonly string[] = [...BUILTIN_OPTIONS.flatMap((e) => e.secretInputs.map((s) => s.env)), 'PITR_PGPASSWORD', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN'];

/** SECRET_ENV and every registered engine's and remote driver's secret variables (masked in every output). */
export function secretEnvNames(): string[] {
  return [...new Set([...SECRET_ENV, ...engineSecretEnv(), ...remoteSecretEnv()])];
}

/** Longest lock wait accepted: a day (a self-hosted job's own timeout is usually far shorter). */
export const MAX_LOCK_WAIT_SECONDS = 86_400;
const LOCK_WAIT_RULE = `a whole number of seconds from 0 (do not wait) to ${MAX_LOCK_WAIT_SECONDS}`;

/**
 * `--lock-wait` / input `lock-wait`: how long a run waits for another run's lock before failing.
 * One parser for both, so both accept and refuse the same text. Returns null when invalid.
 */
export function parseLockWait(text: string): number | null {
  const t = text.trim();
  if (t === '') return 0;
  if (!/^\d+$/.test(t)) return null;
  const n = Number(t);
  return n <= MAX_LOCK_WAIT_SECONDS ? n : null;
}

export function lockWaitProblem(text: string): string {
  return `lock-wait ${JSON.stringify(text)} is not ${LOCK_WAIT_RULE}`;
}

/** What one run is asked to do, from either the CLI or the action. */
export const runRequestSchema = z.strictObject({
  command: z.enum(COMMANDS),
  /** Config file path; default pgtaos-backup.yml in the working directory, or $PGTAOS_BACKUP_CONFIG. */
  configFile: z.string().min(1).optional(),
  engines: engineChoice.default('all'),
  milestone: z.string().optional(),
  setId: z.string().optional(),
  target: z.string().optional(),
  confirm: z.string().optional(),
  /** restore: apply the set's roles and tablespaces (globals.sql) to the target server before the database. */
  withGlobals: z.boolean().default(false),
  /** restore: only these tables (schema.table), into the existing target (README, One table back). */
  tables: z.array(z.string()).default([]),
  /** restore --table: into this new schema of the target instead, replacing nothing (README, One table back). */
  asSchema: z.string().optional(),
  dryRun: z.boolean().default(false),
  force: z.boolean().default(false),
  move: z.boolean().default(false),
  paths: z.array(z.string()).default([]),
  /** list: only sets of this kind, only sets holding this engine's (or the config snapshot's) section, only the newest N (after the other filters). */
  kind: z.enum(SET_KINDS).optional(),
  engine: z.string().min(1).optional(),
  last: z.number().int().min(1).optional(),
  /** status and list: also write the JSON report under <root>/logs (read-only runs write none unless asked). */
  report: z.boolean().default(false),
  /** verify/restore: recover to a point through Barman instead of a set (README, Point-in-time recovery). */
  pitr: z.boolean().default(false),
  /** --pitr: a time with its offset, or an LSN. */
  to: z.string().optional(),
  /** restore --pitr: the folder on the runner to recover into. */
  into: z.string().optional(),
  /** restore --pitr: start the recovered server on 127.0.0.1 at this port. */
  startOn: z.number().int().min(1).max(65535).optional(),
  /** Seconds to wait for another run's lock on the root; 0: fail at once. */
  lockWait: z.number().int().min(0, `lockWait must be ${LOCK_WAIT_RULE}`).max(MAX_LOCK_WAIT_SECONDS, `lockWait must be ${LOCK_WAIT_RULE}`).default(0),
  /** Values from flags/inputs, keyed by OVERRIDES[].input; applied over the file. */
  overrides: z.record(z.string(), z.string()).default({}),
}).superRefine((r, ctx) => {
  // A milestone name is checked here, before the config is read or the lock taken: a bad name
  // creates nothing (no log, no set). A tag `milestone/<name>` (or refs/tags/milestone/<name>) gives <name>.
  if (r.command !== 'milestone') return;
  const name = (r.milestone ?? '').replace(/^refs\/tags\//, '').replace(/^milestone\//, '');
  if (!r.milestone) {
    ctx.addIssue({ code: 'custom', path: ['milestone'], message: 'a milestone name is required: `milestone <name>`, the action input `milestone`, or a pushed tag milestone/<name>' });
  } else if (!MILESTONE_RE.test(name)) {
    ctx.addIssue({ code: 'custom', path: ['milestone'], message: `invalid milestone name ${JSON.stringify(r.milestone)}: use 1-64 characters, lower-case letters, digits and "_", starting with a letter or digit (e.g. post_phase2)` });
  }
});
export type RunRequest = z.infer<typeof runRequestSchema>;
export type RunRequestInput = z.input<typeof runRequestSchema>;

/** The action's inputs (action.yml declares exactly these; a test checks it). */
export const ACTION_INPUTS = {
  command: { description: `What to run: ${COMMANDS.join(', ')}.`, required: true, default: undefined },
  config: { description: 'Config file, relative to the workspace (default: pgtaos-backup.yml).', required: false, default: '' },
  engines: { description: `Engines for backup/milestone: ${BUILTIN_OPTIONS.map((e) => e.name).join(', ')} or all; verify without set-id: the newest set holding that engine.`, required: false, default: 'all' },
  milestone: { description: 'Milestone name for command milestone (default: from a pushed tag milestone/<name>).', required: false, default: '' },
  'set-id': { description: 'Set for verify or restore (verify default: the newest complete daily or milestone set).', required: false, default: '' },
  target: { description: 'restore: database to restore into.', required: false, default: '' },
  confirm: { description: 'restore: must repeat the target database name exactly.', required: false, default: '' },
  'with-globals': { description: "restore: first create the set's roles and tablespaces (PostgreSQL globals.sql) on the target server; existing ones are left as they are.", required: false, default: 'false' },
  tables: { description: 'restore (PostgreSQL): only these tables, schema.name, separated by commas or new lines; each is replaced in the existing target in one transaction, after a safety set of just those tables.', required: false, default: '' },
  'as-schema': { description: 'restore with tables: put them into this new schema of the target instead, replacing nothing (roll-back: DROP SCHEMA it CASCADE).', required: false, default: '' },
  pitr: { description: 'verify: prove point-in-time recovery through Barman instead of verifying a set.', required: false, default: 'false' },
  'pitr-to': { description: 'verify with pitr: the point to recover to (a time with its offset, or an LSN; default: the newest nightly restore point).', required: false, default: '' },
  'dry-run': { description: 'prune: show what would be removed, remove nothing.', required: false, default: 'false' },
  force: { description: 'milestone: keep a second milestone of the same name on the same day; pitr-backup: take a base backup whether or not one is due.', required: false, default: 'false' },
  paths: { description: 'import: files or folders to adopt, one per line.', required: false, default: '' },
  'lock-wait': {
    description: 'Seconds to wait for another pgtaos-backup run on the same backup root to release its lock (0: fail at once). Logs who holds it every 30 s; fails with exit 1 when the wait runs out.',
    required: false,
    default: '0',
  },
  ...Object.fromEntries(OVERRIDES.map((o) => [o.input, { description: o.description, required: false, default: '' }])),
  ...Object.fromEntries(SECRET_INPUTS.map((s) => [s.input, { description: s.description, required: false, default: '' }])),
  'upload-report': { description: 'Upload the JSON report and the run log as a workflow artifact.', required: false, default: 'false' },
  'report-retention-days': { description: 'Days to keep the uploaded report artifact (0: the repository default).', required: false, default: '0' },
  'on-report-error': { description: 'fail (default) or warn: what a failed report upload does to the step.', required: false, default: 'fail' },
} as const satisfies Record<string, { description: string; required: boolean; default: string | undefined }>;

export const ACTION_OUTPUTS = {
  'set-id': 'Id of the set the run made or checked.',
  'set-path': 'Folder of that set on the runner.',
  status: 'success, failure or cancelled.',
  'report-path': 'Path of the JSON report of the run.',
} as const;
