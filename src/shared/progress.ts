/**
 * Progress lines for long steps (pg_dump, pg_restore, row counting, remote uploads and read-backs):
 * every `ms` the step is asked what it has done and the answer is logged; nothing is logged when
 * the step finishes sooner, and never more often than every `ms`.
 */
import { formatBytes } from './format.js';

/** Starts asking `line` every `ms` and logging its answer (null: nothing to say); returns the stop. */
export function ticker(ms: number, say: (line: string) => void, line: () => string | null | Promise<string | null>): () => void {
  let stopped = false;
  const timer = setInterval(() => {
    void Promise.resolve()
      .then(line)
      .then((l) => {
        if (l !== null && !stopped) say(l);
      })
      .catch(() => {});
  }, ms);
  // A progress timer alone never keeps the process alive.
  timer.unref();
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}

/** "3 of 10 tables counted, 7 left" (done is capped at total: an estimate never runs past it). */
export function doneOfTotal(done: number, total: number, what: string): string {
  const d = Math.min(done, total);
  return `${d} of ${total} ${what}, ${total - d} left`;
}

/** "1.5 GiB of 4.0 GiB sent, 2.5 GiB left". */
export function bytesOfTotal(done: number, total: number, verb: string): string {
  const d = Math.min(done, total);
  return `${formatBytes(d)} of ${formatBytes(total)} ${verb}, ${formatBytes(total - d)} left`;
}
