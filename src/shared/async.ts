/** Pauses that a cancelled run does not sit through. */
import { setTimeout as delay } from 'node:timers/promises';

/** A pause that a signal ends at once, rejecting with the signal's own reason (the run's CancelledError). */
export async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  try {
    await delay(ms, undefined, signal ? { signal } : {});
  } catch (err) {
    throw signal?.aborted ? signal.reason : err;
  }
}

/** A pause that a signal cuts short without an error: the caller goes on with what it has (a last retry skipped). */
export function pauseUnlessStopped(ms: number, stop: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (ms <= 0 || stop?.aborted) return resolve();
    const t = setTimeout(done, ms);
    stop?.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(t);
      stop?.removeEventListener('abort', done);
      resolve();
    }
  });
}
