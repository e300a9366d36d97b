/**
 * Verify benchmark (bench/README.md): `pgtaos-backup verify` against the bare equivalent on the same archive,
 * in the same run, alternating: createdb + `pg_restore -j <jobs> --no-owner --no-acl` into the fresh
 * database + exact count(*) of every user table + dropdb. Targets: ratio tool/bare <= 1.10; peak RSS
 * of the tool's own process < 150 MB.
 *
 *   npx tsx bench/verify-bench.ts [--mb 1000] [--rounds 3] [--warmup 1] [--jobs 2] [--json] [--keep]
 *
 * See bench/README.md for what is measured and how.
 */
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  diff,
  COUNT_SCRIPT,
  at,
  buildDatabase,
  fmtBytes,
  fmtCpu,
  fmtMiB,
  fmtS,
  machine,
  measure,
  median,
  mustSucceed,
  note,
  parseArgs,
  parseCounts,
  psqlCountArgs,
  runMain,
  runTool,
  settle,
  cpuWindow,
  treeCpuS,
  setup,
  sha256Ms,
  table,
  verdict,
  writeToolConfig,
  type Env,
  type Measured,
} from './lib.js';

const RATIO_TARGET = 1.1;
const RSS_TARGET_MB = 150;
const DB = 'mystocks';
const BARE_DB = 'mystocks_bare';

interface BareRound {
  round: number;
  wallMs: number;
  createdbMs: number;
  restoreMs: number;
  countMs: number;
  dropdbMs: number;
  pgRestorePeakKiB: number | null;
  /** CPU used by anything else on the machine during the run (other processes, kernel threads), and steal. */
  otherCpuS: number | null;
  stealS: number;
}

interface ToolPhases {
  /** spawn -> first log line: node start, bundle load, config, lock. */
  startup: number | null;
  /** first line -> "== checksums": list the catalog, pick the newest set. */
  pick: number | null;
  /** "== checksums" -> "sha256 ok": size + SHA-256 of the archive. */
  sha256: number | null;
  /** "sha256 ok" -> "$ pg_restore": pg_restore --version, DROP IF EXISTS + CREATE DATABASE. */
  prepare: number | null;
  /** "$ pg_restore" -> pg_restore last seen alive (+-50 ms). */
  restore: number | null;
  /** pg_restore last seen -> "counted rows": exact counts of the restored tables. */
  count: number | null;
  /** "counted rows" -> "dropped scratch database". */
  drop: number | null;
  /** -> process gone: verification record, report, JSON, exit. */
  exit: number | null;
}

interface ToolRound {
  round: number;
  wallMs: number;
  ownPeakKiB: number | null;
  treePeakKiB: number | null;
  pgRestorePeakKiB: number | null;
  ownCpuS: number | null;
  otherCpuS: number | null;
  stealS: number;
  phases: ToolPhases;
}


function phasesOf(r: Measured): ToolPhases {
  const first = r.lines[0]?.ms ?? null;
  const checksums = at(r, /^== checksums/);
  const shaOk = at(r, /sha256 ok$/);
  const restoreCmd = at(r, /^\$ pg_restore /);
  const counted = at(r, /^counted rows of/);
  const dropped = at(r, /^dropped scratch database/);
  const restoreEnd = r.childSpan['pg_restore']?.last ?? null;
  return {
    startup: first,
    pick: diff(checksums, first),
    sha256: diff(shaOk, checksums),
    prepare: diff(restoreCmd, shaOk),
    restore: diff(restoreEnd, restoreCmd),
    count: diff(counted, restoreEnd),
    drop: diff(dropped, counted),
    exit: diff(r.wallMs, dropped),
  };
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2), 'verify-bench.ts');
  const env: Env = await setup(args, 'verify');
  const c = env.cluster;
  const db = await buildDatabase(env, DB, args.mb);
  const conn = ['-h', c.host, '-p', String(c.port), '-U', c.user];

  // One set made by the tool; both sides restore its archive.
  const ws = writeToolConfig(env, path.join(env.work, 'ws'), DB, path.join(env.work, 'ws', 'backups'), args.jobs);
  note('making the set to verify (pgtaos-backup backup, not timed)');
  const made = mustSucceed(await runTool(env, ['backup', '--json'], ws, 'backup'), 'pgtaos-backup backup');
  const set = (JSON.parse(made.stdout) as { set: { id: string; path: string; bytes: number } }).set;
  const archive = path.join(set.path, `${DB}.dump`);
  note(`set ${set.id}: ${fmtBytes(set.bytes)} archive ${archive}`);
  const restoreArgs = ['-j', String(args.jobs), '--no-owner', '--no-acl', ...conn, '-d', BARE_DB, archive];
  note(`baseline: createdb ${BARE_DB}; pg_restore ${restoreArgs.join(' ')}; psql count(*) of every table; dropdb ${BARE_DB}`);
  note(`tool:     node ${env.cli} verify --json   (scratch database ${DB}_verify)`);

  const step = async (bin: string, a: string[], what: string, input?: string) =>
    mustSucceed(await measure(env.bin(bin), a, { env: env.childEnv, cwd: env.work, label: what, ...(input === undefined ? {} : { input }) }), what);

  const bare = async (round: number): Promise<BareRound> => {
    await settle(env);
    const w = cpuWindow(env);
    const start = performance.now();
    const created = await step('createdb', [...conn, BARE_DB], 'createdb');
    const restored = await step('pg_restore', restoreArgs, 'bare pg_restore');
    const counted = await step('psql', psqlCountArgs(env, BARE_DB), 'counting', COUNT_SCRIPT);
    const dropped = await step('dropdb', [...conn, BARE_DB], 'dropdb');
    const wallMs = performance.now() - start;
    const n = parseCounts(counted.stdout);
    if (n.rows !== db.rows || n.tables !== db.tables || n.largeObjects !== db.largeObjects) {
      throw new Error(`bare restore has ${n.tables} tables/${n.rows} rows/${n.largeObjects} LOs, the database ${db.tables}/${db.rows}/${db.largeObjects}`);
    }
    const cpus = [created, restored, counted, dropped].map(treeCpuS);
    const measuredCpu = cpus.every((x) => x != null) ? (cpus as number[]).reduce((a, b) => a + b, 0) : null;
    const res: BareRound = { round, wallMs, createdbMs: created.wallMs, restoreMs: restored.wallMs, countMs: counted.wallMs, dropdbMs: dropped.wallMs, pgRestorePeakKiB: restored.ownPeakKiB, ...w.end(measuredCpu) };
    note(`  bare restore+count ${fmtS(wallMs)} s (createdb ${fmtS(res.createdbMs)}, pg_restore ${fmtS(res.restoreMs)}, count ${fmtS(res.countMs)}, dropdb ${fmtS(res.dropdbMs)})  pg_restore peak ${fmtMiB(res.pgRestorePeakKiB)} MiB  other CPU ${fmtCpu(res)}`);
    return res;
  };

  const tool = async (round: number): Promise<ToolRound> => {
    await settle(env);
    const w = cpuWindow(env);
    const r = mustSucceed(await runTool(env, ['verify', '--json'], ws, 'tool'), 'pgtaos-backup verify');
    const out = JSON.parse(r.stdout) as { status: string; checks: { name: string; result: string }[] };
    if (out.status !== 'success' || out.checks.some((x) => x.result !== 'passed')) throw new Error(`verify reported ${out.status}: ${JSON.stringify(out.checks)}`);
    const res: ToolRound = {
      round,
      wallMs: r.wallMs,
      ownPeakKiB: r.ownPeakKiB,
      treePeakKiB: r.time?.maxRssKiB ?? null,
      pgRestorePeakKiB: r.childPeakKiB['pg_restore'] ?? null,
      ownCpuS: r.ownCpuS,
      ...w.end(treeCpuS(r)),
      phases: phasesOf(r),
    };
    note(`  tool verify        ${fmtS(r.wallMs)} s  node peak ${fmtMiB(res.ownPeakKiB)} MiB (time %M ${fmtMiB(res.treePeakKiB)})  pg_restore peak ${fmtMiB(res.pgRestorePeakKiB)} MiB  other CPU ${fmtCpu(res)}`);
    return res;
  };

  for (let w = 1; w <= args.warmup; w++) {
    note(`warm-up ${w}/${args.warmup} (not counted)`);
    await bare(-w);
    await tool(-w);
  }
  const bares: BareRound[] = [];
  const tools: ToolRound[] = [];
  for (let i = 1; i <= args.rounds; i++) {
    note(`round ${i}/${args.rounds}`);
    bares.push(await bare(i));
    tools.push(await tool(i));
  }

  note('components, each alone (3 times, median)');
  const three = async (f: () => Promise<number>) => median([await f(), await f(), await f()]);
  const wallOf = async (cmd: string, a: string[]) => mustSucceed(await measure(cmd, a, { env: env.childEnv, cwd: env.work, label: 'c' }), `${cmd} ${a.join(' ')}`).wallMs;
  const components = {
    nodeBare: await three(() => wallOf(process.execPath, ['-e', '0'])),
    cliVersion: await three(() => wallOf(process.execPath, [env.cli, '--version'])),
    sha256: await three(() => sha256Ms(archive)),
  };

  const medBare = median(bares.map((b) => b.wallMs));
  const medTool = median(tools.map((t) => t.wallMs));
  const ratio = medTool / medBare;
  const pairRatio = median(tools.map((t, i) => t.wallMs / bares[i]!.wallMs));
  const peakOwn = Math.max(...tools.map((t) => t.ownPeakKiB ?? 0));
  const peakTree = Math.max(...tools.map((t) => t.treePeakKiB ?? 0));
  const medOf = (xs: Array<number | null>) => {
    const ys = xs.filter((x): x is number => x != null);
    return ys.length ? median(ys) : null;
  };
  const phaseKeys = ['startup', 'pick', 'sha256', 'prepare', 'restore', 'count', 'drop', 'exit'] as const;
  const phases = Object.fromEntries(phaseKeys.map((k) => [k, medOf(tools.map((t) => t.phases[k]))])) as Record<keyof ToolPhases, number | null>;
  const bareSteps = {
    createdb: median(bares.map((b) => b.createdbMs)),
    restore: median(bares.map((b) => b.restoreMs)),
    count: median(bares.map((b) => b.countMs)),
    dropdb: median(bares.map((b) => b.dropdbMs)),
  };
  const summary = {
    medianBareMs: medBare,
    medianToolMs: medTool,
    ratio,
    medianOfRoundRatios: pairRatio,
    ratioTarget: RATIO_TARGET,
    ratioPass: ratio <= RATIO_TARGET,
    toolPeakRssMiB: peakOwn / 1024,
    toolPeakRssTarget: RSS_TARGET_MB,
    toolPeakRssPass: peakOwn > 0 && peakOwn / 1024 < RSS_TARGET_MB,
    gnuTimeMaxRssMiB: peakTree ? peakTree / 1024 : null,
    pgRestorePeakRssMiB: { bare: Math.max(...bares.map((b) => b.pgRestorePeakKiB ?? 0)) / 1024, underTool: Math.max(...tools.map((t) => t.pgRestorePeakKiB ?? 0)) / 1024 },
    archiveBytes: set.bytes,
  };

  if (args.json) {
    process.stdout.write(`${JSON.stringify({ bench: 'verify', args, machine: machine(), database: db, rounds: { bare: bares, tool: tools }, summary, bareStepsMedianMs: bareSteps, phasesMedianMs: phases, componentsMedianMs: components }, null, 2)}\n`);
    return summary.ratioPass && summary.toolPeakRssPass ? 0 : 1;
  }

  const m = machine();
  const out: string[] = [];
  out.push('');
  out.push(`pgtaos-backup verify vs bare createdb + pg_restore -j ${args.jobs} + count(*) + dropdb  (${m.cpus} CPUs ${m.cpuModel}, ${m.memGiB} GiB, node ${m.node}, PostgreSQL ${db.serverVersion})`);
  out.push(`database ${DB}: ${fmtBytes(db.bytes)}, ${db.tables} tables, ${db.rows.toLocaleString('en-US')} rows (${db.bigTableRows.toLocaleString('en-US')} in public.bench_bars), ${db.largeObjects} large objects; archive ${fmtBytes(set.bytes)}; ${args.warmup} warm-up round(s) not counted`);
  out.push('');
  out.push(
    table(
      ['round', 'bare s', '(createdb/restore/count/dropdb)', 'tool s', 'tool/bare', 'tool RSS MiB', 'time %M MiB', 'pg_restore RSS MiB (bare/tool)', 'other CPU s (bare/tool)'],
      tools.map((t, i) => {
        const b = bares[i]!;
        return [t.round, fmtS(b.wallMs), `${fmtS(b.createdbMs)} / ${fmtS(b.restoreMs)} / ${fmtS(b.countMs)} / ${fmtS(b.dropdbMs)}`, fmtS(t.wallMs), (t.wallMs / b.wallMs).toFixed(3), fmtMiB(t.ownPeakKiB), fmtMiB(t.treePeakKiB), `${fmtMiB(b.pgRestorePeakKiB)} / ${fmtMiB(t.pgRestorePeakKiB)}`, `${fmtCpu(b)} / ${fmtCpu(t)}`];
      }),
    ),
  );
  out.push('');
  out.push(`median bare              ${fmtS(medBare)} s  (createdb ${fmtS(bareSteps.createdb)}, pg_restore ${fmtS(bareSteps.restore)}, count ${fmtS(bareSteps.count)}, dropdb ${fmtS(bareSteps.dropdb)})`);
  out.push(`median tool verify       ${fmtS(medTool)} s`);
  out.push(`ratio tool/bare          ${ratio.toFixed(3)}   (target <= ${RATIO_TARGET})  ${verdict(summary.ratioPass)}   [median of per-round ratios ${pairRatio.toFixed(3)}]`);
  out.push(`tool peak RSS            ${fmtMiB(peakOwn)} MiB (node process itself, VmHWM)   (target < ${RSS_TARGET_MB} MB)  ${verdict(summary.toolPeakRssPass)}`);
  out.push(`                         ${peakTree ? `${fmtMiB(peakTree)} MiB GNU time %M (max of node and its children)` : 'GNU time not installed: no %M cross-check'}`);
  out.push(`pg_restore peak RSS      ${summary.pgRestorePeakRssMiB.bare.toFixed(1)} MiB bare, ${summary.pgRestorePeakRssMiB.underTool.toFixed(1)} MiB under the tool (separate processes, not counted above)`);
  out.push(`archive                  ${fmtBytes(set.bytes)}; database ${fmtBytes(db.bytes)}, ${db.rows.toLocaleString('en-US')} rows`);
  out.push('');
  out.push('where the tool spends its time (median over the measured rounds, from the arrival time of its log lines):');
  out.push(
    table(
      ['phase', 's', 'bare equivalent s'],
      [
        ['node start -> first log line (bundle load, config, lock)', fmtS(phases.startup), '-'],
        ['list the catalog, pick the newest set', fmtS(phases.pick), '-'],
        ['SHA-256 + size of the archive', fmtS(phases.sha256), '-'],
        ['pg_restore --version, DROP IF EXISTS + CREATE DATABASE', fmtS(phases.prepare), fmtS(bareSteps.createdb)],
        ['pg_restore (until last seen alive, +-0.05)', fmtS(phases.restore), fmtS(bareSteps.restore)],
        ['exact counts of the restored tables', fmtS(phases.count), fmtS(bareSteps.count)],
        ['DROP DATABASE', fmtS(phases.drop), fmtS(bareSteps.dropdb)],
        ['exit: verification record, report, JSON, process end', fmtS(phases.exit), '-'],
        ['overhead: median tool - median bare', fmtS(medTool - medBare), ''],
      ],
    ),
  );
  out.push('');
  out.push('components measured alone (median of 3):');
  out.push(
    table(
      ['component', 's'],
      [
        ['node -e 0', fmtS(components.nodeBare)],
        ['node dist/cli.js --version', fmtS(components.cliVersion)],
        ['SHA-256 of the archive (same code as the tool)', fmtS(components.sha256)],
      ],
    ),
  );
  process.stdout.write(`${out.join('\n')}\n`);
  return summary.ratioPass && summary.toolPeakRssPass ? 0 : 1;
}

runMain(main);
