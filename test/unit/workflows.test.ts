/**
 * What the shipped workflows promise a real runner and the runbook (workflows-lint.test.ts holds
 * actionlint and the general shape): the dedicated runner label and why, PostgreSQL at 00:00 and
 * TDengine at 01:00 Asia/Shanghai as runs of their own, each engine's newest set verified weekly,
 * the restore behind an environment with required reviewers and with the notification secrets,
 * every third-party action pinned to a full commit SHA, and the release workflow.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { z } from 'zod';

const dir = new URL('../../.github/workflows/', import.meta.url);
const files = readdirSync(dir).filter((f) => f.endsWith('.yml'));
const templateDir = new URL('../../docs/workflows/', import.meta.url);
const text = (f: string) => readFileSync(new URL(f, dir), 'utf8');
const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

const scalar = z.union([z.string(), z.number(), z.boolean()]);
const stepSchema = z.looseObject({ name: z.string().optional(), id: z.string().optional(), if: z.string().optional(), uses: z.string().optional(), run: z.string().optional(), env: z.record(z.string(), scalar).optional(), with: z.record(z.string(), scalar).optional() });
const jobSchema = z.looseObject({
  'runs-on': z.union([z.string(), z.array(z.string())]),
  needs: z.union([z.string(), z.array(z.string())]).optional(),
  environment: z.union([z.string(), z.looseObject({ name: z.string() })]).optional(),
  permissions: z.record(z.string(), z.string()).optional(),
  env: z.record(z.string(), scalar).optional(),
  steps: z.array(stepSchema),
});
const workflowSchema = z.looseObject({
  on: z.looseObject({ push: z.looseObject({ tags: z.array(z.string()).optional() }).optional(), schedule: z.array(z.object({ cron: z.string() })).optional() }),
  permissions: z.record(z.string(), z.string()).optional(),
  concurrency: z.object({ group: z.string(), 'cancel-in-progress': z.boolean() }).optional(),
  jobs: z.record(z.string(), jobSchema),
});
type Step = z.infer<typeof stepSchema>;
const wf = (f: string) => workflowSchema.parse(parse(text(f)));
const steps = (f: string): Step[] => Object.values(wf(f).jobs).flatMap((j) => j.steps);
const actionSteps = (f: string) => steps(f).filter((s) => s.uses === './');
const operational = files.filter((f) => f !== 'ci.yml' && f !== 'release.yml');

describe('the dedicated runner', () => {
  it.each(operational)('%s: every job runs on [self-hosted, pgtaos-backup], and says why (the catalog is on that host\'s disk)', (f) => {
    const lines = text(f).split('\n');
    for (const [name, job] of Object.entries(wf(f).jobs)) {
      expect(job['runs-on'], `${f} ${name}`).toEqual(['self-hosted', 'pgtaos-backup']);
    }
    lines.forEach((l, i) => {
      if (!l.includes('runs-on:')) return;
      expect(lines.slice(Math.max(0, i - 3), i).join('\n'), `${f}:${i + 1}`).toMatch(/catalog[\s\S]*disk/);
    });
  });
  it('the README tells how to give the runner that label', () => {
    expect(readme).toContain('pgtaos-backup');
    expect(readme).toMatch(/--labels pgtaos-backup/);
  });
});

describe('nightly-backup.yml: PostgreSQL at 00:00 and TDengine at 01:00 Asia/Shanghai, each its own run', () => {
  const w = wf('nightly-backup.yml');
  const engines = String(w.jobs.backup!.env?.ENGINES);
  /** The engine the ENGINES expression gives for a run started by `schedule` (null: by hand). */
  const engineFor = (schedule: string | null): string => {
    for (const m of engines.matchAll(/github\.event\.schedule == '([^']+)' && '([a-z]+)'/g)) if (m[1] === schedule) return m[2]!;
    return /inputs\.engines \|\| 'all'/.test(engines) ? 'inputs.engines or all' : 'none';
  };
  it('16:00 UTC dumps PostgreSQL, 17:00 UTC dumps TDengine, a run by hand what its input says', () => {
    expect(w.on.schedule?.map((s) => s.cron)).toEqual(['0 16 * * *', '0 17 * * *']);
    expect(engineFor('0 16 * * *')).toBe('postgres');
    expect(engineFor('0 17 * * *')).toBe('tdengine');
    expect(engineFor(null)).toBe('inputs.engines or all');
    expect(actionSteps('nightly-backup.yml').find((s) => s.with?.command === 'backup')?.with?.engines).toBe('${{ env.ENGINES }}');
  });
  it('a point-in-time base backup after the PostgreSQL dump, only when the config has a pitr: section', () => {
    const steps = actionSteps('nightly-backup.yml');
    const dump = steps.findIndex((s) => s.with?.command === 'backup');
    const pitr = steps.findIndex((s) => s.with?.command === 'pitr-backup');
    expect(pitr).toBeGreaterThan(dump);
    expect(steps[pitr]!.if).toContain("steps.pitr.outputs.configured == 'true'");
    expect(w.jobs.backup!.steps.find((s) => s.id === 'pitr')?.run).toContain("grep -Eq '^pitr:' ops/pgtaos-backup.yml");
    expect(steps[pitr]!.if).toContain("env.ENGINES == 'postgres'");
    expect(steps[pitr]!.with?.['pitr-password']).toBe('${{ secrets.PITR_PGPASSWORD }}');
  });
  it('the two runs are in different concurrency groups (neither can cancel the other while it is pending)', () => {
    expect(w.concurrency?.group).toContain('github.event.schedule');
    expect(w.concurrency?.['cancel-in-progress']).toBe(false);
  });
});

describe('weekly-verify.yml: each engine\'s newest set is verified', () => {
  const vs = actionSteps('weekly-verify.yml').filter((s) => s.with?.command === 'verify' && s.with.pitr === undefined);
  it('one verify step for PostgreSQL and one for TDengine; the second runs even when the first failed', () => {
    expect(vs.map((s) => s.with?.engines)).toEqual(["${{ inputs.set-id == '' && 'postgres' || 'all' }}", 'tdengine']);
    expect(vs[1]!.if).toContain('!cancelled()');
    expect(vs[1]!.if).toContain("inputs.set-id == ''");
  });
  it('verify --pitr proves point-in-time recovery weekly when the config has a pitr: section, even after a failed set verification', () => {
    const p = actionSteps('weekly-verify.yml').filter((s) => s.with?.command === 'verify' && s.with.pitr !== undefined);
    expect(p).toHaveLength(1);
    expect(String(p[0]!.with?.pitr)).toBe('true');
    expect(p[0]!.if).toContain('!cancelled()');
    expect(p[0]!.if).toContain("steps.pitr.outputs.configured == 'true'");
    expect(p[0]!.with?.['pitr-password']).toBe('${{ secrets.PITR_PGPASSWORD }}');
  });
});

describe('restore.yml: behind an environment with required reviewers', () => {
  const w = wf('restore.yml');
  it('the job runs in the environment pgtaos-restore, and the README says to give it required reviewers', () => {
    expect(w.jobs.restore!.environment).toBe('pgtaos-restore');
    expect(readme).toMatch(/pgtaos-restore[\s\S]{0,300}[Rr]equired reviewers/);
  });
  it('the restore step has the notification secrets, from secrets of the same names', () => {
    const s = actionSteps('restore.yml')[0]!;
    const hooks = Object.keys(s.env ?? {}).filter((k) => /^PGTAOS_.*_(WEBHOOK|SECRET)$/.test(k));
    expect(hooks).toEqual(expect.arrayContaining(['PGTAOS_WECOM_WEBHOOK', 'PGTAOS_DINGTALK_WEBHOOK', 'PGTAOS_DINGTALK_SECRET']));
    for (const k of hooks) expect(s.env![k]).toBe(`\${{ secrets.${k} }}`);
  });
});

describe('pinned actions', () => {
  const sources = [...files.map((f) => [`.github/workflows/${f}`, text(f)] as const), ...readdirSync(templateDir).filter((f) => f.endsWith('.yml')).map((f) => [`docs/workflows/${f}`, readFileSync(new URL(f, templateDir), 'utf8')] as const)];
  it('every action from another repository is pinned to a full commit SHA, with its exact version in a comment', () => {
    let seen = 0;
    for (const [name, src] of sources) {
      for (const m of src.matchAll(/^\s*(?:- )?uses: (\S+)(.*)$/gm)) {
        const [ref, rest] = [m[1]!, m[2]!];
        if (ref.startsWith('./')) continue;
        seen++;
        expect(ref, name).toMatch(/^[\w.-]+\/[\w.-]+@[0-9a-f]{40}$/);
        expect(rest.trim(), `${name}: ${ref}`).toMatch(/^# v\d+\.\d+\.\d+$/);
      }
    }
    expect(seen).toBeGreaterThan(5);
  });
  it('one action, one pin: the same SHA everywhere', () => {
    const pins = new Map<string, Set<string>>();
    for (const [, src] of sources) for (const m of src.matchAll(/uses: ([\w.-]+\/[\w.-]+)@([0-9a-f]{40})/g)) pins.set(m[1]!, (pins.get(m[1]!) ?? new Set()).add(m[2]!));
    for (const [action, shas] of pins) expect(shas.size, action).toBe(1);
  });
});

describe('release.yml', () => {
  const w = wf('release.yml');
  const all = steps('release.yml');
  const run = (re: RegExp) => all.find((s) => re.test(s.run ?? ''));
  it('only on a pushed version tag; read-only but for the job that releases', () => {
    expect(Object.keys(w.on)).toEqual(['push']);
    expect(w.on.push?.tags).toEqual(['v*.*.*']);
    expect(w.permissions).toEqual({ contents: 'read' });
    for (const [name, job] of Object.entries(w.jobs)) expect(job.permissions, name).toEqual(name === 'release' ? { contents: 'write' } : undefined);
  });
  it('checks who pushed, the versions and the changelog, and that dist/ is what the source builds', () => {
    expect(run(/collaborators\/\$ACTOR\/permission/)?.run).toMatch(/admin\|maintain\)/);
    expect(run(/release-notes\.ts "\$GITHUB_REF_NAME"/)).toBeDefined();
    expect(run(/npm run -s build/)?.run).toMatch(/git diff --quiet -- dist[\s\S]*--untracked-files=all -- dist/);
  });
  it('runs the tests, and releases only after the checks and the tests passed', () => {
    expect(w.jobs.test!.steps.some((s) => s.run === 'bash .ci/run')).toBe(true);
    expect(w.jobs.release!.needs).toEqual(['check', 'test']);
  });
  it('creates the GitHub release with the changelog notes and the CLI tarball, then moves the major tag', () => {
    const steps = w.jobs.release!.steps;
    const create = steps.findIndex((s) => /gh release create "\$TAG" --verify-tag/.test(s.run ?? ''));
    const move = steps.findIndex((s) => /git push -f origin "refs\/tags\/\$major"/.test(s.run ?? ''));
    expect(create).toBeGreaterThan(0);
    expect(steps[create]!.run).toContain('--notes-file "$RUNNER_TEMP/notes.md"');
    expect(steps[create]!.run).toContain('pgtaos-backup-${TAG#v}.tgz');
    expect(move).toBeGreaterThan(create);
    expect(steps[move]!.run).toContain('major="${TAG%%.*}"');
    expect(steps[move]!.if).toContain("!contains(github.ref_name, '-')");
  });
});
