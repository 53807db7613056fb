/**
 * Plugin threads yield the CPU to the host's own thread. With more spinning
 * plugin workers than cores, the OS would otherwise share the cores equally
 * and the event loop (HTTP, scheduler, well-behaved main-thread plugins) would
 * get 1/(workers+1) of a core. On Linux a thread's nice value is its own
 * (setpriority on a thread id), so the threads a plugin worker brings are
 * niced and the host's keep their priority: the kernel then gives the event
 * loop the CPU whenever it is runnable, and plugin workers share the rest.
 * Elsewhere (no /proc/self/task) this does nothing; docs/sandbox.md says so.
 * @module
 */
import { readdirSync } from "node:fs";
import { setPriority } from "node:os";
import process from "node:process";

/** The nice value given to plugin worker threads (19 is the lowest priority). */
export const PLUGIN_THREAD_NICE = 15;

const TASKS = "/proc/self/task";

function tasks(): number[] | null {
  try {
    return readdirSync(TASKS).map(Number).filter((n) => Number.isInteger(n) && n > 0);
  } catch {
    return null;
  }
}

/** Threads that existed before any plugin worker: the host's own. */
let hostThreads: Set<number> | null | undefined;
const niced = new Set<number>();

/**
 * Records the threads that exist now as the host's own. Called before the
 * first plugin worker starts; later calls keep the first record.
 */
export function recordHostThreads(): void {
  if (hostThreads !== undefined) return;
  const now = tasks();
  hostThreads = now === null ? null : new Set(now);
}

/**
 * Lowers the priority of every thread that is not the host's own and was not
 * lowered yet: called after a plugin worker has started. Returns how many it
 * lowered (0 where the platform cannot tell threads apart).
 */
export function lowerPluginThreads(): number {
  recordHostThreads();
  if (!hostThreads) return 0;
  const now = tasks();
  if (!now) return 0;
  let lowered = 0;
  const live = new Set(now);
  for (const tid of niced) if (!live.has(tid)) niced.delete(tid);
  for (const tid of now) {
    if (tid === process.pid || hostThreads.has(tid) || niced.has(tid)) continue;
    try {
      setPriority(tid, PLUGIN_THREAD_NICE);
      niced.add(tid);
      lowered++;
    } catch {
      // The thread ended meanwhile, or the platform refused: nothing to lower.
    }
  }
  return lowered;
}
