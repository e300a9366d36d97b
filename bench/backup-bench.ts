/**
 * Backup benchmark (bench/README.md): `pgtaos-backup backup` against a bare `pg_dump -Fc -b -f` of the same
 * database, in the same run, alternating. Targets: wall-time ratio tool/bare <= 1.05; peak RSS of
 * the tool's own process < 150 MB.
 *
 *   npx tsx bench/backup-bench.ts [--mb 1000] [--rounds 3] [--warmup 1] [--json] [--keep]
 *
 * See bench/README.md for what is measured and how.
 */
import { mkdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import {
  at,
  buildDatabase,
  exactCounts,
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
  runMain,
  runTool,
  settle,
  cpuWindow,
  diff,
  treeCpuS,
  setup,
  sha256Ms,
  table,
  verdict,
  writeToolConfig,
  type Env,
  type Measured,
} from './lib.js';

const RATIO_TARGET = 1.05;
const RSS_TARGET_MB = 150;
const DB = 'mystocks';

interface BareRound {
  round: number;
  wallMs: number;
  /** pg_dump's own peak RSS, KiB. */
  pgDumpPeakKiB: number | null;
  bytes: number;
  /** CPU used by anything else on the machine during the run (other processes, kernel threads), and steal. */
  otherCpuS: number | null;
  stealS: number;
}

interface ToolPhases {
  /** spawn -> first log line: node start, bundle load, config, lock. */
  startup: number | null;
  /** first line -> "$ pg_dump": connect, server/client versions, free space, staging folder, BEGIN + export snapshot, table list. */
  checks: number | null;
  /** "$ pg_dump" -> "pg_dump: ... archive format": pg_dump (counts running beside it), then pg_restore --list. */
  dumpAndList: number | null;
  /** pg_dump process seen alive (first -> last poll, +-50 ms). */
  pgDumpAlive: number | null;
  /** "$ pg_dump" -> "counted rows": the concurrent exact counts. */
  counting: number | null;
  /** "archive format" -> "set ... complete": SHA-256 of the archive, manifest (fsync), rename, dir fsync. */
  finalize: number | null;
  /** "complete" -> process gone: report file, JSON on stdout, exit. */
  exit: number | null;
}

interface ToolRound {
  round: number;
  wallMs: number;
  ownPeakKiB: number | null;
  /** GNU time %M: max of node and the children it reaped. */
  treePeakKiB: number | null;
  pgDumpPeakKiB: number | null;
  ownCpuS: number | null;
  bytes: number;
  otherCpuS: number | null;
  stealS: number;
  phases: ToolPhases;
}


function phasesOf(r: Measured): ToolPhases {
  const first = r.lines[0]?.ms ?? null;
  const dumpCmd = at(r, /^\$ pg_dump /);
  const counted = at(r, /^counted rows of/);
  const dumped = at(r, /^pg_dump: .* archive format/);
  const complete = at(r, /^set \S+ complete/);
  const span = r.childSpan['pg_dump'];
  return {
    startup: first,
    checks: diff(dumpCmd, first),
    dumpAndList: diff(dumped, dumpCmd),
    pgDumpAlive: span ? span.last - span.first : null,
    counting: diff(counted, dumpCmd),
    finalize: diff(complete, dumped),
    exit: diff(r.wallMs, complete),
  };
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2), 'backup-bench.ts');
  const env: Env = await setup(args, 'backup');
  const c = env.cluster;
  const db = await buildDatabase(env, DB, args.mb);

  const bareDir = path.join(env.work, 'bare');
  mkdirSync(bareDir);
  const bareFile = path.join(bareDir, `${DB}.dump`);
  const bareArgs = ['-Fc', '-b', '-f', bareFile, '-h', c.host, '-p', String(c.port), '-U', c.user, '-d', DB];
  note(`baseline: ${env.bin('pg_dump')} ${bareArgs.join(' ')}`);
  note(`tool:     node ${env.cli} backup --json   (a copy of ${path.join('dist', 'cli.js')} taken at the start)`);

  let lastWs: string | null = null;
  let lastArchive: string | null = null;

  const bare = async (round: number): Promise<BareRound> => {
    rmSync(bareFile, { force: true });
    await settle(env);
    const w = cpuWindow(env);
    const r = mustSucceed(await measure(env.bin('pg_dump'), bareArgs, { env: env.childEnv, cwd: bareDir, label: 'bare' }), 'bare pg_dump');
    const res: BareRound = { round, wallMs: r.wallMs, pgDumpPeakKiB: r.ownPeakKiB, bytes: statSync(bareFile).size, ...w.end(treeCpuS(r)) };
    note(`  bare pg_dump   ${fmtS(r.wallMs)} s  ${fmtBytes(res.bytes)}  pg_dump peak ${fmtMiB(res.pgDumpPeakKiB)} MiB  other CPU ${fmtCpu(res)}`);
    return res;
  };

  const tool = async (round: number): Promise<ToolRound> => {
    if (lastWs) rmSync(lastWs, { recursive: true, force: true });
    const ws = writeToolConfig(env, path.join(env.work, `tool-${round}`), DB, path.join(env.work, `tool-${round}`, 'backups'), args.jobs);
    lastWs = ws;
    await settle(env);
    const w = cpuWindow(env);
    const r = mustSucceed(await runTool(env, ['backup', '--json'], ws, 'tool'), 'pgtaos-backup backup');
    const out = JSON.parse(r.stdout) as { status: string; set: { path: string; bytes: number }; engines: { postgres: { tables: { rows: number }[] } } };
    if (out.status !== 'success') throw new Error(`backup reported ${out.status}`);
    const rows = out.engines.postgres.tables.reduce((a, t) => a + t.rows, 0);
    if (rows !== db.rows) throw new Error(`the tool counted ${rows} rows, the database has ${db.rows}`);
    lastArchive = path.join(out.set.path, `${DB}.dump`);
    const res: ToolRound = {
      round,
      wallMs: r.wallMs,
      ownPeakKiB: r.ownPeakKiB,
      treePeakKiB: r.time?.maxRssKiB ?? null,
      pgDumpPeakKiB: r.childPeakKiB['pg_dump'] ?? null,
      ownCpuS: r.ownCpuS,
      bytes: statSync(lastArchive).size,
      ...w.end(treeCpuS(r)),
      phases: phasesOf(r),
    };
    note(`  tool backup    ${fmtS(r.wallMs)} s  ${fmtBytes(res.bytes)}  node peak ${fmtMiB(res.ownPeakKiB)} MiB (time %M ${fmtMiB(res.treePeakKiB)})  pg_dump peak ${fmtMiB(res.pgDumpPeakKiB)} MiB  other CPU ${fmtCpu(res)}`);
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

  // Components measured alone, on the last archive the tool wrote.
  note('components, each alone (3 times, median)');
  const archive = lastArchive!;
  const three = async (f: () => Promise<number>) => median([await f(), await f(), await f()]);
  const wallOf = async (cmd: string, a: string[]) => mustSucceed(await measure(cmd, a, { env: env.childEnv, cwd: env.work, label: 'c' }), `${cmd} ${a.join(' ')}`).wallMs;
  const components = {
    nodeBare: await three(() => wallOf(process.execPath, ['-e', '0'])),
    cliVersion: await three(() => wallOf(process.execPath, [env.cli, '--version'])),
    restoreList: await three(() => wallOf(env.bin('pg_restore'), ['--list', archive])),
    sha256: await three(() => sha256Ms(archive)),
    counts: await three(async () => (await exactCounts(env, DB)).ms),
  };

  const medBare = median(bares.map((b) => b.wallMs));
  const medTool = median(tools.map((t) => t.wallMs));
  const ratio = medTool / medBare;
  const pairRatio = median(tools.map((t, i) => t.wallMs / bares[i]!.wallMs));
  const peakOwn = Math.max(...tools.map((t) => t.ownPeakKiB ?? 0));
  const peakTree = Math.max(...tools.map((t) => t.treePeakKiB ?? 0));
  const medPhase = (k: keyof ToolPhases) => {
    const xs = tools.map((t) => t.phases[k]).filter((x): x is number => x != null);
    return xs.length ? median(xs) : null;
  };
  const phases = Object.fromEntries((['startup', 'checks', 'dumpAndList', 'pgDumpAlive', 'counting', 'finalize', 'exit'] as const).map((k) => [k, medPhase(k)])) as Record<keyof ToolPhases, number | null>;
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
    pgDumpPeakRssMiB: { bare: Math.max(...bares.map((b) => b.pgDumpPeakKiB ?? 0)) / 1024, underTool: Math.max(...tools.map((t) => t.pgDumpPeakKiB ?? 0)) / 1024 },
    dumpBytes: { bare: median(bares.map((b) => b.bytes)), tool: median(tools.map((t) => t.bytes)) },
  };

  if (args.json) {
    process.stdout.write(`${JSON.stringify({ bench: 'backup', args, machine: machine(), database: db, rounds: { bare: bares, tool: tools }, summary, phasesMedianMs: phases, componentsMedianMs: components }, null, 2)}\n`);
    return summary.ratioPass && summary.toolPeakRssPass ? 0 : 1;
  }

  const m = machine();
  const out: string[] = [];
  out.push('');
  out.push(`pgtaos-backup backup vs bare pg_dump -Fc -b -f  (${m.cpus} CPUs ${m.cpuModel}, ${m.memGiB} GiB, node ${m.node}, PostgreSQL ${db.serverVersion})`);
  out.push(`database ${DB}: ${fmtBytes(db.bytes)}, ${db.tables} tables, ${db.rows.toLocaleString('en-US')} rows (${db.bigTableRows.toLocaleString('en-US')} in public.bench_bars), ${db.largeObjects} large objects; jobs ${args.jobs}; ${args.warmup} warm-up round(s) not counted`);
  out.push('');
  out.push(
    table(
      ['round', 'bare s', 'tool s', 'tool/bare', 'tool RSS MiB', 'time %M MiB', 'pg_dump RSS MiB (bare/tool)', 'dump MiB (bare/tool)', 'other CPU s (bare/tool)'],
      tools.map((t, i) => {
        const b = bares[i]!;
        return [t.round, fmtS(b.wallMs), fmtS(t.wallMs), (t.wallMs / b.wallMs).toFixed(3), fmtMiB(t.ownPeakKiB), fmtMiB(t.treePeakKiB), `${fmtMiB(b.pgDumpPeakKiB)} / ${fmtMiB(t.pgDumpPeakKiB)}`, `${(b.bytes / 2 ** 20).toFixed(1)} / ${(t.bytes / 2 ** 20).toFixed(1)}`, `${fmtCpu(b)} / ${fmtCpu(t)}`];
      }),
    ),
  );
  out.push('');
  out.push(`median bare pg_dump      ${fmtS(medBare)} s`);
  out.push(`median tool backup       ${fmtS(medTool)} s`);
  out.push(`ratio tool/bare          ${ratio.toFixed(3)}   (target <= ${RATIO_TARGET})  ${verdict(summary.ratioPass)}   [median of per-round ratios ${pairRatio.toFixed(3)}]`);
  out.push(`tool peak RSS            ${fmtMiB(peakOwn)} MiB (node process itself, VmHWM)   (target < ${RSS_TARGET_MB} MB)  ${verdict(summary.toolPeakRssPass)}`);
  out.push(`                         ${peakTree ? `${fmtMiB(peakTree)} MiB GNU time %M (max of node and its children)` : 'GNU time not installed: no %M cross-check'}`);
  out.push(`pg_dump peak RSS         ${summary.pgDumpPeakRssMiB.bare.toFixed(1)} MiB bare, ${summary.pgDumpPeakRssMiB.underTool.toFixed(1)} MiB under the tool (separate process, not counted above)`);
  out.push(`dump size                ${fmtBytes(summary.dumpBytes.bare)} bare, ${fmtBytes(summary.dumpBytes.tool)} tool; database ${fmtBytes(db.bytes)}, ${db.rows.toLocaleString('en-US')} rows`);
  out.push('');
  out.push('where the tool spends its time (median over the measured rounds, from the arrival time of its log lines):');
  out.push(
    table(
      ['phase', 's'],
      [
        ['node start -> first log line (bundle load, config, lock)', fmtS(phases.startup)],
        ['checks: connect, versions, free space, snapshot, table list', fmtS(phases.checks)],
        ['pg_dump + pg_restore --list (counts run beside pg_dump)', fmtS(phases.dumpAndList)],
        ['  pg_dump process alive (+-0.05)', fmtS(phases.pgDumpAlive)],
        ['  exact counts done after pg_dump started', fmtS(phases.counting)],
        ['finalize: SHA-256, manifest + fsync, rename', fmtS(phases.finalize)],
        ['exit: report file, JSON, process end', fmtS(phases.exit)],
        ['overhead: median tool - median bare', fmtS(medTool - medBare)],
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
        ['pg_restore --list <archive>', fmtS(components.restoreList)],
        ['SHA-256 of the archive (same code as the tool)', fmtS(components.sha256)],
        ['exact count(*) of every table, alone (psql)', fmtS(components.counts)],
      ],
    ),
  );
  process.stdout.write(`${out.join('\n')}\n`);
  return summary.ratioPass && summary.toolPeakRssPass ? 0 : 1;
}

runMain(main);
