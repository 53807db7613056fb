/**
 * The plugin core: load verified plugins and run their capabilities through
 * one `invoke` (input checked, limits resolved once, RunRecord, metrics).
 * @module
 */
export { createRuntime, type LoadOptions, manifestLimits, PluginRuntime } from "./runtime.ts";
export { LATENCY_BUCKETS, type RunLabels, RunMetrics, type RunStats } from "./metrics.ts";
export { recordedLimits, resolveLimits } from "./limits.ts";
export {
  installedPath,
  type InstallOptions,
  installPlugin,
  LOAD_CONCURRENCY,
  loadInstalled,
  pinConflict,
  setPluginState,
  type UninstallOptions,
  uninstallPlugin,
} from "./install.ts";
export { liveTrustOf, stopUntrusted, type TrustWatchOptions, watchTrust } from "./trust-watch.ts";
export { type OpenHost, openHost, type OpenHostOptions } from "./open-host.ts";
export {
  changedKeys,
  checkEnvName,
  type ConfigChanged,
  type ConfigChangeRequest,
  type ConfigView,
  type EffectiveConfig,
  PluginConfigs,
  type PluginConfigsOptions,
  type ScopeView,
} from "./plugin-configs.ts";
export { interruptRuns } from "./interrupt.ts";
export {
  capabilityValidator,
  compileJsonSchema,
  type JsonValidator,
  type SchemaIssue,
} from "./validate.ts";
export type {
  CallLimits,
  CallOutcome,
  ChildRunRequest,
  ChildRunResult,
  HostFunctionHost,
  HostFunctionProvider,
  HostFunctionSet,
  InvokeRequest,
  InvokeResult,
  LoadedPlugin,
  OutputCheck,
  PluginInfo,
  RunError,
  RuntimeOptions,
  Trigger,
} from "./types.ts";
export {
  embeddedManifest,
  installedManifests,
  loadOrder,
  requireDependencies,
  requireDependents,
} from "./dependencies.ts";
export { installSet, type InstallSetOptions, type SetChange, type SetFile } from "./install-set.ts";
export { rollbackPlugin } from "./rollback.ts";
export { currentLockfile, readLockfile, writeLockfile } from "./lockfile.ts";
