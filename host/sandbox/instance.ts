/**
 * What the pool needs from an instance, whichever thread it runs on, and the
 * settings both kinds are made from.
 * @module
 */
import type { ExtismPluginOptions } from "@extism/extism";
import type { CallState } from "./call-state.ts";
import type { SandboxAbort } from "./classify.ts";
import type { CompiledPlugin } from "./compile.ts";
import type { PreemptReason } from "./slice.ts";
import type { CallError, HostFunction, LogLevel, SandboxLogger } from "./types.ts";

/** What one call on an instance produced (duration is measured by the caller). */
export type RunOutcome =
  & {
    fuelUsed: number;
    memoryPages: number;
    /**
     * Whether the instance may serve the next call: `"reset"` when only once
     * put back to its first state (a trap left its heap and globals wherever
     * the plugin was; the pool resets it, or retires it when it cannot be reset).
     */
    healthy: Fitness;
    /**
     * Work the instance still does after its answer (a worker's drop of its
     * Extism blocks, one round trip): the pool gives it no other call until
     * this settles, and retires it when it settles false.
     */
    settling?: Promise<boolean>;
    /** A main-thread call ended at its slice, not at its budget, and by which of its bounds (see slice.ts). */
    preempted?: PreemptReason;
    /** Main-thread instances: pages its memory grew by since it was made (see slice.ts). */
    grownPages?: number;
  }
  & ({ ok: true; output: Uint8Array } | { ok: false; error: CallError });

/** One live Extism instance of a plugin. */
export interface Instance {
  /** Calls run so far (for recycling). */
  readonly calls: number;
  run(exportName: string, input: Uint8Array, state: CallState): Promise<RunOutcome>;
  /**
   * Puts the instance back to its state right after instantiation (memory,
   * globals, Extism vars); false when it cannot, and then it must be retired.
   * A worker instance answers asynchronously (worker-restore.ts).
   */
  reset(): boolean | Promise<boolean>;
  /** Its state right after instantiation as `plughost_restore`'s input, when it can be reset. */
  restoreImage?(): Uint8Array | null;
  /**
   * Ends the call in flight, if any, as `reason` (its `run` then answers that failure and closes
   * what it ran on). Only instances whose calls wait for another thread have one: a main-thread
   * call holds the host's thread until it returns.
   */
  interrupt?(reason: SandboxAbort): void;
  close(): Promise<void>;
}

/** Everything needed to make an instance. */
export interface InstanceConfig {
  compiled: CompiledPlugin;
  wasi: boolean;
  hostFunctions: Record<string, HostFunction>;
  allowedHosts: string[];
  fetch: typeof fetch | undefined;
  config: Record<string, string>;
  logger: SandboxLogger | undefined;
  logLevel: LogLevel;
  memoryPages: number;
  /** Fuel the start code may use: the call's budget, at most the main-thread slice's fuel. */
  startFuel: bigint;
  /** The slice, not the budget, set `startFuel` (the load error says so). */
  startCapped: boolean;
  /** Wall time start code may hold the host's thread (HOLD_SLICES slices), null without a slice. */
  startHoldMs: number | null;
  /** Host functions whose effects are final, or null when none can be undone (no `rerun`). */
  final: ReadonlySet<string> | null;
}

/** Fuel used by a call, from its budget and what is left (never more than the budget). */
export function fuelUsed(budget: bigint, left: bigint | null): number {
  if (left === null) return 0;
  const used = budget - left;
  return Number(used > budget ? budget : used < 0n ? 0n : used);
}

/** How Extism's log line about its block cap begins. */
export const MEMORY_LIMIT_LOG = "memory limit exceeded";

/**
 * Extism reports its host-side block cap only through `logger.error`; this
 * logger (worker mode, where the host cannot see Extism's allocations) turns
 * a line in exactly Extism's words, naming this plugin's cap, into
 * `onMemoryLimit` and forwards the rest. A plugin that writes that very line
 * ends its own call (and only its own call) as memory_limit.
 */
export function extismLogger(
  target: SandboxLogger | undefined,
  cap: number,
  onMemoryLimit: (message: string) => void,
): NonNullable<ExtismPluginOptions["logger"]> {
  const exact = new RegExp(`^${MEMORY_LIMIT_LOG}: (\\d+) pages requested, ${cap} allowed$`);
  const forward = (level: keyof SandboxLogger) => (message: unknown) => {
    const text = String(message);
    const match = level === "error" ? exact.exec(text) : null;
    if (match && Number(match[1]) > cap) return onMemoryLimit(text);
    target?.[level](text);
  };
  return {
    trace: forward("trace"),
    debug: forward("debug"),
    info: forward("info"),
    warn: forward("warn"),
    error: forward("error"),
  } as unknown as NonNullable<ExtismPluginOptions["logger"]>;
}

/** Extism's log level for our options (its "silent" drops everything but the memory-limit line). */
export function extismLogLevel(config: InstanceConfig): LogLevel {
  return config.logger ? config.logLevel : "silent";
}

/**
 * What an instance is fit for after a call: reuse as it is (true), retirement
 * (false), a reset first ("reset"), or a reset and then a turn of the
 * restart gate before its next call ("paced": the call ended the way that
 * retires an instance, and the plugin is paced as if it had, without the
 * cost of a new worker; pool.ts).
 */
export type Fitness = boolean | "reset" | "paced";

/**
 * What a call that failed with `errorClass` leaves its instance fit for: a
 * plugin error keeps it as it is, a trap gets it reset (no restart: a plugin
 * that runs out of fuel call after call costs none). A call that hit its
 * memory cap retires a main-thread instance (the memory is the host's heap;
 * the plugin moves to workers, slice.ts). A worker instance is reset and
 * "paced": a plain reset would let a plugin that fills its memory call after
 * call skip the restart gate that paces it, and a new worker would cost the
 * host's thread its start (27-80 ms on Deno).
 */
export function afterFailure(errorClass: string, inWorker = false): Fitness {
  if (errorClass === "plugin_error") return true;
  if (errorClass === "memory_limit") return inWorker ? "paced" : false;
  return "reset";
}
