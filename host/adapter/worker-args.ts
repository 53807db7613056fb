/**
 * The one runtime difference the sandbox needs: Deno's worker threads reject
 * Node's `execArgv` flags, so Extism workers get none there.
 * @module
 */

/** True when running on Deno. */
export const isDeno: boolean = typeof (globalThis as { Deno?: unknown }).Deno !== "undefined";

/** `nodeWorkerArgs` for Extism workers on this runtime. */
export function workerArgs(): { execArgv: string[] } | undefined {
  return isDeno ? { execArgv: [] } : undefined;
}
