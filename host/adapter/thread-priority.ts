/**
 * Plugin threads yield the CPU to the host's own thread. With more spinning
 * plugin workers than cores, the OS would otherwise share the cores equally
 * and the event loop (HTTP, scheduler, well-behaved main-thread plugins) would
 * get 1/(workers+1) of a core. On Linux a thread's nice value is its own
 * (setpriority on a thread id), so the threads a plugin worker brings (those
 * that appear while it starts) are niced and the host's keep their priority: the kernel then gives the event
 * loop the CPU whenever it is runnable, and plugin workers share the rest.
 * Elsewhere (no /proc/self/task) this does nothing; docs/sandbox.md says so.
 * @module
 */
import { readdirSync, readFileSync } from "node:fs";
import { setPriority } from "node:os";
import process from "node:process";

/** The nice value given to plugin worker threads (19 is the lowest priority). */
export const PLUGIN_THREAD_NICE = 15;

const TASKS = "/proc/self/task";

/**
 * Thread names of the host's own runtime pools that start lazily, perhaps
 * while a plugin worker starts: libSQL's tokio runtime (its first async
 * `exec` starts it), whose threads run the writer's COMMITs.
 */
const HOST_POOL_NAMES = ["tokio-runtime"];

/** This process's thread ids now; null where the platform cannot list them. */
export function threadsNow(): Set<number> | null {
  try {
    return new Set(
      readdirSync(TASKS).map(Number).filter((n) => Number.isInteger(n) && n > 0),
    );
  } catch {
    return null;
  }
}

const niced = new Set<number>();

/**
 * Lowers the priority of the threads that appeared since `before` (taken
 * just before a plugin worker started: its threads), except the host's own
 * lazily started pools. Threads that existed before, or start later for
 * anything else (libSQL's runtime, the runtime's thread pools), keep the
 * host's priority: a COMMIT queued behind spinning plugins would hold every
 * durable response. Returns how many it lowered.
 */
export function lowerThreadsSince(before: Set<number> | null): number {
  if (!before) return 0;
  const now = threadsNow();
  if (!now) return 0;
  for (const tid of niced) if (!now.has(tid)) niced.delete(tid);
  let lowered = 0;
  for (const tid of now) {
    if (tid === process.pid || before.has(tid) || niced.has(tid) || isHostPool(tid)) continue;
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

function isHostPool(tid: number): boolean {
  try {
    const name = readFileSync(`${TASKS}/${tid}/comm`, "utf8");
    return HOST_POOL_NAMES.some((prefix) => name.startsWith(prefix));
  } catch {
    return true; // Gone, or unreadable: leave it alone.
  }
}
