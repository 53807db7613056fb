/**
 * Turning whatever a failed call threw into one stable error class.
 * @module
 */
import { type ErrorCode, HostError } from "../errors.ts";
import type { CallError } from "./types.ts";

/**
 * Thrown by host-side code (kernel overrides, host-function wrappers) to end
 * the running call with a known class. It unwinds through the WebAssembly
 * frames unchanged, so the caller sees exactly this object.
 */
export class SandboxAbort extends HostError {
  override readonly name = "SandboxAbort";
  constructor(code: ErrorCode, message: string) {
    super(code, message);
  }
}

/** What the runner knows about the instance right after a failed call. */
export interface FailureFacts {
  /** Fuel left in the instance; below zero means the budget ran out. */
  fuelLeft: bigint | null;
  /** Current linear memory pages and the cap. */
  memoryPages: number;
  memoryCap: number;
  /** A class already decided by host-side code during the call (e.g. memory limit seen in a log). */
  flagged: CallError | null;
}

const PLUGIN_ERROR = "Plugin-originated error: ";

/**
 * What a plugin's HTTP request that cannot be sent as given fails with (a
 * method, URL or header the HTTP client refuses). The client's own words
 * quote the offending value, which can be a credential: they are not kept.
 */
export const MALFORMED_HTTP_REQUEST =
  "The plugin's HTTP request is malformed (a method, URL or header value that HTTP does not allow); fix the request";

/** Classifies a thrown value (an Error, or a worker's serialized `{message}`). */
export function classify(thrown: unknown, facts: FailureFacts): CallError {
  if (thrown instanceof SandboxAbort) return { class: thrown.code, message: thrown.message };
  if (facts.flagged) return facts.flagged;
  const message = messageOf(thrown);
  if (message.startsWith(PLUGIN_ERROR)) {
    const text = message.slice(PLUGIN_ERROR.length);
    // Extism reports its own var cap as an error set on the plugin's behalf.
    if (text.startsWith("var memory limit exceeded")) {
      return { class: "memory_limit", message: text };
    }
    return { class: "plugin_error", message: text };
  }
  // Extism's http_request refusing a host outside allowedHosts.
  if (/HTTP request to .* is not allowed/.test(message)) {
    return { class: "permission_denied", message };
  }
  // A request the plugin put together wrong (host/capabilities/tape.ts): its own error.
  if (message.includes(MALFORMED_HTTP_REQUEST)) {
    return { class: "plugin_error", message: MALFORMED_HTTP_REQUEST };
  }
  // The host's HTTP gate failing to get an answer (host/capabilities/http.ts).
  if (/HTTP request to \S+ failed \(network_error\)/.test(message)) {
    return { class: "network_error", message };
  }
  if (facts.fuelLeft !== null && facts.fuelLeft < 0n) {
    return {
      class: "fuel_exhausted",
      message:
        "The call used its whole fuel budget; raise --fuel (or limits.fuel) if the work is legitimate",
    };
  }
  if (/Maximum call stack size exceeded|call stack exhausted|stack overflow/i.test(message)) {
    return {
      class: "stack_overflow",
      message: "The plugin recursed too deeply and overflowed the stack",
    };
  }
  if (/Cannot allocate Wasm memory|Array buffer allocation failed|Out of memory/i.test(message)) {
    return { class: "memory_limit", message: `The plugin ran out of memory: ${message}` };
  }
  // A plugin whose memory.grow was refused at the cap usually aborts with a
  // trap right after; report the cause rather than the symptom. Heuristic: a
  // trap with memory within max(16 pages, 10%) of the cap (a refused grow
  // leaves it just under the cap).
  const margin = Math.max(16, Math.ceil(facts.memoryCap / 10));
  if (facts.memoryCap > 0 && facts.memoryPages >= facts.memoryCap - margin) {
    return {
      class: "memory_limit",
      message:
        `The plugin reached its memory cap (${facts.memoryPages} pages of 64 KiB) and trapped: ${message}`,
    };
  }
  return { class: "trap", message: `The plugin trapped: ${message}` };
}

/** The message of an Error or of a serialized error object. */
export function messageOf(thrown: unknown): string {
  if (thrown instanceof Error) return thrown.message;
  if (typeof thrown === "object" && thrown !== null && "message" in thrown) {
    return String((thrown as { message: unknown }).message);
  }
  return String(thrown);
}
