/**
 * SPEC 7: prune, list and status on a catalog of 1,000 sets, each under 1 s.
 * Builds a 1,000-set catalog (fake dumps, valid manifests; no database) in a temp folder and
 * times each command through runCommand, as the CLI runs it.
 *   npx tsx bench/catalog-bench.ts [--sets N] [--runs N]
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCommand } from '../src/run.js';
import { silentSink } from '../src/report/log.js';
import type { RunResult } from '../src/report/result.js';
import { manySets, writeConfigFile, writeFakeSets } from '../test/helpers/fake-catalog.js';

const TARGET_MS = 1000;

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : dflt;
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} needs a positive whole number`);
  return v;
}

async function main(): Promise<void> {
  const count = arg('sets', 1000);
  const runs = arg('runs', 5);
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pgtaos-catalog-bench-'));
  try {
    const root = path.join(dir, 'catalog');
    await fs.mkdir(root);
    const configFile = await writeConfigFile(dir);
    const t0 = performance.now();
    await writeFakeSets(root, manySets(count, new Date()), { fast: true });
    console.log(`built a catalog of ${count} sets in ${(performance.now() - t0).toFixed(0)} ms at ${root}`);

    const run = (command: 'list' | 'prune' | 'status', dryRun = false): Promise<RunResult> => runCommand({ command, configFile, dryRun }, { sink: silentSink, env: {}, cwd: dir });
    const rows: { label: string; ms: number[]; note: string }[] = [];
    const measure = async (label: string, f: () => Promise<RunResult>, times: number) => {
      const ms: number[] = [];
      let last: RunResult | null = null;
      for (let i = 0; i < times; i++) {
        const s = performance.now();
        last = await f();
        ms.push(performance.now() - s);
      }
      rows.push({ label, ms, note: `exit ${last!.exit_code}: ${last!.message.slice(0, 90)}` });
    };
    await measure('list', () => run('list'), runs);
    await measure('prune --dry-run', () => run('prune', true), runs);
    await measure('status', () => run('status'), runs);
    // Once: it changes the catalog (most sets of this synthetic catalog are past retention).
    await measure('prune (removes)', () => run('prune'), 1);
    await measure('list (after prune)', () => run('list'), runs);
    await measure('status (after prune)', () => run('status'), runs);

    console.log(`\n${'command'.padEnd(22)}${'median ms'.padStart(10)}${'max ms'.padStart(9)}  target ${TARGET_MS} ms`);
    let over = 0;
    for (const r of rows) {
      const sorted = [...r.ms].sort((a, b) => a - b);
      const median = sorted[Math.floor(sorted.length / 2)]!;
      const max = sorted.at(-1)!;
      const ok = max < TARGET_MS;
      if (!ok) over++;
      console.log(`${r.label.padEnd(22)}${median.toFixed(0).padStart(10)}${max.toFixed(0).padStart(9)}  ${ok ? 'ok  ' : 'OVER'}  (${r.note})`);
    }
    console.log(over ? `\n${over} command(s) over the ${TARGET_MS} ms target` : `\nall under the ${TARGET_MS} ms target`);
    process.exitCode = over ? 1 : 0;
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

await main();
