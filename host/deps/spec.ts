/**
 * A manifest's `dependencies` in one shape: id, semver range, optional.
 * @module
 */
import type { Manifest } from "../manifest/schema.ts";

/** One dependency of a plugin. */
export interface Dependency {
  id: string;
  range: string;
  /** Not installed with the plugin; when present it must match and loads first. */
  optional: boolean;
}

/** The dependencies a manifest declares, sorted by id. */
export function dependenciesOf(manifest: Pick<Manifest, "dependencies">): Dependency[] {
  return Object.entries(manifest.dependencies ?? {}).map(([id, spec]) =>
    typeof spec === "string"
      ? { id, range: spec, optional: false }
      : { id, range: spec.range, optional: spec.optional ?? false }
  ).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** A manifest's dependencies as the lockfile records them: id -> range. */
export function dependencyRanges(manifest: Pick<Manifest, "dependencies">): Record<string, string> {
  return Object.fromEntries(dependenciesOf(manifest).map((d) => [d.id, d.range]));
}
