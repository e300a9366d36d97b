/**
 * README's "Fault suite" table is the one the fault suite measured: test/e2e/faults.test.ts writes
 * test/e2e/fault-table.md at the end of every run (exit codes, first error lines, invariants); the
 * README holds a copy between the fault-table markers. When the suite's outcome changes, copy the
 * new file into the README.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from '../helpers/tool.js';

const START = '<!-- fault-table:start';
const END = '<!-- fault-table:end -->';

function readmeFaultTable(readme: string, start = START, end = END): string | null {
  const a = readme.indexOf(start);
  const b = readme.indexOf(end);
  if (a < 0 || b < a) return null;
  const afterStart = readme.indexOf('-->', a) + 3;
  return readme.slice(afterStart, b).trim();
}

describe('README fault table', () => {
  it('equals the table the fault suite last measured (test/e2e/fault-table.md)', () => {
    const generated = readFileSync(path.join(REPO, 'test', 'e2e', 'fault-table.md'), 'utf8').trim();
    const inReadme = readmeFaultTable(readFileSync(path.join(REPO, 'README.md'), 'utf8'));
    expect(inReadme, `README.md needs the table between "${START} ... -->" and "${END}"`).not.toBeNull();
    expect(inReadme).toBe(generated);
  });

  it('the generated table has a row per case, each with its exit code and E I L M marks, and none failed or skipped', () => {
    const lines = readFileSync(path.join(REPO, 'test', 'e2e', 'fault-table.md'), 'utf8').trim().split('\n');
    expect(lines[0]).toBe('| fault | exit | error (first line) | E | I | L | M | result |');
    // One row per faultCase(...) the suite declares (the definition itself is `function faultCase(`),
    // its own and those of the case modules it hands faultCase to (trust-cases.ts: the backup root as a trust boundary).
    const suite = ['faults.test.ts', 'trust-cases.ts'].map((f) => readFileSync(path.join(REPO, 'test', 'e2e', f), 'utf8')).join('\n');
    const cases = suite.match(/^\s*faultCase\(/gm) ?? [];
    expect(cases.length).toBeGreaterThan(0);
    expect(lines.length - 2).toBe(cases.length);
    for (const l of lines.slice(2)) expect(l).not.toMatch(/\*\*(FAIL|skipped)\*\*/);
    for (const l of lines.slice(2)) expect(l).toMatch(/^\| .+ \| (\d|killed \(SIG[A-Z]+\)|–) \| .+ \| (pass|FAIL|–) \| (pass|FAIL|–) \| (pass|FAIL|–) \| (pass|FAIL|–) \| .+ \|$/);
  });
});

describe('README PITR fault table', () => {
  const PITR_START = '<!-- pitr-fault-table:start';
  const PITR_END = '<!-- pitr-fault-table:end -->';
  const file = () => readFileSync(path.join(REPO, 'test', 'e2e', 'pitr-fault-table.md'), 'utf8').trim();

  it('equals the table test/e2e/pitr-more.test.ts last measured (test/e2e/pitr-fault-table.md)', () => {
    const inReadme = readmeFaultTable(readFileSync(path.join(REPO, 'README.md'), 'utf8'), PITR_START, PITR_END);
    expect(inReadme, `README.md needs the table between "${PITR_START} ... -->" and "${PITR_END}"`).not.toBeNull();
    expect(inReadme).toBe(file());
  });

  it('has a row per pitrFault case, none failed', () => {
    const lines = file().split('\n');
    expect(lines[0]).toBe('| fault | exit | error (first line) | E | I | L | M | result |');
    const cases = readFileSync(path.join(REPO, 'test', 'e2e', 'pitr-more.test.ts'), 'utf8').match(/^\s*pitrFault\(/gm) ?? [];
    expect(cases.length).toBeGreaterThan(0);
    expect(lines.length - 2).toBe(cases.length);
    for (const l of lines.slice(2)) expect(l).toMatch(/\| pass \| pass \| pass \| pass \| pass \|$/);
  });
});
