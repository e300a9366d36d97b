/** The staleness watch workflow: status every few hours on the self-hosted runner, webhooks from secrets only. */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';

const text = readFileSync(new URL('../../.github/workflows/status-watch.yml', import.meta.url), 'utf8');
const workflow = z
  .object({
    on: z.object({ schedule: z.array(z.object({ cron: z.string() })), workflow_dispatch: z.unknown() }),
    jobs: z.record(
      z.string(),
      z.object({
        'runs-on': z.union([z.string(), z.array(z.string())]),
        steps: z.array(z.object({ uses: z.string().optional(), env: z.record(z.string(), z.string()).optional(), with: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional() })),
      }),
    ),
  })
  .parse(parse(text));

describe('status-watch.yml', () => {
  const job = Object.values(workflow.jobs)[0]!;
  const step = job.steps.find((s) => s.uses === './')!;

  it('runs status with this action on the self-hosted runner, every few hours', () => {
    // The dedicated runner label: the catalog lives on that host's disk.
    expect(job['runs-on']).toEqual(['self-hosted', 'pgtaos-backup']);
    expect(step.with?.command).toBe('status');
    const [minute, hour, dom, month, dow] = workflow.on.schedule[0]!.cron.split(' ');
    expect(minute).toMatch(/^\d+$/);
    expect(hour).toMatch(/^\*\/[1-6]$/);
    expect([dom, month, dow]).toEqual(['*', '*', '*']);
  });

  it('maps webhook URLs and signing secrets from repository secrets into env, never literal URLs', () => {
    const env = step.env ?? {};
    expect(Object.keys(env).length).toBeGreaterThan(0);
    for (const [k, v] of Object.entries(env)) expect(v, k).toBe(`\${{ secrets.${k} }}`);
    expect(text).not.toMatch(/https?:\/\/(?!github\.com)/);
  });
});
