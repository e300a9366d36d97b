/**
 * TDengine backup benchmark: `pgtaos-backup backup --engines tdengine` against a bare taosdump with
 * the same arguments, on the same data, alternating (warm-up rounds not counted).
 *
 * NO TDengine exists on this machine: the taosdump measured here, on both sides, is the STAND-IN of
 * test/stand-ins/ (a Node script writing JSON-lines "avro" files), and the server is the stand-in
 * REST server. The ratio therefore measures the tool's own overhead around a taosdump (node start,
 * checks, the counts, hashing, the manifest), not real taosdump's speed. On a real 3.3.7 server
 * (2 cores, 4.5 M rows) a person measured 1.23x before the checks ran side by side and the dump was
 * hashed while taosdump wrote it; that run cannot be repeated here.
 *
 *   npx tsx bench/tdengine-bench.ts [--children 100] [--rows 2000] [--rounds 3] [--warmup 1] [--json] [--dist DIR]
 *
 * `--dist DIR`: the tool bundle to time (default dist/; e.g. an older build made with
 * `bash scripts/build.sh DIR`, to compare two versions of the tool on the same stand-ins).
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { startTdStandIn } from '../test/helpers/tdengine-standin.js';
import { fmtMiB, fmtS, machine, measure, median, mustSucceed, note, REPO, runMain, table, verdict, type Measured } from './lib.js';

const RATIO_TARGET = 1.05;

function args(argv: string[]): { children: number; rows: number; rounds: number; warmup: number; json: boolean; dist: string } {
  const a = { children: 100, rows: 2000, rounds: 3, warmup: 1, json: false, dist: path.join(REPO, 'dist') };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]!;
    if (k === '--json') a.json = true;
    else if (k === '--dist') a.dist = path.resolve(argv[++i] ?? '');
    else if (k === '--children' || k === '--rows' || k === '--rounds' || k === '--warmup') a[k.slice(2) as 'children'] = Number(argv[++i]);
    else throw new Error(`unknown argument ${k}; usage: npx tsx bench/tdengine-bench.ts [--children 100] [--rows 2000] [--rounds 3] [--warmup 1] [--json] [--dist DIR]`);
  }
  return a;
}

/**
 * CPU seconds a run cost: user + system of the process and all its descendants (GNU time), plus
 * this process's own since `before` (the REST stand-in answering the tool's queries runs here).
 * Not a target; steadier than wall time when other work shares the machine.
 */
function cpuOf(r: Measured, before: NodeJS.CpuUsage): number | null {
  if (!r.time) return null;
  const own = process.cpuUsage(before);
  return r.time.userS + r.time.sysS + (own.user + own.system) / 1e6;
}

const cpuText = (s: number | null): string => (s === null ? '-' : s.toFixed(2));

async function main(): Promise<number> {
  const a = args(process.argv.slice(2));
  const work = mkdtempSync(path.join(os.tmpdir(), 'pgtaos-bench-tdengine-'));
  cpSync(a.dist, path.join(work, 'dist'), { recursive: true });
  const cli = path.join(work, 'dist', 'cli.js');
  note(`seeding the stand-in store: 2 super tables x ${a.children} child tables x ${a.rows} rows, and a calendar`);
  const td = await startTdStandIn({ seed: { childrenPerStable: a.children, rowsPerChild: a.rows, normalTableRows: 250 } });
  try {
    const cfg = td.config({ threads: 2 });
    const env = td.env();
    const bareArgs = ['-h', cfg.host, '-P', String(cfg.port), '-u', cfg.user, '-p', '-Z', 'Native', '-D', cfg.database, '-o', 'tdengine', '-r', 'result.txt', '-T', String(cfg.threads), '-B', String(cfg.batch_rows)];
    note('baseline: taosdump (STAND-IN) ' + bareArgs.join(' ') + '   (password on stdin)');
    note('tool:     node dist/cli.js backup --engines tdengine --json');
    const bare = async (round: number) => {
      const dir = path.join(work, `bare-${round}`);
      mkdirSync(path.join(dir, 'tdengine'), { recursive: true });
      const here = process.cpuUsage();
      const r = mustSucceed(await measure('taosdump', bareArgs, { env, cwd: dir, label: 'bare', input: `${td.password}\n` }), 'bare taosdump');
      rmSync(dir, { recursive: true, force: true });
      return { wallMs: r.wallMs, cpuS: cpuOf(r, here) };
    };
    const tool = async (round: number) => {
      const dir = path.join(work, `tool-${round}`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, 'pgtaos-backup.yml'), stringify({ root: path.join(dir, 'backups'), timezone: 'Asia/Shanghai', min_free_gb: 0, tdengine: cfg }));
      const here = process.cpuUsage();
      const r = mustSucceed(await measure(process.execPath, [cli, 'backup', '--engines', 'tdengine', '--json'], { env, cwd: dir, label: 'tool' }), 'pgtaos-backup backup');
      const out = JSON.parse(r.stdout) as { status: string };
      if (out.status !== 'success') throw new Error(`backup reported ${out.status}`);
      rmSync(dir, { recursive: true, force: true });
      return { wallMs: r.wallMs, peakKiB: r.ownPeakKiB, cpuS: cpuOf(r, here) };
    };
    for (let w = 1; w <= a.warmup; w++) {
      note(`warm-up ${w}/${a.warmup} (not counted)`);
      await bare(-w);
      await tool(-w);
    }
    const bareRuns: { wallMs: number; cpuS: number | null }[] = [];
    const tools: { wallMs: number; peakKiB: number | null; cpuS: number | null }[] = [];
    for (let i = 1; i <= a.rounds; i++) {
      bareRuns.push(await bare(i));
      tools.push(await tool(i));
      note(`round ${i}/${a.rounds}: bare ${fmtS(bareRuns.at(-1)!.wallMs)} s, tool ${fmtS(tools.at(-1)!.wallMs)} s`);
    }
    const bares = bareRuns.map((b) => b.wallMs);
    const cpuMedian = (xs: (number | null)[]) => (xs.every((x) => x !== null) ? median(xs as number[]) : null);
    const cpu = { bareS: cpuMedian(bareRuns.map((b) => b.cpuS)), toolS: cpuMedian(tools.map((t) => t.cpuS)) };
    const medBare = median(bares);
    const medTool = median(tools.map((t) => t.wallMs));
    const ratio = medTool / medBare;
    const peak = Math.max(...tools.map((t) => t.peakKiB ?? 0));
    const ratios = tools.map((t, i) => t.wallMs / bares[i]!);
    const spread = { min: Math.min(...ratios), max: Math.max(...ratios), bareMin: Math.min(...bares), bareMax: Math.max(...bares) };
    const summary = { standIn: true, rows: td.seed.totalRows, dist: a.dist, medianBareMs: medBare, medianToolMs: medTool, ratio, roundRatios: spread, medianCpuS: cpu, ratioTarget: RATIO_TARGET, ratioPass: ratio <= RATIO_TARGET, toolPeakRssMiB: peak / 1024 };
    if (a.json) {
      process.stdout.write(`${JSON.stringify({ bench: 'tdengine-backup', args: a, machine: machine(), rounds: { bare: bareRuns, tool: tools }, summary }, null, 2)}\n`);
      return summary.ratioPass ? 0 : 1;
    }
    const m = machine();
    process.stdout.write(
      [
        '',
        `pgtaos-backup backup --engines tdengine vs bare taosdump  (${m.cpus} CPUs ${m.cpuModel}, node ${m.node})`,
        'NOTE: both sides run the taosdump STAND-IN (test/stand-ins/), not the real taosdump: the ratio is the',
        "tool's own overhead around a stand-in, on a stand-in server. It says nothing of real taosdump's speed.",
        `${td.seed.totalRows.toLocaleString('en-US')} rows in 2 super tables (${a.children} child tables each) and a normal table; ${a.warmup} warm-up round(s) not counted`,
        '',
        table(
          ['round', 'bare s', 'tool s', 'tool/bare', 'bare CPU s', 'tool CPU s', 'tool RSS MiB'],
          tools.map((t, i) => [i + 1, fmtS(bares[i]), fmtS(t.wallMs), (t.wallMs / bares[i]!).toFixed(3), cpuText(bareRuns[i]!.cpuS), cpuText(t.cpuS), fmtMiB(t.peakKiB)]),
        ),
        '',
        `median bare taosdump (stand-in)  ${fmtS(medBare)} s`,
        `median tool backup               ${fmtS(medTool)} s`,
        `ratio tool/bare (TDengine)       ${ratio.toFixed(3)}   (target <= ${RATIO_TARGET})  ${verdict(summary.ratioPass)}`,
        `round ratios                     ${spread.min.toFixed(3)} .. ${spread.max.toFixed(3)}; bare ${fmtS(spread.bareMin)} .. ${fmtS(spread.bareMax)} s; load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`,
        `tool bundle                      ${a.dist}`,
        `median CPU seconds               bare ${cpuText(cpu.bareS)}, tool ${cpuText(cpu.toolS)}${cpu.bareS && cpu.toolS ? `: ratio ${(cpu.toolS / cpu.bareS).toFixed(3)} (not a target; steadier than wall time on a busy machine)` : ''}`,
        `tool peak RSS                    ${fmtMiB(peak)} MiB (node process itself)`,
        '',
      ].join('\n'),
    );
    return summary.ratioPass ? 0 : 1;
  } finally {
    await td.close();
    rmSync(work, { recursive: true, force: true });
  }
}

runMain(main);
