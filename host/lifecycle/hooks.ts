/**
 * The manifest's hooks as the lifecycle calls them: which export a hook
 * names, how its run is recorded, and how long it may take. A hook is a run
 * like any other (the core's one invoke, trigger `hook`), of an export called
 * directly with no schema; its RunRecord's capability is `hook:<name>`
 * (capability names cannot hold ':', so the two never clash).
 * @module
 */
import type { Manifest } from "../manifest/mod.ts";

/** The hooks a manifest may name. onEvent and onConfigChange are called by their own features. */
export const hookNames = [
  "onLoad",
  "onShutdown",
  "onSchedule",
  "onEvent",
  "onConfigChange",
] as const;
export type HookName = (typeof hookNames)[number];

/** A hook's timeout when the manifest's `hooks.timeoutMs` does not say (capped by policy). */
export const DEFAULT_HOOK_TIMEOUT_MS = 5_000;

/** True when `name` is a hook name. */
export function isHookName(name: string): name is HookName {
  return (hookNames as readonly string[]).includes(name);
}

/** The export `hook` names in `manifest`, or undefined when the manifest has no such hook. */
export function hookExport(manifest: Manifest, hook: HookName): string | undefined {
  const value = manifest.hooks?.[hook];
  if (value === undefined) return undefined;
  return typeof value === "string" ? value : value.export;
}

/** What a hook's run records as its capability (and `host runs --capability` filters by). */
export function hookRunName(hook: HookName): `hook:${HookName}` {
  return `hook:${hook}`;
}

/** The hook a schedule's target names (`hook:onSchedule`), or undefined for a capability. */
export function scheduledHook(target: string): HookName | undefined {
  if (!target.startsWith("hook:")) return undefined;
  const name = target.slice("hook:".length);
  return isHookName(name) ? name : undefined;
}
