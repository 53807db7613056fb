/**
 * The public types of the sandbox: options, host functions, call results.
 * @module
 */
import type { ErrorCode } from "../errors.ts";
import type { Limits } from "./limits.ts";
import type { Slice } from "./slice.ts";

/** Who is calling, passed to host functions. Set by the host per call, never by the plugin. */
export interface HostCall {
  runId: string;
  pluginId: string;
  capability: string;
  /** What the plugin's manifest was granted (shape owned by host/capabilities). */
  grants: unknown;
  /** The run's determinism mode (docs/replay.md); absent means best-effort. */
  determinism?: "strict" | "best-effort" | undefined;
  /** The run's host-call tape, recording or replaying (shape owned by host/capabilities). */
  tape?: unknown;
  /**
   * The run's seed (32 hex digits): a strict call's WASI clock and random derive from it
   * (entropy.ts); a strict call without one gets the zero seed.
   */
  seed?: string | undefined;
}

/** Per-call context given to `call()`; missing fields get defaults (random run id, digest, export name). */
export type CallContext = Partial<HostCall>;

/**
 * A host function in Extism's user namespace (`extism:host/user`): bytes in, bytes out
 * (UTF-8 JSON by the host ABI). A throw becomes an error result for the plugin, never a crash.
 * In `main` mode it must answer synchronously; async results need `mode: "worker"`.
 */
export type HostFunction = (call: HostCall, input: Uint8Array) => Uint8Array | Promise<Uint8Array>;

/** Where plugin log lines and sandbox diagnostics go. */
export interface SandboxLogger {
  trace(message: string): void;
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** Plugin log levels, lowest first. */
export type LogLevel = "trace" | "debug" | "info" | "warn" | "error" | "silent";

/** How a plugin is loaded and run. Every field is optional. */
export interface SandboxOptions {
  /** Give the plugin WASI preview 1 (clocks, random; no files, no network). */
  wasi?: boolean;
  /** `main` (default): in-thread, ~10-20 us per call, sync host functions only.
   * `worker`: a worker thread, for async host functions and Extism HTTP (default when allowedHosts is set). */
  mode?: "main" | "worker";
  /** Default limits for this plugin's calls (capped by `policy`). */
  limits?: Partial<Limits>;
  /** The host's ceiling for any limit (defaults to `defaultPolicy`). */
  policy?: Limits;
  /** Functions in `extism:host/user`, by name. */
  hostFunctions?: Record<string, HostFunction>;
  /** Hosts Extism's `http_request` may reach (worker mode). */
  allowedHosts?: string[];
  /** The fetch used by Extism HTTP (check every redirect hop in it). */
  fetch?: typeof fetch;
  /**
   * Extism's kernel config (`extism:host/env` `config_get`, the PDKs' `Config.get`): fixed per
   * instance when it starts (main-thread instances keep a reference to this object, workers a copy),
   * so replace the object, never edit it, and load again for a change to apply.
   */
  config?: Record<string, string>;
  /** Calls running at once on this plugin (instances). Default 1 in main mode, 2 in worker mode. */
  concurrency?: number;
  /** Calls waiting for an instance; past it calls fail with `busy`. Default 64. */
  queue?: number;
  /** Where plugin logs go (default: dropped). */
  logger?: SandboxLogger;
  /** Lowest plugin log level passed to the logger (default `info` with a logger). */
  logLevel?: LogLevel;
  /** Calls after which an instance is replaced by a fresh one (default 10,000). */
  recycleAfter?: number;
  /** Directory for the compiled-module cache on disk (the host passes `paths.cache`); default none. */
  cacheDir?: string;
  /**
   * `cacheEpoch()` when the caller's load began: once `releaseCacheDir` (a
   * host's close) released `cacheDir` after it, this load writes nothing there.
   */
  cacheSince?: number;
  /**
   * Instrument modules on the instrumenter's threads (default true), keeping
   * the event loop free while binaryen works (host/sandbox/instrument-pool.ts);
   * false instruments on the calling thread, which a one-shot command that
   * loads one plugin finishes sooner (no thread to start).
   */
  instrumentThreads?: boolean;
  /**
   * Main mode: how much of a call runs on the main thread before it is ended
   * and re-run in a worker (default `defaultSlice`); `false` runs whole calls
   * on the main thread (fuel and the timeout still bound them).
   */
  slice?: Partial<Slice> | false;
  /**
   * How a main-thread call that used host functions and outgrew its slice is
   * re-run in a worker. Without it such a call is never re-run: it ends with
   * `timeout` (a call that used no host function is always re-run).
   */
  rerun?: Rerun;
}

/** What the sandbox needs to re-run a call whose host functions had effects. */
export interface Rerun {
  /** Drops everything the host functions did for `call` so far (e.g. its buffered KV writes). */
  reset(call: HostCall): void | Promise<void>;
  /**
   * Host functions whose effects are final (e.g. a published event): a call
   * that used one is never re-run, and its slice is counted in fuel only
   * (never cut by the clock), so whether it succeeds does not depend on the
   * machine's speed.
   */
  final: ReadonlySet<string>;
}

/** What a call used. */
export interface Usage {
  /** Fuel spent (the budget when exhausted). */
  fuel: number;
  /** Linear memory pages at the end of the call (memory never shrinks, so this is the peak). */
  memoryPages: number;
  durationMs: number;
}

/** A classified call failure. `class` is one of the sandbox error codes (docs/sandbox.md). */
export interface CallError {
  class: ErrorCode;
  message: string;
}

/** The outcome of a call: never thrown, always returned. */
export type CallResult =
  | { ok: true; output: Uint8Array; usage: Usage }
  | { ok: false; error: CallError; usage: Usage };

/** A loaded, instrumented, compiled plugin with its instance pool. */
export interface SandboxedPlugin {
  /** SHA-256 of the original module bytes, lowercase hex. */
  readonly digest: string;
  /** Exported functions a caller may name. */
  readonly exports: string[];
  /** The limits calls get by default (after policy). */
  readonly limits: Limits;
  /** Where calls run now: a main-mode plugin becomes "worker" once a call outgrew its slice. */
  readonly mode: "main" | "worker";
  /**
   * True while a main-mode plugin keeps a worker pool for calls re-run after
   * a wall-time cut; closed after the slice's `standbyMs` without use.
   */
  readonly standby: boolean;
  /** Instances made so far, on either thread (strict runs reuse reset ones: docs/replay.md). */
  readonly instances: number;
  /** Calls an export; resolves with a result, never rejects for plugin behaviour. */
  call(
    exportName: string,
    input: Uint8Array,
    context?: CallContext,
    limits?: Partial<Limits>,
  ): Promise<CallResult>;
  /**
   * Ends every instance; later calls fail with `host_error`. `drain`: calls
   * already started finish on their instances first (the returned promise
   * waits for them); without it a call waiting for an instance fails.
   * `interrupt`: calls running in workers end at once, and the promise waits
   * for their answers and their workers; without it they run to their own
   * end. `true` (the host is closing) ends them as `not_ready`; an
   * {@link Interruption} says why instead (a revoked signer).
   */
  close(options?: { drain?: boolean; interrupt?: boolean | Interruption }): Promise<void>;
  /** Settles once no call is inside the plugin (running, queued, or moving to a worker). */
  idle(): Promise<void>;
}

/** Why an interrupting close ends the calls in flight: their error's code and message. */
export interface Interruption {
  code: ErrorCode;
  message: string;
}
