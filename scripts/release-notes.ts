/**
 * The release workflow's gate and notes (.github/workflows/release.yml):
 *   npx tsx scripts/release-notes.ts v1.2.3     prints CHANGELOG.md's section for 1.2.3 (the release notes)
 * and exits 1, saying why, when the tag is not vMAJOR.MINOR.PATCH[-pre], when package.json or
 * src/version.ts hold another version, or when CHANGELOG.md has no dated, non-empty section for it.
 * test/unit/release.test.ts runs releaseNotes() on good and bad inputs.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TOOL_VERSION } from '../src/version.js';

const TAG = /^v(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?)$/;

export interface ReleaseInputs {
  tag: string;
  changelog: string;
  packageVersion: string;
  toolVersion: string;
}

/** The notes for `tag`, or the list of reasons it cannot be released. */
export function releaseNotes(r: ReleaseInputs): { ok: true; version: string; notes: string } | { ok: false; problems: string[] } {
  const m = TAG.exec(r.tag);
  if (!m) return { ok: false, problems: [`tag ${r.tag} is not a version tag vMAJOR.MINOR.PATCH (e.g. v1.2.3)`] };
  const version = m[1]!;
  const problems: string[] = [];
  if (r.packageVersion !== version) problems.push(`package.json has version ${r.packageVersion}, the tag says ${version}`);
  if (r.toolVersion !== version) problems.push(`src/version.ts has TOOL_VERSION ${r.toolVersion}, the tag says ${version}`);
  const lines = r.changelog.split('\n');
  const escaped = version.replace(/[.+-]/g, '\\$&');
  const head = lines.findIndex((l) => new RegExp(`^## \\[${escaped}\\] - \\d{4}-\\d{2}-\\d{2}\\s*$`).test(l));
  if (head < 0) {
    problems.push(`CHANGELOG.md has no section "## [${version}] - YYYY-MM-DD"`);
    return { ok: false, problems };
  }
  const next = lines.findIndex((l, i) => i > head && /^## |^\[[^\]]+\]: /.test(l));
  const notes = lines.slice(head + 1, next < 0 ? undefined : next).join('\n').trim();
  if (notes === '') problems.push(`CHANGELOG.md's section for ${version} is empty`);
  return problems.length > 0 ? { ok: false, problems } : { ok: true, version, notes };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const repo = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
  const pkg = JSON.parse(readFileSync(path.join(repo, 'package.json'), 'utf8')) as { version: string };
  const result = releaseNotes({
    tag: process.argv[2] ?? '',
    changelog: readFileSync(path.join(repo, 'CHANGELOG.md'), 'utf8'),
    packageVersion: pkg.version,
    toolVersion: TOOL_VERSION,
  });
  if (result.ok) {
    process.stdout.write(`${result.notes}\n`);
  } else {
    for (const p of result.problems) process.stderr.write(`release: ${p}\n`);
    process.exit(1);
  }
}
