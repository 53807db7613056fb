/**
 * Dependencies of plugins already present (installed or loading): which are
 * unmet, and the order to activate them in.
 * @module
 */
import semver from "semver";
import type { Dependency } from "./spec.ts";

/** Why a dependency of a plugin is unmet. */
export interface Unmet {
  id: string;
  range: string;
  /** The version present, when it is outside the range. */
  present: string | undefined;
}

/**
 * The dependencies of a plugin not met by `present` (id -> version): a
 * required one absent, or any present one outside its range.
 */
export function unmetDependencies(
  dependencies: readonly Dependency[],
  present: ReadonlyMap<string, string>,
): Unmet[] {
  const unmet: Unmet[] = [];
  for (const d of dependencies) {
    const version = present.get(d.id);
    if (version === undefined) {
      if (!d.optional) unmet.push({ id: d.id, range: d.range, present: undefined });
    } else if (!semver.satisfies(version, d.range)) {
      unmet.push({ id: d.id, range: d.range, present: version });
    }
  }
  return unmet;
}

/** `needs example.b ^1.0.0 (not installed)`, for messages and events. */
export function describeUnmet(pluginId: string, unmet: readonly Unmet[]): string {
  return `'${pluginId}' needs ${
    unmet.map((u) =>
      `'${u.id}' ${u.range} (${
        u.present === undefined ? "not installed" : `${u.present} is installed`
      })`
    ).join(", ")
  }: install a matching version first`;
}
