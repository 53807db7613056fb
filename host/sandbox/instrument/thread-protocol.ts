/**
 * Messages between the host and the instrumenter's thread
 * (host/sandbox/instrument-pool.ts and worker-main.ts).
 * @module
 */
import type { InstrumentedModule, InstrumentOptions } from "./types.ts";

/** A module to instrument; `id` pairs it with its reply. */
export interface InstrumentJob {
  id: number;
  wasm: Uint8Array;
  options: InstrumentOptions;
}

/** What the thread sends back: first `ready` (binaryen loaded), then one reply per job. */
export type InstrumentReply =
  | { kind: "ready" }
  | { kind: "done"; id: number; result: InstrumentedModule }
  /** `code` and `details` are the HostError's, or null and absent for any other error. */
  | {
    kind: "failed";
    id: number;
    code: string | null;
    message: string;
    details?: Record<string, unknown>;
  };
