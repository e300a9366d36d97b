/**
 * The one error-code list (src/error-codes.ts) against README's "Error codes" table and against the
 * throw sites in src/: each code raised as UsageError is listed as `usage`, each JobError as `failed`,
 * and every listed code is raised somewhere. (That a code outside the list does not compile is
 * checked by the type check: see errors.test.ts.)
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, type ErrorKind } from '../../src/error-codes.js';
import { END, START, errorCodeTable, readmeErrorCodeTable } from '../../scripts/error-codes.js';
import { REPO } from '../helpers/tool.js';

/**
 * Where a code literal is raised, and as what. Most are `new UsageError('x'`/`new JobError('x'`;
 * the others hand the literal to a helper that raises it.
 */
const SITES: Array<[RegExp, ErrorKind]> = [
  [/new UsageError\(\s*'([a-z_.]+)'/g, 'usage'],
  [/new JobError\(\s*'([a-z_.]+)'/g, 'failed'],
  // commands/engines.ts requireSections() throws a UsageError with the code it is given
  [/requireSections\([^;]*?'([a-z_]+\.[a-z_]+)'/g, 'usage'],
  // engines/tdengine/taosdump.ts failure() returns a JobError
  [/\.failure\(\s*'([a-z_.]+)'/g, 'failed'],
  // engines/tdengine/versions.ts: a VersionProblem, which the engine throws as a JobError
  [/return \{\s*code: '([a-z_.]+)',\s*message:/g, 'failed'],
  // remotes/remote.ts: RemoteError is a JobError
  [/super\(\s*'([a-z_]+\.[a-z_]+)'/g, 'failed'],
  // errors.ts CancelledError and commands/restore-stage.ts RestoreCancelledError
  [/(?:said\.code \?\? |code: )'([a-z_]+\.cancelled)'/g, 'cancelled'],
  // commands/restore-stage.ts: what an unanticipated error stopping a restore becomes (a JobError)
  [/\? err\.code : '([a-z_.]+)'/g, 'failed'],
  // errors.ts describe(): any other thrown value (exit 1)
  [/code: '(internal)'/g, 'failed'],
];

function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) sourceFiles(p, out);
    else if (p.endsWith('.ts') && e.name !== 'error-codes.ts') out.push(p);
  }
  return out;
}

/** Every (code, kind, file) the patterns find in a source text. */
function raisedCodes(text: string, file = ''): Array<{ code: string; kind: ErrorKind; file: string }> {
  const found: Array<{ code: string; kind: ErrorKind; file: string }> = [];
  for (const [re, kind] of SITES) for (const m of text.matchAll(re)) found.push({ code: m[1] ?? '', kind, file });
  return found;
}

const listed = ERROR_CODES as Record<string, { kind: ErrorKind; meaning: string }>;

describe('error codes', () => {
  const sites = sourceFiles(path.join(REPO, 'src')).flatMap((f) => raisedCodes(readFileSync(f, 'utf8'), path.relative(REPO, f)));

  it('README\'s table is the one generated from src/error-codes.ts', () => {
    const inReadme = readmeErrorCodeTable(readFileSync(path.join(REPO, 'README.md'), 'utf8'));
    expect(inReadme, `README.md needs the table between "${START} ... -->" and "${END}"`).not.toBeNull();
    expect(inReadme, 'regenerate it: npx tsx scripts/error-codes.ts --write').toBe(errorCodeTable());
  });

  it('the table has a row per listed code, each with its exit code and a meaning', () => {
    const rows = errorCodeTable().split('\n').slice(2);
    expect(rows).toHaveLength(Object.keys(ERROR_CODES).length);
    for (const r of rows) expect(r).toMatch(/^\| `[a-z_]+(\.[a-z0-9_]+)?` \| (2|1|1 \(cancelled\)) \| [^|]{10,} \|$/);
  });

  it('the scan finds the throw sites (it is not silently matching nothing)', () => {
    expect(sites.length).toBeGreaterThan(100);
    expect(raisedCodes("throw new UsageError(\n  'config.invalid', `x`)")).toEqual([{ code: 'config.invalid', kind: 'usage', file: '' }]);
  });

  it('each code is listed with the kind its throw sites raise it as', () => {
    const wrong = sites.filter((s) => listed[s.code]?.kind !== s.kind).map((s) => `${s.file}: ${s.code} raised as ${s.kind}, listed as ${listed[s.code]?.kind ?? 'missing'}`);
    expect(wrong).toEqual([]);
  });

  it('every listed code is raised somewhere in src/ (no stale entries)', () => {
    const raised = new Set(sites.map((s) => s.code));
    expect(Object.keys(ERROR_CODES).filter((c) => !raised.has(c))).toEqual([]);
  });
});
