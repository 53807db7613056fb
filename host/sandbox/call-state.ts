/**
 * The per-call state the host hands to Extism as the call's host context:
 * who is calling (for host functions) and what the host learned during the
 * call (for classification). Plugins can neither see nor change it.
 * @module
 */
import type { Limits } from "./limits.ts";
import type { CallError, HostCall } from "./types.ts";

/** Host-side state of one running call. */
export interface CallState {
  call: HostCall;
  limits: Limits;
  /** Wall-clock deadline (ms since epoch). */
  deadline: number;
  /** A class decided by host-side code while the call ran. */
  flagged: CallError | null;
}

/** Makes the state for a call. */
export function newCallState(call: HostCall, limits: Limits): CallState {
  return { call, limits, deadline: Date.now() + limits.timeoutMs, flagged: null };
}
