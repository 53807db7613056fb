/**
 * The longest time the host's thread went without turning its event loop
 * while some work ran: a 1 ms interval timer notes each gap. Worker starts
 * are measured so (pool.ts) because on some runtimes the part that holds the
 * thread sits inside a constructor the host cannot time directly (Deno's
 * `node:worker_threads`, docs/sandbox.md); the restart gate prices restarts
 * by it (restart-gate.ts). The timer runs only while the work does, for at
 * most WATCH_MS, and never keeps the process alive.
 * @module
 */

/** How long the timer watches: past it, a start that has not settled is not measured further. */
const WATCH_MS = 10_000;

/** Resolves with `work`'s value and the longest stall of the thread while it ran, in ms. */
export async function withLongestStall<T>(
  work: () => Promise<T>,
  now: () => number = () => performance.now(),
): Promise<{ value: T; stallMs: number }> {
  let last = now();
  let longest = 0;
  const note = () => {
    const t = now();
    longest = Math.max(longest, t - last);
    last = t;
  };
  const started = last;
  const timer = setInterval(() => {
    note();
    if (last - started > WATCH_MS) clearInterval(timer);
  }, 1);
  (timer as { unref?: () => void }).unref?.();
  try {
    const value = await work();
    if (last - started <= WATCH_MS) note();
    // A 1 ms timer fires ~1 ms apart on an idle loop: that much is not a stall.
    return { value, stallMs: Math.max(0, longest - 1) };
  } finally {
    clearInterval(timer);
  }
}
