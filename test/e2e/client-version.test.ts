/** pg_dump older than the server: refused before dumping, with the client to install. */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startPg17 } from '../helpers/embedded-pg17.js';
import type { Cluster } from '../helpers/pg-common.js';
import { cli, userEnv, workspace } from '../helpers/tool.js';

let pg17: Cluster;
beforeAll(async () => {
  pg17 = await startPg17({ name: 'client-old' });
  await pg17.createDb('mystocks');
  await pg17.psql('CREATE TABLE stocks (symbol text PRIMARY KEY); INSERT INTO stocks VALUES (\'600000\');', 'mystocks');
});
afterAll(async () => {
  await pg17?.destroy();
});

it('a PostgreSQL 17 server with the machine\'s older pg_dump: exit 1, both versions and the fix named, nothing written', async () => {
  expect(pg17.version).toMatch(/^17\./);
  const ws = workspace(pg17, 'mystocks');
  const r = await cli(['backup'], { env: userEnv(pg17), cwd: ws.dir });
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(new RegExp(`pg_dump 1[0-6]\\.\\d+ .* is older than the PostgreSQL ${pg17.version.replace('.', '\\.')} server`));
  expect(r.stderr).toContain('postgresql-client-17');
  expect(r.stderr).toContain('/usr/lib/postgresql/17/bin');
  for (const d of ['daily', '.incomplete']) {
    const p = path.join(ws.root, d);
    expect(existsSync(p) ? readdirSync(p) : []).toEqual([]);
  }
});
