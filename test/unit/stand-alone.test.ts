/**
 * The repository stands alone: its code, tests, docs and workflows point only at files inside it
 * (no path on a developer's machine, no document kept elsewhere, no tracker numbers a reader cannot
 * open), and production code knows nothing of the test stand-ins.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from '../helpers/tool.js';

const ROOTS = ['src', 'test', 'bench', 'docs', 'scripts', '.github', 'README.md', 'action.yml'];
const TEXT = /\.(ts|mts|mjs|js|md|yml|yaml|sh|json)$|^taosdump$/;
const SELF = path.join('test', 'unit', 'stand-alone.test.ts');

/** References to things outside the repository. */
const OUTSIDE: Array<[RegExp, string]> = [
  [/\/work\//, 'a path on the machine the project was built on'],
  [/tdengine-contract/, 'a document kept outside the repository (docs/tdengine.md holds it)'],
  [/\bSPEC\b/, 'a specification kept outside the repository'],
  [/\bissues? ?#?\d+|\bissue-\d+/i, 'an issue number of a tracker the reader cannot open'],
];

function files(rel: string, out: string[] = []): string[] {
  const abs = path.join(REPO, rel);
  if (statSync(abs).isDirectory()) {
    for (const e of readdirSync(abs)) files(path.join(rel, e), out);
  } else if (TEXT.test(path.basename(rel)) && rel !== SELF) {
    out.push(rel);
  }
  return out;
}

/** `file:line: text` for each line matching `re`. */
function hits(rel: string, text: string, re: RegExp): string[] {
  return text.split('\n').flatMap((l, i) => (re.test(l) ? [`${rel}:${i + 1}: ${l.trim().slice(0, 120)}`] : []));
}

describe('the repository stands alone', () => {
  const all = ROOTS.flatMap((r) => files(r));

  it('scans the repository (it is not silently matching nothing)', () => {
    expect(all.length).toBeGreaterThan(100);
    expect(all).toContain(path.join('docs', 'tdengine.md'));
    expect(hits('x.md', 'see /work/shared/SPEC.md, issue 12', OUTSIDE[0]![0])).toHaveLength(1);
  });

  for (const [re, what] of OUTSIDE) {
    it(`no reference to ${what}`, () => {
      expect(all.flatMap((f) => hits(f, readFileSync(path.join(REPO, f), 'utf8'), re))).toEqual([]);
    });
  }

  it('src/ passes nothing test-only to the tools it runs (no stand-in switches)', () => {
    const src = files('src');
    expect(src.flatMap((f) => hits(f, readFileSync(path.join(REPO, f), 'utf8'), /TDSTANDIN|stand-?in/i))).toEqual([]);
  });
});
