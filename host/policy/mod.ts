/**
 * The operator policy: caps on what manifests may ask for, per plugin id
 * pattern (docs/policy.md).
 * @module
 */
export { type Caps, CapsSchema, type EffectiveCaps, type Policy, PolicySchema } from "./schema.ts";
export { builtinCaps } from "./defaults.ts";
export {
  builtinPolicy,
  defaultPolicyPath,
  type LoadedPolicy,
  loadPolicy,
  parsePolicy,
} from "./load.ts";
export { capsFor } from "./resolve.ts";
export {
  capLimits,
  checkManifest,
  clampPermissions,
  describeExcesses,
  type Excess,
  type PolicyReport,
} from "./check.ts";
export { type ScheduleGap, scheduleGaps, type ScheduleSpec } from "./schedule-gaps.ts";
export { policyJsonSchemaText } from "./json-schema.ts";
export { admitter } from "./admit.ts";
export { lifecycleExcesses, lifecycleSettings, settingsFor } from "./lifecycle.ts";
