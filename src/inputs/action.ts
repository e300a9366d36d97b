/**
 * Reads the action's inputs once, against one schema, into the same RunRequest the CLI builds.
 * The runner does not enforce `required`, so we do.
 */
import * as core from '@actions/core';
import { z } from 'zod';
import { UsageError } from '../errors.js';
import { ACTION_INPUTS, COMMANDS, engineChoice, OVERRIDES, SECRET_INPUTS, secretEnvNames, lockWaitProblem, parseLockWait, type RunRequestInput } from './options.js';

const bool = (name: string) =>
  z
    .string()
    .transform((v) => v.trim().toLowerCase())
    .pipe(z.enum(['', 'true', 'false'], { message: `${name} must be true or false` }))
    .transform((v) => v === 'true');

const inputsSchema = z.object({
  command: z.enum(COMMANDS, { message: `command must be one of: ${COMMANDS.join(', ')}` }),
  engines: engineChoice,
  'dry-run': bool('dry-run'),
  force: bool('force'),
  'with-globals': bool('with-globals'),
  pitr: bool('pitr'),
  'upload-report': bool('upload-report'),
  'report-retention-days': z.string().regex(/^\d*$/, 'report-retention-days must be a whole number of days').transform((v) => (v ? Number(v) : 0)),
  'on-report-error': z.enum(['fail', 'warn', ''], { message: 'on-report-error must be fail or warn' }).transform((v) => v || 'fail'),
  'lock-wait': z.string().transform((v, ctx) => {
    const n = parseLockWait(v);
    if (n === null) {
      ctx.addIssue({ code: 'custom', message: lockWaitProblem(v) });
      return z.NEVER;
    }
    return n;
  }),
});

export interface ActionRequest {
  request: RunRequestInput;
  /** The run's environment: ours, plus secret inputs under the names the tools read. */
  env: NodeJS.ProcessEnv;
  secrets: string[];
  report: { upload: boolean; retentionDays: number; onError: 'fail' | 'warn' };
}

/** Pure: the `tables` input, schema.name separated by commas or new lines (blanks ignored). */
export function splitTables(value: string): string[] {
  return value.split(/[,\n]/).map((t) => t.trim()).filter(Boolean);
}

/** Reads `INPUT_*` the way @actions/core does (hyphens kept, upper-cased). */
export function readActionInputs(env: NodeJS.ProcessEnv = process.env): ActionRequest {
  const get = (name: string) => (env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] ?? '').trim();
  const raw: Record<string, string> = {};
  for (const [name, spec] of Object.entries(ACTION_INPUTS)) raw[name] = get(name) || (spec.default ?? '');
  if (!raw.command) {
    throw new UsageError('input.required', 'input command is required', { hint: `Set \`with: command:\` to one of: ${COMMANDS.join(', ')}.` });
  }
  const parsed = inputsSchema.safeParse(raw);
  if (!parsed.success) {
    throw new UsageError('input.invalid', parsed.error.issues.map((i) => i.message).join('; '), { hint: 'Fix the `with:` inputs of the pgtaos-backup step; the README lists them.' });
  }
  const p = parsed.data;
  // Restores replace data: only a person pressing "Run workflow" may start one, never a push or a schedule.
  if (p.command === 'restore' && env.GITHUB_EVENT_NAME !== 'workflow_dispatch') {
    throw new UsageError('input.restore_event', `command restore runs only from workflow_dispatch, not from ${env.GITHUB_EVENT_NAME ?? 'an unknown event'}`, {
      hint: 'Use the shipped restore workflow (Actions > restore > Run workflow) and type the target database name into confirm.',
    });
  }

  const runEnv: NodeJS.ProcessEnv = { ...env };
  const secrets: string[] = [];
  for (const s of SECRET_INPUTS) {
    const v = raw[s.input];
    if (v) {
      runEnv[s.env] = v;
      secrets.push(v);
    }
  }
  // Secrets mapped in with `env:` on the step (not as inputs) must be masked just the same.
  for (const k of secretEnvNames()) {
    const v = runEnv[k];
    if (v && !secrets.includes(v)) secrets.push(v);
  }
  // A tag push `milestone/<name>` names the milestone when the input does not.
  let milestone = raw.milestone;
  if (!milestone && p.command === 'milestone' && env.GITHUB_REF_TYPE === 'tag' && env.GITHUB_REF_NAME?.startsWith('milestone/')) {
    milestone = env.GITHUB_REF_NAME;
  }
  const overrides: Record<string, string> = {};
  for (const o of OVERRIDES) if (raw[o.input]) overrides[o.input] = raw[o.input]!;
  const request: RunRequestInput = {
    command: p.command,
    engines: p.engines,
    dryRun: p['dry-run'],
    force: p.force,
    withGlobals: p['with-globals'],
    tables: splitTables(raw.tables ?? ''),
    ...(raw['as-schema'] ? { asSchema: raw['as-schema'] } : {}),
    pitr: p.pitr,
    ...(raw['pitr-to'] ? { to: raw['pitr-to'] } : {}),
    lockWait: p['lock-wait'],
    // upload-report asks for the report: status and list then write theirs under <root>/logs too.
    report: p['upload-report'],
    overrides,
    paths: raw.paths ? raw.paths.split('\n').map((l) => l.trim()).filter(Boolean) : [],
    ...(raw.config ? { configFile: raw.config } : {}),
    ...(milestone ? { milestone } : {}),
    ...(raw['set-id'] ? { setId: raw['set-id'] } : {}),
    ...(raw.target ? { target: raw.target } : {}),
    ...(raw.confirm ? { confirm: raw.confirm } : {}),
  };
  return { request, env: runEnv, secrets, report: { upload: p['upload-report'], retentionDays: p['report-retention-days'], onError: p['on-report-error'] } };
}

/** Masks the secrets in the Actions log before anything is printed. */
export function maskSecrets(secrets: string[]): void {
  for (const s of secrets) core.setSecret(s);
}
