/**
 * README's "Error codes" table, generated from src/error-codes.ts.
 *   npx tsx scripts/error-codes.ts           prints the table
 *   npx tsx scripts/error-codes.ts --write   rewrites it in README.md between the error-codes markers
 * test/unit/error-codes.test.ts fails while the README's copy differs from what this prints.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ERROR_CODES, type ErrorKind } from '../src/error-codes.js';
import { EXIT } from '../src/errors.js';

export const START = '<!-- error-codes:start';
export const START_LINE = `${START} (generated from src/error-codes.ts by \`npx tsx scripts/error-codes.ts --write\`; test/unit/error-codes.test.ts keeps it equal) -->`;
export const END = '<!-- error-codes:end -->';

const EXIT_OF: Record<ErrorKind, string> = { usage: `${EXIT.usage}`, failed: `${EXIT.failed}`, cancelled: `${EXIT.failed} (cancelled)` };

export function errorCodeTable(): string {
  const rows = Object.entries(ERROR_CODES).map(([code, { kind, meaning }]) => `| \`${code}\` | ${EXIT_OF[kind]} | ${meaning} |`);
  return ['| code | exit | meaning |', '|---|---|---|', ...rows].join('\n');
}

/** The table between the markers, or null when the markers are missing. */
export function readmeErrorCodeTable(readme: string): string | null {
  const a = readme.indexOf(START);
  const b = readme.indexOf(END);
  if (a < 0 || b < a) return null;
  return readme.slice(readme.indexOf('-->', a) + 3, b).trim();
}

export function withErrorCodeTable(readme: string): string {
  const a = readme.indexOf(START);
  const b = readme.indexOf(END);
  if (a < 0 || b < a) throw new Error(`README.md has no "${START} ... -->" ... "${END}" markers: add them where the table goes`);
  return `${readme.slice(0, a)}${START_LINE}\n${errorCodeTable()}\n${readme.slice(b)}`;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  if (process.argv.includes('--write')) {
    const file = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'README.md');
    writeFileSync(file, withErrorCodeTable(readFileSync(file, 'utf8')));
  } else {
    process.stdout.write(`${errorCodeTable()}\n`);
  }
}
