/**
 * The plugin runtime: load verified plugins and call their capabilities with
 * a RunRecord for every call.
 * @module
 */
export { createRuntime, type LoadedPlugin, manifestLimits, PluginRuntime } from "./runtime.ts";
export type {
  HostFunctionProvider,
  HostFunctionSet,
  InvokeRequest,
  InvokeResult,
  PluginInfo,
  RuntimeOptions,
} from "./types.ts";
