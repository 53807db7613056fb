/**
 * Plugin lifecycle: states and their transition table, hooks, and the
 * circuit breaker (docs/lifecycle.md).
 * @module
 */
export { canMove, type PluginState, pluginStates, transitions } from "./states.ts";
export {
  type Admission,
  Breaker,
  type BreakerPolicy,
  type BreakerState,
  type Recovery,
} from "./breaker.ts";
export {
  DEFAULT_HOOK_TIMEOUT_MS,
  hookExport,
  type HookName,
  hookNames,
  hookRunName,
  isHookName,
  scheduledHook,
} from "./hooks.ts";
export {
  type HookOutcome,
  type LifecycleDeps,
  Lifecycles,
  type LifecycleSettings,
  type PluginStatus,
  type StateMove,
  type Ticket,
} from "./lifecycle.ts";
