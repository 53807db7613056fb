/**
 * The sandbox: load a plugin once, call its exports with a memory cap, a fuel
 * budget and a timeout, and get output or a classified error plus usage.
 * See docs/sandbox.md.
 * @module
 */
export { loadPlugin } from "./load.ts";
export { cacheEpoch, expectInstrumenting, releaseCacheDir } from "./compile.ts";
export { applyPolicy, defaultLimits, defaultPolicy, type Limits, PAGE_BYTES } from "./limits.ts";
export { MALFORMED_HTTP_REQUEST, SandboxAbort } from "./classify.ts";
export { defaultSlice, type Slice, TIME_STRIKE_WINDOW_MS, TIME_STRIKES } from "./slice.ts";
export { HOST_BYTE_FUEL, HOST_CALL_FUEL, HOST_FUNCTION_FUEL } from "./instrument/costs.ts";
export { KERNEL_FUNCTIONS } from "./imports.ts";
export { HTTP_DENIED_LINE } from "./http-denied.ts";
export {
  MIN_WORKER_CPU_CORES,
  setWorkerCpuCores,
  WORKER_CPU_CORES,
  workerCpuCores,
} from "./worker-refuel.ts";
export type {
  CallContext,
  CallError,
  CallResult,
  HostCall,
  HostFunction,
  Interruption,
  LogLevel,
  Rerun,
  SandboxedPlugin,
  SandboxLogger,
  SandboxOptions,
  Usage,
} from "./types.ts";
