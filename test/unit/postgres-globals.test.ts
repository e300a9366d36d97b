/**
 * The PostgreSQL globals (globals.sql from `pg_dumpall --globals-only`) without a server: reading
 * the file statement by statement, which statements a restore leaves out because the role or
 * tablespace exists, verify's check of the file, the refusal of --with-globals for a set without
 * one, and a set holding password hashes never copied to a remote unencrypted.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { afterEach, describe, expect, it } from 'vitest';
import { classify, globalsInventory, planGlobals, splitStatements } from '../../src/engines/postgres/globals-sql.js';
import { checkGlobalsFile, globalsToApply } from '../../src/engines/postgres/restore-globals.js';
import { readManifest, writeManifest, type Manifest } from '../../src/catalog/manifest.js';
import { fileEntry } from '../../src/catalog/checksum.js';
import { listSets, type SetEntry } from '../../src/catalog/sets.js';
import { configSchema } from '../../src/inputs/config-schema.js';
import { remoteTakes } from '../../src/remotes/registry.js';
import { replicate, setToCopy } from '../../src/commands/replicate.js';
import { MemoryRemote } from '../remotes/memory.js';
import { testCtx } from '../helpers/run-context.js';
import { writeFakeSet } from '../helpers/fake-catalog.js';

/** What pg_dumpall 17 writes, trimmed: a \restrict line, comments, quoted names, a quote inside a string. */
const DUMPALL = `\\restrict AbC123
--
-- PostgreSQL database cluster dump
--

SET default_transaction_read_only = off;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;

--
-- Roles
--

CREATE ROLE app_rw;
ALTER ROLE app_rw WITH NOSUPERUSER INHERIT NOCREATEROLE NOCREATEDB LOGIN NOREPLICATION NOBYPASSRLS;
CREATE ROLE "Report; Readers";
ALTER ROLE "Report; Readers" WITH NOSUPERUSER INHERIT NOLOGIN;
COMMENT ON ROLE "Report; Readers" IS 'who reads; the ''reports''';
CREATE ROLE postgres;
ALTER ROLE postgres WITH SUPERUSER INHERIT CREATEROLE CREATEDB LOGIN REPLICATION BYPASSRLS;

--
-- User Configurations
--

ALTER ROLE app_rw SET search_path TO 'market', 'public';

--
-- Role memberships
--

GRANT "Report; Readers" TO app_rw WITH INHERIT TRUE GRANTED BY postgres;

--
-- Tablespaces
--

CREATE TABLESPACE fast OWNER postgres LOCATION '/srv/fast';

\\unrestrict AbC123

--
-- PostgreSQL database cluster dump complete
--
`;

describe('globals.sql, read without a server', () => {
  it('splits statements: quotes and comments respected, psql meta-commands (\\restrict) skipped', () => {
    const s = splitStatements(DUMPALL);
    expect(s.some((x) => x.startsWith('\\'))).toBe(false);
    expect(s).toContain(`COMMENT ON ROLE "Report; Readers" IS 'who reads; the ''reports'''`);
    expect(s).toContain('CREATE ROLE "Report; Readers"');
    expect(s.filter((x) => x.startsWith('SET '))).toHaveLength(3);
    expect(s).toHaveLength(13);
  });

  it('knows which role or tablespace a statement is about', () => {
    expect(classify('CREATE ROLE app_rw')).toEqual({ kind: 'role', role: 'app_rw', create: true });
    expect(classify('ALTER ROLE "Report; Readers" WITH NOLOGIN')).toEqual({ kind: 'role', role: 'Report; Readers', create: false });
    expect(classify('ALTER ROLE APP_RW SET search_path TO x')).toEqual({ kind: 'role', role: 'app_rw', create: false });
    expect(classify("CREATE TABLESPACE fast OWNER postgres LOCATION '/srv/fast'")).toEqual({ kind: 'tablespace', tablespace: 'fast' });
    expect(classify('GRANT "Report; Readers" TO app_rw GRANTED BY postgres')).toEqual({ kind: 'other' });
  });

  it('lists the roles and tablespaces the file creates', () => {
    expect(globalsInventory(DUMPALL)).toEqual({ roles: ['Report; Readers', 'app_rw', 'postgres'], tablespaces: ['fast'] });
  });

  it('a restore leaves roles and tablespaces that exist as they are, and runs the rest', () => {
    const plan = planGlobals(DUMPALL, { roles: new Set(['postgres', 'app_rw']), tablespaces: new Set(['fast']) });
    expect(plan.keptRoles).toEqual(['app_rw', 'postgres']);
    expect(plan.keptTablespaces).toEqual(['fast']);
    expect(plan.run.filter((s) => /\b(app_rw|postgres)\b/.test(s) && !s.startsWith('GRANT'))).toEqual([]);
    expect(plan.run).toContain('CREATE ROLE "Report; Readers"');
    expect(plan.run.some((s) => s.startsWith('GRANT "Report; Readers" TO app_rw'))).toBe(true);
    // On an empty server everything runs.
    expect(planGlobals(DUMPALL, { roles: new Set(), tablespaces: new Set() }).run).toEqual(splitStatements(DUMPALL));
  });
});

const temps: string[] = [];
afterEach(() => {
  for (const d of temps.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tmpRoot(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'pgtaos-globals-'));
  temps.push(d);
  return d;
}

/** A fake milestone set whose manifest records `text` as its globals.sql. */
async function setWithGlobals(root: string, text: string, roles: string[], passwordHashes = false): Promise<SetEntry> {
  const dir = await writeFakeSet(root, { kind: 'milestone', id: 'roles_20261206', startedAt: new Date() });
  writeFileSync(path.join(dir, 'globals.sql'), text);
  const read = await readManifest(dir);
  if (!read.ok) throw new Error(read.reason);
  const m: Manifest = read.manifest;
  m.postgres!.files.push(await fileEntry(dir, 'globals.sql'));
  m.postgres!.globals = { path: 'globals.sql', password_hashes: passwordHashes, roles, tablespaces: [] };
  await writeManifest(dir, m);
  return (await listSets(root)).find((s) => s.id === 'roles_20261206')!;
}

describe("verify's check of globals.sql", () => {
  it('passes when the file creates every role the manifest lists', async () => {
    const set = await setWithGlobals(tmpRoot(), DUMPALL, ['app_rw', 'postgres']);
    expect((await checkGlobalsFile(set))!.result).toBe('passed');
  });
  it('fails when a role the manifest lists is not created, or none is', async () => {
    const set = await setWithGlobals(tmpRoot(), DUMPALL.replace('CREATE ROLE app_rw;', ''), ['app_rw', 'postgres']);
    const c = (await checkGlobalsFile(set))!;
    expect(c.result).toBe('failed');
    expect(c.detail).toContain('app_rw');
    const empty = await setWithGlobals(tmpRoot(), '-- nothing\n', []);
    expect((await checkGlobalsFile(empty))!.result).toBe('failed');
  });
  it('a set without globals: no check, and --with-globals is refused (exit 2)', async () => {
    const root = tmpRoot();
    await writeFakeSet(root, { kind: 'daily', id: 'mystocks_20261206_000000', startedAt: new Date() });
    const set = (await listSets(root))[0]!;
    expect(await checkGlobalsFile(set)).toBeNull();
    expect(await globalsToApply(set, false)).toBeNull();
    await expect(globalsToApply(set, true)).rejects.toMatchObject({ code: 'restore.no_globals', kind: 'usage' });
  });
});

describe('a set holding password hashes leaves the machine only age-encrypted', () => {
  const remotes = [{ type: 'path', name: 'nas', path: '/mnt/nas/backups' }];
  it('remoteTakes refuses it unencrypted, takes it encrypted', () => {
    const [nas] = configSchema.parse({ root: '/x', remotes }).remotes;
    const t = remoteTakes(nas!, 'milestone', false, true);
    expect(t.takes).toBe(false);
    expect(!t.takes && t.why).toMatch(/password hashes/);
    expect(remoteTakes(nas!, 'milestone', true, true).takes).toBe(true);
    expect(remoteTakes(nas!, 'milestone', false, false).takes).toBe(true);
  });
  it('replicate: without recipients the milestone stays local with a warning; with them it is copied, encrypted', async () => {
    const root = tmpRoot();
    const set = await setWithGlobals(root, DUMPALL, ['app_rw', 'postgres'], true);
    const plain = testCtx({ config: configSchema.parse({ root, remotes }), request: { command: 'backup' } });
    const nas = new MemoryRemote('nas');
    const r = await replicate(plain, [(await setToCopy(set.path))!], [nas]);
    expect(r.failures).toEqual([]);
    expect(nas.objects.size).toBe(0);
    expect(plain.log.warnings.join('\n')).toMatch(/roles_20261206 not copied: the set holds role password hashes/);

    const recipient = await identityToRecipient(await generateIdentity());
    const enc = testCtx({ config: configSchema.parse({ root, remotes, encryption: { age_recipients: [recipient] } }), request: { command: 'backup' } });
    const r2 = await replicate(enc, [(await setToCopy(set.path))!], [nas]);
    expect(r2.failures).toEqual([]);
    expect([...nas.objects.keys()].sort()).toEqual(['milestone/roles_20261206/globals.sql.age', 'milestone/roles_20261206/manifest.json.age', 'milestone/roles_20261206/mystocks.dump.age']);
  });
});
