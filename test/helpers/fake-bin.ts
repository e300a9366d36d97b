/**
 * A test-only bin_dir of wrapper scripts around the real pg_dump and pg_restore, to make the
 * stock tools misbehave in one precise way (exit 0 after printing an error, leave a cut file, run
 * slowly, record what they were given). Each wrapper passes `--version` straight through and
 * otherwise runs a shell snippet in which:
 *   $REAL  the real tool, $OUT  the file after -f (pg_dump), "$@"  the arguments as given.
 * Never used outside tests.
 */
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export type Tool = 'pg_dump' | 'pg_restore' | 'pg_dumpall';

/** Snippets for the wrapper bodies. */
export const behave = {
  /** The real tool, nothing else. */
  real: 'exec "$REAL" "$@"',
  /** pg_dump does its job, then prints an error and still exits 0 (as a tool with a bug could). */
  errorButExit0: '"$REAL" "$@" || exit $?\necho "pg_dump: error: Dumping the contents of table \\"daily_bars\\" failed: simulated" >&2\nexit 0',
  /** pg_dump exits 0 but leaves only the first 200 bytes of its archive (a cut file). */
  truncated: '"$REAL" "$@" || exit $?\nhead -c 200 "$OUT" > "$OUT.cut" && mv "$OUT.cut" "$OUT"\nexit 0',
  /** pg_dump exits 0 having written bytes that are no archive at all. */
  garbage: '"$REAL" "$@" || exit $?\nprintf "garbage where the archive should be\\n" > "$OUT"\nexit 0',
  /** pg_dump exits 0 and leaves an empty file. */
  empty: '"$REAL" "$@" || exit $?\n: > "$OUT"\nexit 0',
  /** Waits `seconds` before running the real tool (the exporting transaction sits idle meanwhile). */
  sleepFirst: (seconds: number) => `sleep ${seconds}\nexec "$REAL" "$@"`,
  /** Runs the real tool, then waits `seconds` (its file exists meanwhile, for progress lines). */
  sleepAfter: (seconds: number) => `"$REAL" "$@" || exit $?\nsleep ${seconds}`,
  /** Appends its argv (one per line) to `<prefix>.argv` and its environment's names to `<prefix>.env`, then runs the real tool. */
  record: (prefix: string) => `printf '%s\\n' "$@" >> '${prefix}.argv'\nenv | sed 's/=.*//' >> '${prefix}.env'\nexec "$REAL" "$@"`,
  /** Appends its arguments as one line (space-joined, one line a run) to `file`, then runs the real tool. */
  recordLine: (file: string) => `printf '%s\\n' "$*" >> '${file}'\nexec "$REAL" "$@"`,
};

/**
 * A folder holding `pg_dump`, `pg_restore` and `pg_dumpall` wrappers around the tools in `realBinDir`, each
 * running its snippet (default: the real tool). Use it as postgres.bin_dir.
 */
export function fakeBinDir(realBinDir: string, snippets: Partial<Record<Tool, string>>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pgtaos-fakebin-'));
  for (const tool of ['pg_dump', 'pg_restore', 'pg_dumpall'] as const) {
    const script = [
      '#!/bin/sh',
      `# test-only wrapper around ${path.join(realBinDir, tool)}`,
      `REAL='${path.join(realBinDir, tool)}'`,
      'case "$1" in --version) exec "$REAL" "$@";; esac',
      'OUT=""; prev=""',
      'for a in "$@"; do [ "$prev" = "-f" ] && OUT="$a"; prev="$a"; done',
      snippets[tool] ?? behave.real,
      '',
    ].join('\n');
    const file = path.join(dir, tool);
    writeFileSync(file, script);
    chmodSync(file, 0o755);
  }
  return dir;
}
