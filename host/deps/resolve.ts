/**
 * The dependency resolver (pure): from what was asked for and the versions
 * available, the set of plugins to install, one version per id, in
 * dependency order; or why not (a missing plugin, conflicting ranges naming
 * who wants which range and what would satisfy them, or a cycle as a path).
 * @module
 */
import semver from "semver";
import { HostError } from "../errors.ts";
import { cyclePath, dependencyOrder } from "./order.ts";
import type { Dependency } from "./spec.ts";

/** One available version of a plugin. `T` carries the caller's data (a digest, a URL). */
export interface Candidate<T = unknown> {
  id: string;
  version: string;
  dependencies: readonly Dependency[];
  data: T;
}

/** A range someone wants for an id: `by` is `id@version`, or a label such as `(request)`. */
export interface Requirement {
  id: string;
  range: string;
  by: string;
}

/** A resolved plugin: its candidate and the version chosen for each dependency present. */
export interface Resolved<T> {
  candidate: Candidate<T>;
  /** Dependency id -> the chosen version (absent optional dependencies are left out). */
  resolved: Record<string, string>;
}

/** Why a set cannot be resolved. */
export type ResolveFailure =
  | { kind: "missing"; id: string; wantedBy: Requirement[] }
  | {
    kind: "conflict";
    id: string;
    wantedBy: Requirement[];
    available: string[];
    /** For each requirement, the available versions it accepts. */
    accepts: { by: string; range: string; versions: string[] }[];
    /** A range within every requirement, when one exists (publish a version in it). */
    intersection: string | undefined;
  }
  | { kind: "cycle"; cycle: string[] };

export type ResolveResult<T> =
  | { ok: true; plugins: Resolved<T>[] }
  | { ok: false; failure: ResolveFailure };

/** Options of `resolveDependencies`. */
export interface ResolveOptions {
  /** Versions to keep when they still satisfy every range (e.g. what is installed). */
  preferred?: ReadonlyMap<string, string>;
  /** Rounds before giving up on choices that keep changing (default 50). */
  maxRounds?: number;
}

/**
 * Resolves `roots` against `catalog` (id -> its available versions). Each
 * id gets the preferred version if it satisfies every range on it, else the
 * highest that does; ranges of the chosen versions' dependencies are added
 * until the choice no longer changes. Optional dependencies are never pulled
 * in: when their id is in the set for another reason, their range applies.
 * Prerelease versions match only ranges that name a prerelease of the same
 * major.minor.patch (semver's rule).
 */
export function resolveDependencies<T>(
  roots: readonly Requirement[],
  catalog: ReadonlyMap<string, readonly Candidate<T>[]>,
  options: ResolveOptions = {},
): ResolveResult<T> {
  let chosen = new Map<string, Candidate<T>>();
  const rounds = options.maxRounds ?? 50;
  let lastFailure: ResolveFailure | undefined;
  for (let round = 0; round < rounds; round++) {
    const wanted = new Map<string, { requirements: Requirement[]; required: boolean }>();
    const want = (r: Requirement, required: boolean) => {
      const entry = wanted.get(r.id) ?? { requirements: [], required: false };
      entry.requirements.push(r);
      entry.required ||= required;
      wanted.set(r.id, entry);
    };
    for (const r of roots) want(r, true);
    for (const c of chosen.values()) {
      for (const d of c.dependencies) {
        want({ id: d.id, range: d.range, by: `${c.id}@${c.version}` }, !d.optional);
      }
    }
    const next = new Map<string, Candidate<T>>();
    lastFailure = undefined;
    for (const id of [...wanted.keys()].sort()) {
      const { requirements, required } = wanted.get(id)!;
      if (!required) continue;
      const picked = pick(id, requirements, catalog.get(id) ?? [], options.preferred?.get(id));
      if ("kind" in picked) {
        // Keep the earlier choice: the failure may go away once another choice moves.
        lastFailure ??= picked;
        const earlier = chosen.get(id);
        if (earlier) next.set(id, earlier);
        continue;
      }
      next.set(id, picked);
    }
    if (sameChoice(chosen, next)) {
      return lastFailure ? { ok: false, failure: lastFailure } : finish(next);
    }
    chosen = next;
  }
  return {
    ok: false,
    failure: lastFailure ?? {
      kind: "conflict",
      id: [...chosen.keys()][0] ?? "(none)",
      wantedBy: [],
      available: [],
      accepts: [],
      intersection: undefined,
    },
  };
}

function pick<T>(
  id: string,
  requirements: Requirement[],
  available: readonly Candidate<T>[],
  preferred: string | undefined,
): Candidate<T> | ResolveFailure {
  if (available.length === 0) return { kind: "missing", id, wantedBy: requirements };
  const ok = (c: Candidate<T>) => requirements.every((r) => semver.satisfies(c.version, r.range));
  const fits = available.filter(ok).sort((a, b) => semver.rcompare(a.version, b.version));
  const keep = fits.find((c) => c.version === preferred);
  if (keep ?? fits[0]) return (keep ?? fits[0])!;
  const versions = available.map((c) => c.version).sort(semver.compare);
  return {
    kind: "conflict",
    id,
    wantedBy: requirements,
    available: versions,
    accepts: requirements.map((r) => ({
      by: r.by,
      range: r.range,
      versions: versions.filter((v) => semver.satisfies(v, r.range)),
    })),
    intersection: intersect(requirements.map((r) => r.range)),
  };
}

/** A range within all of `ranges`, or undefined when they are disjoint. */
function intersect(ranges: string[]): string | undefined {
  for (let i = 0; i < ranges.length; i++) {
    for (let j = i + 1; j < ranges.length; j++) {
      if (!semver.intersects(ranges[i]!, ranges[j]!)) return undefined;
    }
  }
  return ranges.map((r) => `(${r})`).join(" ");
}

function sameChoice<T>(a: Map<string, Candidate<T>>, b: Map<string, Candidate<T>>): boolean {
  if (a.size !== b.size) return false;
  for (const [id, c] of a) if (b.get(id)?.version !== c.version) return false;
  return true;
}

function finish<T>(chosen: Map<string, Candidate<T>>): ResolveResult<T> {
  const order = dependencyOrder(
    [...chosen.values()].map((c) => ({ id: c.id, needs: c.dependencies.map((d) => d.id) })),
  );
  if (!order.ok) return { ok: false, failure: { kind: "cycle", cycle: order.cycle } };
  return {
    ok: true,
    plugins: order.order.map((id) => {
      const candidate = chosen.get(id)!;
      const resolved: Record<string, string> = {};
      for (const d of candidate.dependencies) {
        const dep = chosen.get(d.id);
        if (dep) resolved[d.id] = dep.version;
      }
      return { candidate, resolved };
    }),
  };
}

/** A failure as a HostError (`dependency_error`) whose message says what to do. */
export function resolveError(failure: ResolveFailure): HostError {
  return new HostError("dependency_error", describeFailure(failure), {
    details: { ...failure },
  });
}

/** The failure in words: who wants what, what exists, and what would satisfy it. */
export function describeFailure(failure: ResolveFailure): string {
  const wants = (rs: Requirement[]) => rs.map((r) => `${r.by} wants ${r.range}`).join(", ");
  switch (failure.kind) {
    case "missing":
      return `Plugin '${failure.id}' is needed but not available (${
        wants(failure.wantedBy)
      }): publish or install it first, or point --registry at a registry that has it`;
    case "cycle":
      return `Dependency cycle ${
        cyclePath(failure.cycle)
      }: plugins cannot depend on each other in a loop; remove one of these dependencies`;
    case "conflict": {
      const each = failure.accepts.map((a) =>
        `${a.by} wants ${a.range} (${
          a.versions.length > 0 ? `accepts ${a.versions.join(", ")}` : "no available version"
        })`
      ).join("; ");
      const fix = failure.intersection !== undefined
        ? `a version of '${failure.id}' within ${failure.intersection} would satisfy all of them: publish one`
        : `no version can satisfy all of them: change one of these ranges (or install another version of the plugin that asks for it)`;
      return `No version of '${failure.id}' satisfies every range: ${each}; available: ${
        failure.available.join(", ") || "none"
      }. ${fix[0]!.toUpperCase()}${fix.slice(1)}`;
    }
  }
}
