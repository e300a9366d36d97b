#!/usr/bin/env node
// Start the taosAdapter REST stand-in from a shell (e.g. a demo script):
//   node test/stand-ins/taosadapter-cli.mjs --store DIR [--port N]
// Prints "taosadapter stand-in listening on http://127.0.0.1:PORT" and runs until SIGINT/SIGTERM.
// STAND-IN, test code only: see README.md.
import { startTaosAdapter } from './adapter-server.mjs';
import { createStore, openStore } from './store.mjs';
import fs from 'node:fs';
import path from 'node:path';

const argv = process.argv.slice(2);
const opt = (name) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const dir = opt('--store');
if (!dir) {
  process.stderr.write('usage: taosadapter-cli.mjs --store DIR [--port N]\n');
  process.exit(2);
}
const store = fs.existsSync(path.join(dir, 'server.json')) ? openStore(dir) : createStore(dir);
const adapter = await startTaosAdapter({ store, port: Number(opt('--port') ?? 0) });
process.stdout.write(`taosadapter stand-in listening on ${adapter.url}\n`);
const stop = () => adapter.close().then(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
setInterval(() => {}, 1 << 30);
