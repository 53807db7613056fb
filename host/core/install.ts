/**
 * Installing plugins: verify, keep the bytes by digest under the plugins
 * directory, record them in the store, load them. Used by `host install`,
 * `POST /v1/plugins` and start-up.
 * @module
 */
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import semver from "semver";
import { HostError } from "../errors.ts";
import type { PluginInfo } from "./types.ts";
import type { PluginRuntime } from "./runtime.ts";
import { liveTrustOf } from "./trust-watch.ts";

/** Where installed modules live, by digest. */
export function installedPath(pluginsDir: string, digest: string): string {
  return join(pluginsDir, `${digest}.wasm`);
}

/** Options of `installPlugin`. */
export interface InstallOptions {
  /** Replace an installed id even with the same or a lower version. */
  force?: boolean;
  /** Accept a signer outside the id's pin and pin the id to the new signers (an operator step). */
  rekey?: boolean;
  /** Where the file came from (a path, `upload`). */
  source?: string;
  /** Who asked (`cli`, `http`), recorded on a rekey event. */
  via?: string;
}

/**
 * Installs a plugin file. An existing id is replaced only by a higher version
 * unless `force` (HostError "conflict" otherwise), and only by a file signed
 * by a key the id is pinned to unless `rekey`. The trust store is refreshed
 * first when the runtime's is live. The bytes are written before the record,
 * so a crash never leaves a record without its module.
 */
export async function installPlugin(
  runtime: PluginRuntime,
  pluginsDir: string,
  wasm: Uint8Array,
  options: InstallOptions = {},
): Promise<PluginInfo> {
  await liveTrustOf(runtime)?.refresh();
  let replaced: string | null = null;
  let pin: string[] = [];
  let rekeyed: { from: string[]; to: string[] } | null = null;
  const info = await runtime.load(wasm, options.source ?? "upload", {
    accept: async (candidate, signers) => {
      const existing = await runtime.store.plugins.get(candidate.id);
      if (existing && !options.force && !semver.gt(candidate.version, existing.version)) {
        throw new HostError(
          "conflict",
          `Plugin '${candidate.id}' ${existing.version} is installed; ${candidate.version} is not higher (use force to replace it)`,
          {
            details: {
              pluginId: candidate.id,
              installed: existing.version,
              candidate: candidate.version,
            },
          },
        );
      }
      const keyIds = signers.map((s) => s.keyId);
      const pinned = existing === undefined
        ? []
        : existing.pinnedKeyIds.length > 0
        ? existing.pinnedKeyIds
        : existing.signerKeyIds;
      pin = pinned.length > 0 ? pinned : keyIds;
      if (pinned.length > 0 && !keyIds.some((k) => pinned.includes(k))) {
        if (!options.rekey) throw pinConflict(candidate.id, pinned, keyIds);
        rekeyed = { from: pinned, to: keyIds };
        pin = keyIds;
      }
      replaced = existing?.version ?? null;
    },
  });
  await mkdir(pluginsDir, { recursive: true });
  const path = installedPath(pluginsDir, info.digest);
  const tmp = `${path}.${Date.now()}.tmp`;
  await writeFile(tmp, wasm);
  await rename(tmp, path);
  await runtime.store.plugins.put({
    id: info.id,
    version: info.version,
    digest: info.digest,
    signerKeyIds: info.signers.map((s) => s.keyId),
    pinnedKeyIds: pin,
    state: "enabled",
  });
  if (rekeyed !== null) {
    void runtime.store.events.append({
      type: "plugin.rekeyed",
      level: "warn",
      source: "host",
      pluginId: info.id,
      payload: { ...(rekeyed as { from: string[]; to: string[] }), via: options.via ?? "install" },
    });
  }
  void runtime.store.events.append({
    type: "plugin.installed",
    pluginId: info.id,
    payload: { version: info.version, digest: info.digest, replaced, signers: pin },
  });
  return info;
}

/** The refusal of a version signed outside the id's pin, naming both sides and the fix. */
export function pinConflict(id: string, pinned: string[], signers: string[]): HostError {
  const by = signers.length > 0 ? `key(s) ${signers.join(", ")}` : "no trusted key (dev mode)";
  return new HostError(
    "conflict",
    `Plugin '${id}' is pinned to key(s) ${pinned.join(", ")}, which first installed it; ` +
      `this file is signed by ${by}. If the plugin really changed hands, pin it to the new key ` +
      `first ('host plugins rekey ${id} --key ${signers[0] ?? "KEYID"}') or install with ` +
      "--allow-rekey (HTTP: POST /v1/plugins?rekey=true with an admin token); otherwise refuse this file",
    { details: { pluginId: id, pinnedKeyIds: pinned, signerKeyIds: signers } },
  );
}

/**
 * Loads every installed plugin recorded in the store. A plugin that no longer
 * verifies or loads is reported (event `plugin.load_failed`) and skipped.
 */
export async function loadInstalled(
  runtime: PluginRuntime,
  pluginsDir: string,
): Promise<{ loaded: PluginInfo[]; failed: { id: string; error: string }[] }> {
  const loaded: PluginInfo[] = [];
  const failed: { id: string; error: string }[] = [];
  for (const record of await runtime.store.plugins.list()) {
    try {
      const wasm = new Uint8Array(await readFile(installedPath(pluginsDir, record.digest)));
      const info = await runtime.load(
        wasm,
        "installed",
        record.state === "disabled" ? { disabled: true } : {},
      );
      if (info.digest !== record.digest) {
        throw new HostError(
          "verification_failed",
          `Installed module digest changed for '${record.id}'`,
        );
      }
      loaded.push(info);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      failed.push({ id: record.id, error: message });
      void runtime.store.events.append({
        type: "plugin.load_failed",
        level: "error",
        pluginId: record.id,
        payload: { source: "installed", error: message },
      });
    }
  }
  return { loaded, failed };
}

/** Sets an installed (or loaded) plugin's state in the store and the runtime. */
export async function setPluginState(
  runtime: PluginRuntime,
  id: string,
  state: "enabled" | "disabled",
): Promise<PluginInfo> {
  const info = await runtime.setState(id, state);
  await runtime.store.plugins.setState(id, state);
  void runtime.store.events.append({ type: `plugin.${state}`, pluginId: id, payload: {} });
  return info;
}

/** Uninstalls a plugin: unloads it and removes its record (the module file stays, by digest). */
export async function uninstallPlugin(runtime: PluginRuntime, id: string): Promise<void> {
  const removed = await runtime.store.plugins.remove(id);
  const loaded = runtime.get(id) !== undefined;
  if (!removed && !loaded) {
    throw new HostError("not_found", `No plugin '${id}' is installed`);
  }
  if (loaded) await runtime.unload(id);
  void runtime.store.events.append({ type: "plugin.uninstalled", pluginId: id, payload: {} });
}
