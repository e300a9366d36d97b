import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { readActionInputs } from '../../src/inputs/action.js';
import { parseCli } from '../../src/inputs/cli.js';
import { ACTION_INPUTS, ACTION_OUTPUTS } from '../../src/inputs/options.js';
import { UsageError } from '../../src/errors.js';
import { TOOL_VERSION } from '../../src/version.js';

const actionYml = parse(readFileSync(new URL('../../action.yml', import.meta.url), 'utf8')) as {
  inputs: Record<string, { required: boolean; default?: string }>;
  outputs: Record<string, unknown>;
  runs: { using: string; main: string };
};

describe('action.yml', () => {
  it('declares exactly the inputs the code reads, with the same defaults', () => {
    expect(Object.keys(actionYml.inputs).sort()).toEqual(Object.keys(ACTION_INPUTS).sort());
    for (const [name, spec] of Object.entries(ACTION_INPUTS)) {
      expect(actionYml.inputs[name]?.required, name).toBe(spec.required);
      expect(actionYml.inputs[name]?.default, name).toBe(spec.default);
    }
    expect(Object.keys(actionYml.outputs).sort()).toEqual(Object.keys(ACTION_OUTPUTS).sort());
  });
  it('runs the committed bundle on node24', () => {
    expect(actionYml.runs).toEqual({ using: 'node24', main: 'dist/index.js' });
    expect(readFileSync(new URL('../../dist/index.js', import.meta.url)).length).toBeGreaterThan(1000);
  });
  it('the version constant matches package.json', () => {
    expect(JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version).toBe(TOOL_VERSION);
  });
});

/** Every declared input is present for the runner, as its default or "". */
function runnerEnv(inputs: Record<string, string>, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...extra };
  for (const [name, spec] of Object.entries(ACTION_INPUTS)) env[`INPUT_${name.toUpperCase()}`] = inputs[name] ?? spec.default ?? '';
  return env;
}

describe('action inputs', () => {
  it('map to the same request the CLI builds', () => {
    const r = readActionInputs(runnerEnv({ command: 'backup', engines: 'postgres', 'postgres-port': '5438', config: 'ops/b.yml' }));
    expect(r.request).toMatchObject({ command: 'backup', engines: 'postgres', configFile: 'ops/b.yml', overrides: { 'postgres-port': '5438' }, dryRun: false });
  });
  it('tables (commas or new lines) and as-schema map to --table and --as-schema', () => {
    const env = { GITHUB_EVENT_NAME: 'workflow_dispatch' };
    const r = readActionInputs(runnerEnv({ command: 'restore', 'set-id': 's1', target: 'db', confirm: 'db', tables: 'public.reports, analytics.x\n public.stocks\n', 'as-schema': 'side' }, env));
    expect(r.request).toMatchObject({ tables: ['public.reports', 'analytics.x', 'public.stocks'], asSchema: 'side' });
    const quiet = { writeOut: () => {}, writeErr: () => {} };
    const cli = parseCli(['restore', 's1', '--target', 'db', '--confirm', 'db', '--table', 'public.reports', '--table', 'analytics.x', '--table', 'public.stocks', '--as-schema', 'side'], quiet);
    expect(cli.request).toMatchObject({ tables: r.request.tables!, asSchema: 'side' });
    const whole = readActionInputs(runnerEnv({ command: 'restore', 'set-id': 's1', target: 'db', confirm: 'db' }, env));
    expect(whole.request.tables).toEqual([]);
    expect(whole.request).not.toHaveProperty('asSchema');
  });
  it('enforce required (the runner does not)', () => {
    expect(() => readActionInputs(runnerEnv({}))).toThrow(UsageError);
  });
  it('reject bad values with the input named', () => {
    expect(() => readActionInputs(runnerEnv({ command: 'bakup' }))).toThrow(/command must be one of/);
    expect(() => readActionInputs(runnerEnv({ command: 'prune', 'dry-run': 'yes' }))).toThrow(/dry-run must be true or false/);
    expect(() => readActionInputs(runnerEnv({ command: 'backup', engines: 'mysql' }))).toThrow(/engines must be one of/);
  });
  it('secret inputs become the environment variables the tools read', () => {
    const r = readActionInputs(runnerEnv({ command: 'backup', 'postgres-password': 'pw-input-1' }, { PGPASSWORD: 'old' }));
    expect(r.env.PGPASSWORD).toBe('pw-input-1');
    expect(r.secrets).toEqual(['pw-input-1']);
    expect(JSON.stringify(r.request)).not.toContain('pw-input-1');
  });
  it('secrets given through env: (not inputs) are masked too, each value once', () => {
    const r = readActionInputs(runnerEnv({ command: 'backup', 'postgres-password': 'pw-input-2' }, { TDENGINE_PASSWORD: 'td-env-2', AWS_SESSION_TOKEN: 'tok-env-2', AWS_ACCESS_KEY_ID: '' }));
    expect(r.secrets.sort()).toEqual(['pw-input-2', 'td-env-2', 'tok-env-2'].sort());
  });
  it('lock-wait: seconds, default 0; anything else is refused naming the input', () => {
    expect(readActionInputs(runnerEnv({ command: 'backup' })).request.lockWait).toBe(0);
    expect(readActionInputs(runnerEnv({ command: 'backup', 'lock-wait': ' 1800 ' })).request.lockWait).toBe(1800);
    for (const bad of ['ten', '-5', '1.5', '86401']) {
      expect(() => readActionInputs(runnerEnv({ command: 'backup', 'lock-wait': bad })), bad).toThrow(/lock-wait ".*" is not a whole number of seconds from 0/);
    }
  });
  it('the CLI takes the same --lock-wait on the commands that take the lock, and refuses the same values', () => {
    const out = { writeOut: () => {}, writeErr: () => {} };
    expect(parseCli(['backup', '--lock-wait', '600'], out).request.lockWait).toBe(600);
    expect(parseCli(['prune'], out).request.lockWait).toBeUndefined();
    expect(() => parseCli(['backup', '--lock-wait', 'ten'], out)).toThrow(/lock-wait "ten" is not a whole number/);
    expect(() => parseCli(['list', '--lock-wait', '5'], out)).toThrow(/unknown option/);
  });
  it('verify --engines: the newest set holding that engine; without it, any engine', () => {
    const out = { writeOut: () => {}, writeErr: () => {} };
    expect(parseCli(['verify', '--engines', 'tdengine'], out).request).toMatchObject({ command: 'verify', engines: 'tdengine' });
    expect(parseCli(['verify'], out).request.engines).toBe('all');
    expect(parseCli(['verify', 'mystocks_20261125_000003'], out).request).toMatchObject({ setId: 'mystocks_20261125_000003', engines: 'all' });
    expect(() => parseCli(['verify', '--engines', 'mysql'], out)).toThrow(/invalid/);
  });
  it('a tag push milestone/<name> names the milestone', () => {
    const r = readActionInputs(runnerEnv({ command: 'milestone' }, { GITHUB_REF_TYPE: 'tag', GITHUB_REF_NAME: 'milestone/post_phase2', GITHUB_REF: 'refs/tags/milestone/post_phase2' }));
    expect(r.request.milestone).toBe('milestone/post_phase2');
  });
});

describe('restore in the action', () => {
  it('runs only from workflow_dispatch', () => {
    const inputs = { command: 'restore', 'set-id': 'mystocks_20261125_000003', target: 'mystocks', confirm: 'mystocks' };
    expect(() => readActionInputs(runnerEnv(inputs, { GITHUB_EVENT_NAME: 'push' }))).toThrow(/only from workflow_dispatch/);
    expect(() => readActionInputs(runnerEnv(inputs, { GITHUB_EVENT_NAME: 'schedule' }))).toThrow(/only from workflow_dispatch/);
    expect(readActionInputs(runnerEnv(inputs, { GITHUB_EVENT_NAME: 'workflow_dispatch' })).request).toMatchObject({ command: 'restore', target: 'mystocks', confirm: 'mystocks' });
  });
});
