/**
 * Plugin dependencies: the manifest's `dependencies`, the resolver (a DAG
 * with cycle and conflict reports) and the order plugins load in.
 * @module
 */
export { dependenciesOf, type Dependency, dependencyRanges } from "./spec.ts";
export { cyclePath, dependencyOrder, type GraphNode, type OrderResult } from "./order.ts";
export {
  type Candidate,
  describeFailure,
  type Requirement,
  type Resolved,
  resolveDependencies,
  resolveError,
  type ResolveFailure,
  type ResolveOptions,
  type ResolveResult,
} from "./resolve.ts";
export { describeUnmet, type Unmet, unmetDependencies } from "./check.ts";
export { stopLayers } from "./stop-layers.ts";
export { grantsOf, type PermissionDiff, permissionDiff } from "./permissions.ts";
export {
  LockedPlugin,
  Lockfile,
  LOCKFILE_NAME,
  parseLockfile,
  serializeLockfile,
} from "./lockfile.ts";
