/**
 * The main-thread slice: how long a call may hold the host's event loop
 * before it is taken off the main thread (docs/sandbox.md, "Main-thread
 * slices").
 * @module
 */
import { HostError } from "../errors.ts";

/** How much of a call runs on the main thread before it moves to a worker. */
export interface Slice {
  /** Fuel a main-thread call may use (host-function charges included). */
  fuel: bigint;
  /** Wall-clock milliseconds, checked at every host-function and alloc call. */
  ms: number;
}

/**
 * Defaults: 20e6 fuel is ~4 ms of a tight loop and ~20-40 ms of ordinary code;
 * 20 ms of wall time bounds host functions that are slower than their fuel says.
 */
export const defaultSlice: Readonly<Slice> = Object.freeze({ fuel: 20_000_000n, ms: 20 });

/**
 * Thrown inside a main-thread call whose slice ran out while its budget did
 * not: the call is ended there (and re-run in a worker when that is safe).
 */
export class Preempted extends HostError {
  override readonly name = "Preempted";
  constructor(readonly reason: "fuel" | "time") {
    super("timeout", `The call used its main-thread slice (${reason})`);
  }
}
