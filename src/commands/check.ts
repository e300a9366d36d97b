/**
 * check (like `pgbackrest check` / `barman check`): every precondition of a nightly run, as
 * pass/fail rows, without dumping anything. The config (it parsed, or the run stopped with exit 2
 * before this), each configured engine's rows (its plugin's `check` hook, or its findTools and
 * preflight), the backup root, free space, each remote (a test object written, read back and
 * removed), the age recipients and the notify variables; with `pitr:`, Barman's rows (check-pitr.ts).
 * Any failed row is exit 1.
 *
 * It takes no lock and creates nothing in the root (run.ts: `writes: false`, `report: false`).
 */
import '../engines/builtin.js';
import type { Engine } from '../engines/plugin.js';
import { failedRow, type Check, type CommandOutcome } from '../report/result.js';
import { formatRow } from '../shared/format.js';
import type { RunContext } from './context.js';
import { configuredEngines, createEngine } from './engines.js';
import { notifyRows, recipientsRow, remoteRow, rootRow, spaceRow } from './check-rows.js';
import { pitrCheckRows } from './check-pitr.js';

/** An engine without its own hook: its tools (no connection), then its preflight (login, versions). */
async function genericEngineRows(engine: Engine, name: string, ctx: RunContext): Promise<Check[]> {
  try {
    engine.findTools(ctx.env);
  } catch (err) {
    return [failedRow(`${name} tools`, err), { name: `${name} server`, result: 'skipped', detail: 'not tried: needs the tools above' }];
  }
  const tools: Check = { name: `${name} tools`, result: 'passed', detail: 'found, secrets set' };
  try {
    const pre = await engine.preflight({ log: ctx.log, signal: ctx.signal, env: ctx.env });
    return [tools, { name: `${name} server`, result: 'passed', detail: `${engine.where}: ${pre.summary}` }];
  } catch (err) {
    return [tools, failedRow(`${name} server`, err)];
  }
}

async function engineRows(ctx: RunContext, name: string): Promise<Check[]> {
  let engine: Engine;
  try {
    engine = createEngine(ctx.config, name);
  } catch (err) {
    return [failedRow(name, err)];
  }
  if (engine.check) return engine.check({ log: ctx.log, signal: ctx.signal, env: ctx.env });
  return genericEngineRows(engine, name, ctx);
}

export async function check(ctx: RunContext): Promise<CommandOutcome> {
  const { config, log, env, signal } = ctx;
  const engines = configuredEngines(config);
  const configRow: Check = {
    name: 'config',
    result: engines.length ? 'passed' : 'failed',
    detail: engines.length ? `${ctx.configFile ?? 'from flags/inputs'}: valid; engines ${engines.join(', ')}` : `${ctx.configFile ?? 'the config'} defines no database to back up`,
  };
  // The slow rows (servers, remotes) side by side; the rows keep this order.
  const groups = await Promise.all([
    Promise.resolve([configRow]),
    ...engines.map((e) => engineRows(ctx, e)),
    // Only with pitr: Barman, the server binaries a recovery starts, and `barman check`.
    ...(config.pitr ? [pitrCheckRows(config.pitr, ctx)] : []),
    rootRow(config.root).then((r) => [r], (err: unknown) => [failedRow('backup root', err)]),
    spaceRow(config).then((r) => [r]),
    ...config.remotes.map((r) => remoteRow(r, config, env, signal).then((row) => [row])),
    recipientsRow(config.encryption.age_recipients).then((r) => [r]),
    Promise.resolve(notifyRows(config.notify, env)),
  ]);
  if (signal.aborted) throw signal.reason;
  const checks = groups.flat();
  for (const c of checks) log.output(formatRow(c));
  const failed = checks.filter((c) => c.result === 'failed');
  const passed = checks.filter((c) => c.result === 'passed').length;
  const message = `check: ${passed} passed, ${failed.length} failed${failed.length ? ` (${failed.map((c) => c.name).join(', ')})` : ''}, ${checks.length - passed - failed.length} skipped`;
  log.output(message);
  return { message, checks, failed: failed.length > 0 };
}
