/**
 * Messages between the host and the instrumenter's thread
 * (host/sandbox/instrument-pool.ts and worker-main.ts).
 * @module
 */
import type { InstrumentedModule, InstrumentOptions } from "./types.ts";

/** What a thread is asked to do with a job's bytes. */
export type InstrumentTask =
  /** instrument(wasm, options): answered with an InstrumentedModule. */
  | { kind: "instrument"; options: InstrumentOptions }
  /**
   * workerVariant(wasm) of bytes instrument() metered: answered with the
   * variant's bytes, and with `compile` (a load waits for it) its module.
   */
  | { kind: "worker-variant"; compile: boolean };

/**
 * instrument's answer from a thread, with the module compiled there: the
 * host's thread then compiles nothing. An asynchronous compile there waited
 * 100-250 ms behind V8's optimizing compiles of binaryen in a new process
 * (one compile queue serves every thread); the thread's compile costs it
 * under a millisecond for a small plugin (docs/performance.md).
 */
export interface ThreadInstrumented extends InstrumentedModule {
  module?: WebAssembly.Module;
}

/** workerVariant's answer from a thread, with its module when the task asked to compile it. */
export interface ThreadVariant {
  bytes: Uint8Array;
  module?: WebAssembly.Module;
}

/** What a task gives back. */
export type InstrumentOutput = ThreadInstrumented | ThreadVariant;

/** A module and its task; `id` pairs it with its reply. */
export interface InstrumentJob {
  id: number;
  wasm: Uint8Array;
  task: InstrumentTask;
}

/** What the thread sends back: first `ready` (binaryen loaded), then one reply per job. */
export type InstrumentReply =
  | { kind: "ready" }
  | { kind: "done"; id: number; result: InstrumentOutput }
  /** `code` and `details` are the HostError's, or null and absent for any other error. */
  | {
    kind: "failed";
    id: number;
    code: string | null;
    message: string;
    details?: Record<string, unknown>;
  };
