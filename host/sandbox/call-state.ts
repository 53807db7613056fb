/**
 * The per-call state the host hands to Extism as the call's host context:
 * who is calling (for host functions) and what the host learned during the
 * call (for classification). Plugins can neither see nor change it.
 * @module
 */
import type { Limits } from "./limits.ts";
import type { CallError, HostCall } from "./types.ts";

/**
 * The clock of every call limit (deadline, slice, hold): monotonic, so a wall
 * clock set back (NTP, an operator) cannot lengthen a call or its hold on the
 * host's thread, nor one set forward cut calls short. Milliseconds, sub-ms.
 */
export const now: () => number = () => performance.now();

/** Host-side state of one running call. */
export interface CallState {
  call: HostCall;
  limits: Limits;
  /** Deadline on the {@link now} clock (ms). */
  deadline: number;
  /** A class decided by host-side code while the call ran. */
  flagged: CallError | null;
  /** Fuel charged by host-function wrappers (base + bytes moved), part of the call's fuel. */
  hostFuel: bigint;
  /**
   * Set by the instance running the call: takes `amount` of fuel for a host
   * function and throws (main thread) or stops the call (worker) when the
   * budget is gone. Called before the host function runs its effect.
   */
  charge: ((amount: bigint, name: string) => void) | null;
  /** Worker calls: the budget handed out a slice at a time (worker-refuel.ts). */
  fuel: { refill(counter: bigint): Promise<bigint>; pause(): void; resume(): void } | null;
  /** Main-thread calls: the fuel of the slice (a smaller budget, after which the call moves). */
  sliceFuel: bigint | null;
  /** Main-thread calls: the end of the slice on the {@link now} clock, checked at host calls. */
  sliceUntil: number | null;
  /**
   * Main-thread calls: the end of HOLD_SLICES slices of wall time, which even a
   * call past a final effect may not pass (slice.ts).
   */
  holdUntil: number | null;
  /** Host functions called so far (a re-run must know whether any had effects). */
  called: Set<string>;
  /** True once a host function with a final effect ran (see `Rerun.final`): no re-run, no time cut. */
  final: boolean;
  /**
   * Set when the instance gave up on the call (timeout, memory cap) while a
   * worker host call may still be running: its answer has nowhere to go.
   */
  ended: boolean;
}

/** Makes the state for a call. */
export function newCallState(call: HostCall, limits: Limits): CallState {
  return {
    call,
    limits,
    deadline: now() + limits.timeoutMs,
    flagged: null,
    hostFuel: 0n,
    charge: null,
    fuel: null,
    sliceFuel: null,
    sliceUntil: null,
    holdUntil: null,
    called: new Set(),
    final: false,
    ended: false,
  };
}
