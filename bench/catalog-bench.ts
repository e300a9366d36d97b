/**
 * bench/README.md: prune, list and status on a catalog of 1,000 sets, each under 1 s.
 * Builds a 1,000-set catalog (fake dumps, valid manifests; no database) in a temp folder and
 * times each command the way a person or cron runs it: `node dist/cli.js <command>` as a child
 * process, so node's start and the bundle's load count, not only the command's own work.
 * A copy of dist/ is taken first (others may rebuild dist/ while this runs); `node -e 0` is timed
 * beside it as the floor no command can go under.
 *   npx tsx bench/catalog-bench.ts [--sets N] [--runs N] [--dist DIR]
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { manySets, writeConfigFile, writeFakeSets } from '../test/helpers/fake-catalog.js';
import { REPO, median } from './lib.js';

const TARGET_MS = 1000;

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : dflt;
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} needs a positive whole number`);
  return v;
}

function distArg(): string {
  const i = process.argv.indexOf('--dist');
  return i >= 0 && process.argv[i + 1] ? path.resolve(process.argv[i + 1]!) : path.join(REPO, 'dist');
}

interface Timed {
  ms: number;
  code: number | null;
  stdout: string;
  stderr: string;
}

/** One child process, wall time from spawn to exit. No shell; the environment is PATH and HOME only. */
function timed(args: string[], cwd: string): Promise<Timed> {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? os.tmpdir() };
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(process.execPath, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ ms: performance.now() - start, code, stdout, stderr }));
  });
}

async function main(): Promise<void> {
  const count = arg('sets', 1000);
  const runs = arg('runs', 5);
  const distSrc = distArg();
  if (!existsSync(path.join(distSrc, 'cli.js'))) throw new Error(`${distSrc}/cli.js is missing: build it first (bash scripts/build.sh ${distSrc})`);
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pgtaos-catalog-bench-'));
  try {
    cpSync(distSrc, path.join(dir, 'dist'), { recursive: true });
    const cli = path.join(dir, 'dist', 'cli.js');
    const root = path.join(dir, 'catalog');
    await fs.mkdir(root);
    const configFile = await writeConfigFile(dir);
    const t0 = performance.now();
    await writeFakeSets(root, manySets(count, new Date()), { fast: true });
    console.log(`built a catalog of ${count} sets in ${(performance.now() - t0).toFixed(0)} ms at ${root}; bundle ${distSrc}; node ${process.version}; load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);

    const rows: { label: string; ms: number[]; note: string; target: boolean }[] = [];
    const measure = async (label: string, args: string[], times: number, target = true) => {
      const ms: number[] = [];
      let last: Timed | null = null;
      for (let i = 0; i < times; i++) {
        last = await timed(args, dir);
        ms.push(last.ms);
      }
      const message = (() => {
        try {
          return (JSON.parse(last!.stdout) as { message?: string }).message ?? '';
        } catch {
          return last!.stderr.trim().split('\n').at(-1) ?? '';
        }
      })();
      rows.push({ label, ms, note: `exit ${last!.code}: ${message.slice(0, 80)}`, target });
    };
    const cmd = (...a: string[]) => [cli, ...a, '--config', configFile, '--json'];
    await measure('node -e 0 (floor)', ['-e', '0'], runs, false);
    await measure('--version', [cli, '--version'], runs, false);
    await measure('list', cmd('list'), runs);
    await measure('prune --dry-run', cmd('prune', '--dry-run'), runs);
    await measure('status', cmd('status'), runs);
    // Once: it changes the catalog (most sets of this synthetic catalog are past retention).
    await measure('prune (removes)', cmd('prune'), 1);
    await measure('list (after prune)', cmd('list'), runs);
    await measure('status (after prune)', cmd('status'), runs);

    console.log(`\n${'node dist/cli.js ...'.padEnd(22)}${'median ms'.padStart(10)}${'max ms'.padStart(9)}  target ${TARGET_MS} ms (whole process)`);
    let over = 0;
    for (const r of rows) {
      const mid = median(r.ms);
      const max = Math.max(...r.ms);
      const ok = max < TARGET_MS;
      if (r.target && !ok) over++;
      console.log(`${r.label.padEnd(22)}${mid.toFixed(0).padStart(10)}${max.toFixed(0).padStart(9)}  ${r.target ? (ok ? 'ok  ' : 'OVER') : '    '}  ${r.target ? `(${r.note})` : ''}`);
    }
    console.log(over ? `\n${over} command(s) over the ${TARGET_MS} ms target` : `\nall under the ${TARGET_MS} ms target`);
    process.exitCode = over ? 1 : 0;
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

await main();
