/**
 * Retention against golden files: each `golden/retention/<name>.input.json` (a catalog, a policy
 * and a time) has its expected plan beside it in `<name>.plan.json`, compared exactly, rule codes
 * and reasons included. After a deliberate change of the policy, regenerate them with
 * `UPDATE_GOLDEN=1 npx vitest run test/unit/retention-golden.test.ts` and review the diff.
 */
import { promises as fs, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { planRetention } from '../../src/catalog/retention.js';
import { SET_KINDS, setStatus } from '../../src/catalog/labels.js';
import { pruneDecisionSchema } from '../../src/report/result.js';

const DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'golden', 'retention');
const UPDATE = process.env.UPDATE_GOLDEN === '1';

const scenarioSchema = z.strictObject({
  description: z.string(),
  now: z.string(),
  /** Where weeks and months begin (the config's `timezone`); UTC when absent. */
  timezone: z.string().optional(),
  policy: z.strictObject({
    daily_days: z.number(),
    keep_last: z.number().int(),
    config_days: z.number(),
    keep_weekly: z.number().int().optional(),
    keep_monthly: z.number().int().optional(),
  }),
  sets: z.array(
    z.strictObject({
      id: z.string(),
      kind: z.enum(SET_KINDS),
      status: setStatus,
      path: z.string(),
      started_at: z.string().nullable(),
      engines: z.array(z.string().min(1)),
      verification: z.strictObject({ result: z.enum(['passed', 'failed']), verified_at: z.string() }).nullable(),
      staging: z.boolean(),
      damage: z.string().nullable(),
    }),
  ),
});

const names = readdirSync(DIR)
  .filter((f) => f.endsWith('.input.json'))
  .map((f) => f.slice(0, -'.input.json'.length))
  .sort();

describe('retention golden plans', () => {
  it('has scenarios', () => expect(names.length).toBeGreaterThan(0));
  for (const name of names) {
    it(name, async () => {
      const scenario = scenarioSchema.parse(JSON.parse(await fs.readFile(path.join(DIR, `${name}.input.json`), 'utf8')));
      const plan = planRetention(scenario.sets, scenario.policy, new Date(scenario.now), scenario.timezone);
      // Every decision is one the report schema accepts (bytes aside: the plan has none).
      for (const d of plan) expect(pruneDecisionSchema.omit({ bytes: true }).parse(d)).toEqual(d);
      const text = `${JSON.stringify(plan, null, 2)}\n`;
      const file = path.join(DIR, `${name}.plan.json`);
      if (UPDATE) await fs.writeFile(file, text);
      const expected = await fs.readFile(file, 'utf8').catch(() => `(missing: run with UPDATE_GOLDEN=1 to create ${path.basename(file)})`);
      expect(text).toBe(expected);
    });
  }
});
