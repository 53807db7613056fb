/**
 * The plugin runtime: load verified plugins and call their capabilities with
 * a RunRecord for every call.
 * @module
 */
export { createRuntime, type LoadedPlugin, manifestLimits, PluginRuntime } from "./runtime.ts";
export {
  installedPath,
  installPlugin,
  loadInstalled,
  setPluginState,
  uninstallPlugin,
} from "./install.ts";
export { type OpenHost, openHost, type OpenHostOptions } from "./open-host.ts";
export { interruptRuns } from "./interrupt.ts";
export {
  capabilityValidator,
  compileJsonSchema,
  type JsonValidator,
  type SchemaIssue,
} from "./validate.ts";
export type {
  CallOutcome,
  HostFunctionHost,
  HostFunctionProvider,
  HostFunctionSet,
  InvokeRequest,
  InvokeResult,
  PluginInfo,
  RuntimeOptions,
} from "./types.ts";
