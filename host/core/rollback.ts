/**
 * `host rollback ID`: back to the version installed before the current one,
 * from the module kept by digest under the plugins directory.
 * @module
 */
import { readFile } from "node:fs/promises";
import { HostError } from "../errors.ts";
import { installedPath } from "./install.ts";
import { installSet, type InstallSetOptions, type SetChange } from "./install-set.ts";
import type { PluginRuntime } from "./runtime.ts";

/**
 * Reinstalls the previous digest of `id` (the newest entry of its install
 * history with another digest) as a one-file set: verified again and
 * dependency-checked against the rest. Throws `not_found` when there is none.
 */
export async function rollbackPlugin(
  runtime: PluginRuntime,
  pluginsDir: string,
  id: string,
  options: Omit<InstallSetOptions, "force" | "requireConsent">,
): Promise<SetChange> {
  const current = await runtime.store.plugins.get(id);
  if (!current) throw new HostError("not_found", `No plugin '${id}' is installed`);
  const previous = (await runtime.store.registry.history(id)).find((h) =>
    h.digest !== current.digest
  );
  if (!previous) {
    throw new HostError(
      "not_found",
      `Plugin '${id}' has no earlier version on this host to roll back to (only ${current.version} was installed)`,
    );
  }
  const wasm = await readFile(installedPath(pluginsDir, previous.digest)).catch(() => {
    throw new HostError(
      "not_found",
      `The module of '${id}' ${previous.version} (sha256:${previous.digest}) is no longer kept under ${pluginsDir}: install that version again`,
    );
  });
  const { changes } = await installSet(
    runtime,
    pluginsDir,
    [{ wasm: new Uint8Array(wasm), source: previous.source }],
    { ...options, force: true },
  );
  return changes[0]!;
}
