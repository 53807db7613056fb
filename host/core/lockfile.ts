/**
 * Writing and reading `plughost.lock` for a runtime's installed set. The
 * file is regenerated from the store after every change (install, update,
 * rollback, uninstall), so it always describes what is installed.
 * @module
 */
import { readFile, rename, writeFile } from "node:fs/promises";
import { dependencyRanges, type Lockfile, parseLockfile, serializeLockfile } from "../deps/mod.ts";
import { HostError } from "../errors.ts";
import { installedManifests } from "./dependencies.ts";
import type { PluginRuntime } from "./runtime.ts";

/** The lockfile of what `runtime`'s store has installed. */
export async function currentLockfile(
  runtime: PluginRuntime,
  pluginsDir: string,
): Promise<Lockfile> {
  const manifests = await installedManifests(runtime, pluginsDir);
  const records = await runtime.store.plugins.list();
  const versions = new Map(records.map((r) => [r.id, r.version]));
  const plugins: Lockfile["plugins"] = {};
  for (const record of records) {
    const manifest = manifests.get(record.id);
    const dependencies = manifest ? dependencyRanges(manifest) : {};
    const resolved: Record<string, string> = {};
    for (const id of Object.keys(dependencies)) {
      const version = versions.get(id);
      if (version !== undefined) resolved[id] = version;
    }
    // The registry it came from: the newest install of this digest whose source is a URL.
    const source = (await runtime.store.registry.history(record.id)).find((h) =>
      h.digest === record.digest
    )?.source;
    plugins[record.id] = {
      version: record.version,
      digest: record.digest,
      signers: record.signerKeyIds,
      dependencies,
      resolved,
      ...(source !== undefined && /^https?:\/\//.test(source) ? { registry: source } : {}),
    };
  }
  return { lockfileVersion: 1, plugins };
}

/** Writes the lockfile of the installed set to `path` (atomically: a temp file, then rename). */
export async function writeLockfile(
  runtime: PluginRuntime,
  pluginsDir: string,
  path: string,
): Promise<Lockfile> {
  const lock = await currentLockfile(runtime, pluginsDir);
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(tmp, serializeLockfile(lock));
  await rename(tmp, path);
  return lock;
}

/** Reads and checks a lockfile; HostError `invalid_input` (exit 65) naming what is wrong. */
export async function readLockfile(path: string): Promise<Lockfile> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new HostError(
      "invalid_input",
      `Cannot read the lockfile ${path}: ${
        error instanceof Error ? error.message : String(error)
      } (an install writes it; pass --lockfile PATH)`,
    );
  }
  const lock = parseLockfile(text);
  if (typeof lock === "string") {
    throw new HostError("invalid_input", `The lockfile ${path} is invalid: ${lock}`);
  }
  return lock;
}
