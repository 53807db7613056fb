/**
 * plughost as a library: `createHost` opens a host; `Host.invoke` runs a
 * plugin capability, the one path every trigger takes. See docs/core.md.
 * Every export here has a runnable example (test/core/examples.test.ts runs them).
 * @module
 */
export { createHost, type Host, type HostOptions } from "./host.ts";
export type { InvokeRequest, InvokeResult, PluginInfo, Trigger } from "./core/types.ts";
export { type ErrorCode, HostError } from "./errors.ts";
