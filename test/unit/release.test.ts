/**
 * The release gate (scripts/release-notes.ts, run by .github/workflows/release.yml): the tag, the
 * versions in package.json and src/version.ts, and CHANGELOG.md must agree before anything is
 * released; the notes are the changelog's section for that version. And the repository as it is
 * now passes it for its own version.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { releaseNotes } from '../../scripts/release-notes.js';
import { TOOL_VERSION } from '../../src/version.js';

const changelog = `# Changelog

## [Unreleased]

## [1.2.0] - 2027-01-10

### Added

- verify --engines

## [1.1.0] - 2026-12-20

### Fixed

- something

[1.2.0]: https://example.invalid/v1.2.0
`;
const ok = { tag: 'v1.2.0', changelog, packageVersion: '1.2.0', toolVersion: '1.2.0' };

describe('releaseNotes', () => {
  it('the notes are the version\'s section, without its heading or the next one', () => {
    expect(releaseNotes(ok)).toEqual({ ok: true, version: '1.2.0', notes: '### Added\n\n- verify --engines' });
    expect(releaseNotes({ ...ok, tag: 'v1.1.0', packageVersion: '1.1.0', toolVersion: '1.1.0' })).toMatchObject({ ok: true, notes: '### Fixed\n\n- something' });
  });
  it.each([
    ['a tag that is not a version', { tag: '1.2.0' }, 'is not a version tag'],
    ['a major tag', { tag: 'v1' }, 'is not a version tag'],
    ['package.json behind the tag', { packageVersion: '1.1.0' }, 'package.json has version 1.1.0, the tag says 1.2.0'],
    ['src/version.ts behind the tag', { toolVersion: '1.1.0' }, 'src/version.ts has TOOL_VERSION 1.1.0'],
    ['no changelog section', { tag: 'v1.3.0', packageVersion: '1.3.0', toolVersion: '1.3.0' }, 'CHANGELOG.md has no section "## [1.3.0] - YYYY-MM-DD"'],
    ['an undated section', { changelog: changelog.replace('## [1.2.0] - 2027-01-10', '## [1.2.0]') }, 'has no section'],
    ['an empty section', { changelog: changelog.replace('### Added\n\n- verify --engines\n', '') }, "section for 1.2.0 is empty"],
  ] as const)('refused: %s', (_name, over, why) => {
    const r = releaseNotes({ ...ok, ...over });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problems.join('\n')).toContain(why);
  });
  it('a pre-release tag is a version too', () => {
    const pre = changelog.replace('## [1.2.0]', '## [1.2.0-rc.1]');
    expect(releaseNotes({ tag: 'v1.2.0-rc.1', changelog: pre, packageVersion: '1.2.0-rc.1', toolVersion: '1.2.0-rc.1' })).toMatchObject({ ok: true });
  });
});

describe('the repository now', () => {
  it('package.json, src/version.ts and CHANGELOG.md agree on the version, so its tag would pass the gate', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    const text = readFileSync(new URL('../../CHANGELOG.md', import.meta.url), 'utf8');
    expect(releaseNotes({ tag: `v${pkg.version}`, changelog: text, packageVersion: pkg.version, toolVersion: TOOL_VERSION })).toMatchObject({ ok: true, version: pkg.version });
  });
});
