/**
 * Process signals on the runtime we run on: `Deno.addSignalListener` on Deno
 * (its node:process shim does not deliver every signal), `process.on` on Node.
 * Signals the platform cannot listen for (SIGHUP on Windows) are ignored.
 * @module
 */
import process from "node:process";

interface DenoSignals {
  addSignalListener(signal: string, handler: () => void): void;
  removeSignalListener(signal: string, handler: () => void): void;
}

/** Calls `handler` on each `signal` until the returned function is called. */
export function onSignal(signal: "SIGHUP" | "SIGINT" | "SIGTERM", handler: () => void): () => void {
  const deno = (globalThis as { Deno?: DenoSignals }).Deno;
  try {
    if (deno) {
      deno.addSignalListener(signal, handler);
      return () => deno.removeSignalListener(signal, handler);
    }
    process.on(signal, handler);
    return () => process.off(signal, handler);
  } catch {
    return () => {};
  }
}
