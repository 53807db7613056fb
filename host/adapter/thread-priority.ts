/**
 * Plugin threads yield the CPU to the host's own thread. With more spinning
 * plugin workers than cores, the OS would otherwise share the cores equally
 * and the event loop (HTTP, scheduler, well-behaved main-thread plugins) would
 * get 1/(workers+1) of a core. On Linux a thread's nice value is its own
 * (setpriority on a thread id), so the threads a plugin worker brings (those
 * that appear while it starts) are niced and the host's keep their priority: the kernel then gives the event
 * loop the CPU whenever it is runnable, and plugin workers share the rest.
 * On Deno, V8's platform threads (shared by every isolate of the process) are
 * lowered too once a plugin worker starts: they run the worker isolates'
 * garbage collections, and at the host's priority those took the cores the
 * event loop waited for. Lowered threads also go to the SCHED_IDLE class
 * where `chrt` exists (see idleScheduled).
 * Elsewhere (no /proc/self/task) this does nothing; docs/sandbox.md says so.
 * @module
 */
import { execFile } from "node:child_process";
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
  return lowerWhere(now, (tid) => !before.has(tid) && !isHostPool(tid));
}

/** Gives the plugin nice value to the threads of `tids` that `pick`s (not this one, not twice). */
function lowerWhere(tids: Set<number>, pick: (tid: number) => boolean): number {
  const lowered: number[] = [];
  for (const tid of tids) {
    if (tid === process.pid || niced.has(tid) || !pick(tid)) continue;
    try {
      setPriority(tid, PLUGIN_THREAD_NICE);
      niced.add(tid);
      lowered.push(tid);
    } catch {
      // The thread ended meanwhile, or the platform refused: nothing to lower.
    }
  }
  idleScheduled(lowered);
  return lowered.length;
}

/** `chrt` could not be run here (not installed, not Linux): not tried again. */
let chrtMissing = false;

/**
 * Puts `tids` in the SCHED_IDLE class too (util-linux `chrt -i`; JavaScript
 * has no call for it), without waiting. Nice 15 alone was not enough on Linux
 * 6.x: its scheduler (EEVDF) lets a running thread finish its slice (a few
 * ms) before a waking one of higher priority gets the core, so the event
 * loop waited 4-8 ms at a time behind plugin threads on a busy 2-core
 * machine; a SCHED_IDLE thread gives way at once. Threads that end first, or
 * a refusal, leave them niced, as before.
 */
function idleScheduled(tids: number[]): void {
  if (chrtMissing || tids.length === 0) return;
  const script = 'command -v chrt >/dev/null || exit 3; for t; do chrt -i -p 0 "$t"; done; exit 0';
  execFile("sh", ["-c", script, "sh", ...tids.map(String)], (error) => {
    const code = (error as { code?: unknown } | null)?.code;
    if (code === "ENOENT" || code === 3) chrtMissing = true;
  });
}

/**
 * V8's platform threads as Deno names them ("V8 DefaultWorker", cut to 15
 * characters by the kernel). Node's carry the process's name, like its
 * main thread and libuv's pool, so they cannot be told apart and stay.
 */
const PLATFORM_THREAD_NAMES = ["V8 DefaultWorke"];

let platformLowered = false;

/**
 * Lowers V8's platform threads to the plugin threads' priority, once per
 * process (they all exist from the start). They do background work for every
 * isolate: plugin workers' garbage collections, a plugin that churns its
 * Extism blocks ran hundreds a second, and the host's own. The host's main
 * thread does what its collections need itself when the helpers wait, and
 * the helpers still run whenever a core is free. Returns how many it lowered.
 */
export function lowerPlatformThreads(): number {
  if (platformLowered) return 0;
  platformLowered = true;
  const now = threadsNow();
  return now ? lowerWhere(now, (tid) => named(tid, PLATFORM_THREAD_NAMES, false)) : 0;
}

/** Whether thread `tid`'s name starts with one of `prefixes`; `unreadable` when it is gone. */
function named(tid: number, prefixes: string[], unreadable: boolean): boolean {
  try {
    const name = readFileSync(`${TASKS}/${tid}/comm`, "utf8");
    return prefixes.some((prefix) => name.startsWith(prefix));
  } catch {
    return unreadable;
  }
}

function isHostPool(tid: number): boolean {
  return named(tid, HOST_POOL_NAMES, true); // Gone, or unreadable: leave it alone.
}
