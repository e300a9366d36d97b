/** Durations and sizes for people: log lines, summaries, notifications. */

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${Math.round(s - m * 60)} s`;
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i]}`;
}

/** One pass/fail row as `status` and `check` print it: `PASSED  name: detail`, so `| grep FAILED` finds the failures. */
export function formatRow(row: { name: string; result: string; detail: string }): string {
  return `${row.result.toUpperCase().padEnd(7)} ${row.name}: ${row.detail}`;
}
