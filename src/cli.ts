#!/usr/bin/env node
/** The CLI shim: parse flags, run, print, exit. Logs go to stderr; stdout carries the result. */
import { CommanderError } from 'commander';
import { parseCli } from './inputs/cli.js';
import { runCommand } from './run.js';
import { stderrSink, type Sink } from './report/log.js';
import { renderTable } from './commands/list.js';
import { renderShow } from './commands/show.js';
import { renderPitrList, renderPitrShow } from './commands/pitr-list.js';
import { EXIT } from './errors.js';

async function main(): Promise<number> {
  let cli;
  try {
    cli = parseCli(process.argv.slice(2), { writeOut: (s) => process.stdout.write(s), writeErr: (s) => process.stderr.write(s) });
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return EXIT.ok;
      // No command given: commander printed the usage on stderr; that is a usage error (exit 2).
      if (err.code === 'commander.help') return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
      // Our own parse errors (commander prints its own before throwing).
      if (err.code.startsWith('pgtaos.')) process.stderr.write(`${err.message}\n`);
      return EXIT.usage;
    }
    throw err;
  }
  // The command's main output (status and check rows, prune --dry-run's plan) goes to stdout as it
  // comes; with --json, stdout holds only the report, and those lines join the logs on stderr.
  let printed = false;
  const sink: Sink = cli.json
    ? stderrSink
    : {
        ...stderrSink,
        output: (l) => {
          printed = true;
          process.stdout.write(`${l}\n`);
        },
      };
  const result = await runCommand(cli.request, { sink, env: process.env, cwd: process.cwd(), handleSignals: true });
  if (cli.json) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } else if (result.show && result.status === 'success') {
    process.stdout.write(`${renderShow(result.show).join('\n')}\n`);
  } else if (result.pitr_backup && result.status === 'success') {
    process.stdout.write(`${renderPitrShow(result.pitr_backup).join('\n')}\n`);
  } else if (result.sets && result.status === 'success') {
    const pitr = result.pitr ? ['', ...renderPitrList(result.pitr)] : [];
    process.stdout.write(`${[...renderTable(result.sets), ...pitr].join('\n')}\n`);
  } else if (result.status === 'success' && !printed) {
    process.stdout.write(`${result.message}\n`);
  }
  return result.exit_code;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = EXIT.failed;
  },
);
