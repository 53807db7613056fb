/**
 * Dependencies at activation: the order installed plugins load in
 * (dependencies first) and stop in (dependents first), and the refusal of a
 * plugin whose required dependencies are not present.
 * @module
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import semver from "semver";
import { customSections } from "../artifact/custom-sections.ts";
import { parseModule } from "../artifact/module.ts";
import { MANIFEST_SECTION } from "../artifact/names.ts";
import { dependenciesOf, dependencyOrder, describeUnmet, unmetDependencies } from "../deps/mod.ts";
import { HostError } from "../errors.ts";
import type { Manifest } from "../manifest/schema.ts";
import { parseManifestSection } from "../manifest/parse.ts";
import type { PluginRuntime } from "./runtime.ts";

/**
 * The manifest embedded in a plugin file, read without verifying it (for
 * ordering and planning only; loading verifies). Undefined when unreadable.
 */
export function embeddedManifest(wasm: Uint8Array): Manifest | undefined {
  try {
    const section = customSections(parseModule(wasm)).find((s) => s.name === MANIFEST_SECTION);
    return section === undefined ? undefined : parseManifestSection(wasm, section.data);
  } catch {
    return undefined;
  }
}

/**
 * Ids in load order: dependencies first, ties by id. Plugins on a cycle
 * (which installs refuse, so only a hand-edited store has one) come last, in
 * id order; their dependency check then refuses them.
 */
export function loadOrder(manifests: ReadonlyMap<string, Manifest | undefined>): string[] {
  const result = dependencyOrder(
    [...manifests].map(([id, m]) => ({ id, needs: m ? dependenciesOf(m).map((d) => d.id) : [] })),
  );
  if (result.ok) return result.order;
  // Set one plugin on the cycle aside, order the rest, and append it.
  const rest = new Map(manifests);
  rest.delete(result.cycle[0]!);
  return [...loadOrder(rest), result.cycle[0]!];
}

/** The versions present in `runtime` plus `extra` (id -> version). */
export function presentVersions(
  runtime: PluginRuntime,
  extra: Iterable<[string, string]> = [],
): Map<string, string> {
  const present = new Map(runtime.list().map((p) => [p.id, p.version]));
  for (const [id, version] of extra) present.set(id, version);
  return present;
}

/**
 * Throws `dependency_error` (kind `unmet`) when a required dependency of
 * `manifest` is absent from `present`, or a present one is outside its range.
 */
export function requireDependencies(
  manifest: Manifest,
  present: ReadonlyMap<string, string>,
): void {
  const unmet = unmetDependencies(dependenciesOf(manifest), present);
  if (unmet.length === 0) return;
  throw new HostError(
    "dependency_error",
    `Plugin ${describeUnmet(manifest.id, unmet)}`,
    { details: { kind: "unmet", pluginId: manifest.id, unmet } },
  );
}

/**
 * Throws `dependency_error` (kind `dependents`) when replacing `id` by
 * `version` would leave an installed plugin outside its range for it.
 */
export function requireDependents(
  id: string,
  version: string | undefined,
  installed: Iterable<Manifest>,
): void {
  const broken = [...installed].filter((m) => m.id !== id).flatMap((m) =>
    dependenciesOf(m).filter((d) => d.id === id).filter((d) =>
      // Removing an optional dependency is fine; a present one must still match.
      version === undefined ? !d.optional : !semver.satisfies(version, d.range)
    ).map((d) => ({ by: `${m.id}@${m.version}`, range: d.range }))
  );
  if (broken.length === 0) return;
  const wants = broken.map((b) => `${b.by} needs ${b.range}`).join(", ");
  throw new HostError(
    "dependency_error",
    version === undefined
      ? `Plugin '${id}' is needed by installed plugins (${wants}): uninstall them first (CLI: --force to uninstall anyway)`
      : `Plugin '${id}' ${version} would break installed plugins (${wants}): update them first, or pick a version in their ranges`,
    { details: { kind: "dependents", pluginId: id, version, dependents: broken } },
  );
}

/**
 * The manifests of the installed plugins (the loaded one when it is the
 * installed digest, else read from the kept file), by id.
 */
export async function installedManifests(
  runtime: PluginRuntime,
  pluginsDir: string,
): Promise<Map<string, Manifest>> {
  const out = new Map<string, Manifest>();
  for (const record of await runtime.store.plugins.list()) {
    const loaded = runtime.get(record.id);
    if (loaded?.digest === record.digest) {
      out.set(record.id, loaded.manifest);
      continue;
    }
    const wasm = await readFile(join(pluginsDir, `${record.digest}.wasm`)).catch(() => undefined);
    const manifest = wasm === undefined ? undefined : embeddedManifest(new Uint8Array(wasm));
    if (manifest) out.set(record.id, manifest);
  }
  return out;
}
