/**
 * The self-contained demo: a throwaway PostgreSQL on 127.0.0.1 with a small market-data
 * database, then the tool's daily job through the built CLI: backup, list, verify, status,
 * prune --dry-run. Everything is removed at the end (pass --keep to keep the backup folder).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { startCluster, type Cluster } from '../test/helpers/pg-cluster.js';
import { seedMarketData } from '../test/helpers/market-data.js';

const keep = process.argv.includes('--keep');
const repo = path.resolve(new URL('..', import.meta.url).pathname);
const cliPath = path.join(repo, 'dist', 'cli.js');

function banner(text: string): void {
  process.stdout.write(`\n\x1b[1m=== ${text}\x1b[0m\n`);
}

async function main(): Promise<number> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pgtaos-demo-'));
  let cluster: Cluster | null = null;
  const cleanup = async () => {
    await cluster?.destroy();
    if (!keep) rmSync(dir, { recursive: true, force: true });
  };
  process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));
  try {
    banner('starting a throwaway PostgreSQL on 127.0.0.1');
    cluster = await startCluster({ name: 'demo' });
    await cluster.createDb('mystocks');
    const seeded = await seedMarketData(cluster, 'mystocks', { stocks: 50, days: 60 });
    process.stdout.write(`PostgreSQL ${cluster.version} on 127.0.0.1:${cluster.port}, database mystocks:\n`);
    for (const [t, n] of Object.entries(seeded.tables)) process.stdout.write(`  ${t.padEnd(28)} ${n} rows\n`);
    process.stdout.write(`  (plus ${seeded.largeObjects} large objects and a second schema)\n`);

    const configFile = path.join(dir, 'pgtaos-backup.yml');
    const config = {
      root: path.join(dir, 'backups'),
      timezone: 'Asia/Shanghai',
      min_free_gb: 1,
      postgres: { host: '127.0.0.1', port: cluster.port, database: 'mystocks', user: 'postgres', jobs: 2 },
      retention: { daily_days: 7, keep_last: 3 },
    };
    writeFileSync(configFile, stringify(config));
    banner(`config ${configFile}`);
    process.stdout.write(stringify(config));

    // The password reaches the tool the way it does in production: PGPASSWORD in the environment.
    const env = { ...process.env, PGPASSWORD: cluster.password, PATH: `${cluster.clientBinDir}:${process.env.PATH ?? ''}` };
    const steps: [string, string[]][] = [
      ['backup: dump mystocks into a new daily set', ['backup']],
      ['list: the catalog, newest first', ['list']],
      ['verify: checksums, restore into a scratch database, compare every table', ['verify']],
      ["status: the runbook's daily checklist", ['status']],
      ['prune --dry-run: what retention would remove, and why', ['prune', '--dry-run']],
    ];
    let failed = 0;
    for (const [title, args] of steps) {
      banner(`pgtaos-backup ${args.join(' ')}  (${title})`);
      const r = spawnSync(process.execPath, [cliPath, ...args], { cwd: dir, env, stdio: 'inherit' });
      if (r.status !== 0) {
        failed++;
        process.stdout.write(`\x1b[31m(exit ${r.status})\x1b[0m\n`);
      }
    }
    banner('the files');
    spawnSync('find', [config.root, '-maxdepth', '3', '-printf', '%M %10s  %p\n'], { stdio: 'inherit' });
    process.stdout.write(`\nRestore by hand with stock tools:  pg_restore -d <new database> ${config.root}/daily/<set>/mystocks.dump\n`);
    banner(failed === 0 ? 'demo finished: every step passed' : `demo finished: ${failed} step(s) failed`);
    if (keep) process.stdout.write(`kept ${dir} (the cluster was stopped)\n`);
    return failed === 0 ? 0 : 1;
  } finally {
    await cleanup();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`demo failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
