/**
 * The manifest of an installed plugin, read from its module under the
 * plugins directory (it was verified when it was installed). Lets the CLI
 * check a schedule against a plugin without a running host.
 * @module
 */
import { readFile } from "node:fs/promises";
import { MANIFEST_SECTION, readCustomSections } from "../artifact/mod.ts";
import { HostError } from "../errors.ts";
import { type Manifest, parseManifest } from "../manifest/mod.ts";
import { installedPath } from "../core/mod.ts";
import type { Store } from "../store/mod.ts";

/** The installed plugin's manifest; `not_found` when the plugin is not installed. */
export async function installedManifest(
  store: Store,
  pluginsDir: string,
  pluginId: string,
): Promise<Manifest> {
  const record = await store.plugins.get(pluginId);
  if (!record) {
    throw new HostError(
      "not_found",
      `No plugin '${pluginId}' is installed in ${store.url}: install it first, or add the schedule through the API of the host that loads it`,
    );
  }
  const path = installedPath(pluginsDir, record.digest);
  let wasm: Uint8Array;
  try {
    wasm = new Uint8Array(await readFile(path));
  } catch {
    throw new HostError(
      "not_found",
      `The module of '${pluginId}' is missing (${path}): check --plugins or reinstall the plugin`,
    );
  }
  const section = readCustomSections(wasm, MANIFEST_SECTION)[0];
  if (section === undefined) {
    throw new HostError("invalid_manifest", `The module at ${path} carries no manifest`);
  }
  return parseManifest(section);
}
