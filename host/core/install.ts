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
import {
  embeddedManifest,
  installedManifests,
  loadOrder,
  requireDependencies,
  requireDependents,
} from "./dependencies.ts";
import { writeLockfile } from "./lockfile.ts";
import { dependencyLevels, eachLimited, READ_CONCURRENCY } from "./load-batch.ts";
import { nestedPinConflict } from "./namespace-pins.ts";

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
  /**
   * The caller resolved the dependencies of a whole set (installSet): skip
   * this file's own dependency checks, which would see the set half-installed.
   */
  dependenciesChecked?: boolean;
  /** Rewrite this lockfile (`plughost.lock`) after the install. */
  lockfile?: string;
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
      // The pin outlives uninstall: an id once installed stays its first signers' until a rekey.
      const pinned = await runtime.store.plugins.pin(candidate.id) ?? [];
      pin = pinned.length > 0 ? pinned : keyIds;
      if (pinned.length > 0 && !keyIds.some((k) => pinned.includes(k))) {
        if (!options.rekey) throw pinConflict(candidate.id, pinned, keyIds);
        rekeyed = { from: pinned, to: keyIds };
        pin = keyIds;
      }
      // A new or moved pin must agree with the pins of the ids around and inside this one.
      if (pinned.length === 0 || rekeyed !== null) {
        const nested = await nestedPinConflict(runtime.store.plugins, candidate.id, pin);
        if (nested) throw nested;
      }
      // Its required dependencies must be installed (or loaded), and installed plugins that
      // depend on this id must accept the new version: else it would load and fail later.
      if (options.dependenciesChecked) {
        replaced = existing?.version ?? null;
        return;
      }
      const manifests = await installedManifests(runtime, pluginsDir);
      const present = new Map([...manifests].map(([id, m]) => [id, m.version]));
      for (const p of runtime.list()) if (!present.has(p.id)) present.set(p.id, p.version);
      present.delete(candidate.id);
      requireDependencies(candidate, present);
      requireDependents(candidate.id, candidate.version, manifests.values());
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
  await runtime.store.registry.recordInstall({
    pluginId: info.id,
    version: info.version,
    digest: info.digest,
    source: options.source ?? "upload",
  });
  if (options.lockfile !== undefined) await writeLockfile(runtime, pluginsDir, options.lockfile);
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
 * Installed plugins loaded at once at most. A load alternates the event loop's
 * work (manifest checks, instantiation) with waits the loop does not spend:
 * file reads, WebCrypto's ed25519 and V8's compilation on other threads. With
 * 100 signed plugins and a warm module cache, on 2 cores with nothing else
 * running: 460-524 ms one at a time, 354-372 ms four at a time (2: 390-404,
 * 3: 379-395, 6: 369-373).
 */
export const LOAD_CONCURRENCY = 4;

/**
 * Loads every installed plugin recorded in the store. A plugin that no longer
 * verifies or loads is reported (event `plugin.load_failed`) and skipped.
 * Plugins load by dependency level (those with no installed dependency first,
 * then those whose dependencies are all settled), `LOAD_CONCURRENCY` at a
 * time; `loaded` and `failed` come back in dependency order.
 */
export async function loadInstalled(
  runtime: PluginRuntime,
  pluginsDir: string,
): Promise<{ loaded: PluginInfo[]; failed: { id: string; error: string }[] }> {
  const loaded: PluginInfo[] = [];
  const failed: { id: string; error: string }[] = [];
  const records = new Map((await runtime.store.plugins.list()).map((r) => [r.id, r]));
  if (records.size > 0) runtime.expectLoads();
  const files = new Map<string, Uint8Array | Error>();
  // A bounded number of reads at once (EMFILE, load-batch.ts).
  await eachLimited([...records.values()], READ_CONCURRENCY, async (record) => {
    files.set(
      record.id,
      await readFile(installedPath(pluginsDir, record.digest)).then(
        (b) => new Uint8Array(b),
        (e: unknown) => e instanceof Error ? e : new Error(String(e)),
      ),
    );
  });
  // Dependencies first: a plugin whose required dependency did not load is not activated.
  const manifests = new Map(
    [...files].map(([id, f]) => [id, f instanceof Error ? undefined : embeddedManifest(f)]),
  );
  const order = loadOrder(manifests);
  const position = new Map(order.map((id, i) => [id, i]));
  const loadOne = async (id: string): Promise<void> => {
    const record = records.get(id)!;
    try {
      const wasm = files.get(id)!;
      if (wasm instanceof Error) throw wasm;
      const info = await runtime.load(wasm, "installed", {
        ...(record.state === "disabled" ? { disabled: true } : {}),
        accept: (manifest) =>
          requireDependencies(manifest, new Map(loaded.map((p) => [p.id, p.version]))),
      });
      if (info.digest !== record.digest) {
        await runtime.unload(info.id);
        throw new HostError(
          "verification_failed",
          `Installed module digest changed for '${record.id}'`,
        );
      }
      loaded.push(info);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      failed.push({ id: record.id, error: message });
      const reason = error instanceof HostError && error.code === "dependency_error"
        ? { reason: "dependency_missing", unmet: error.details?.unmet }
        : {};
      void runtime.store.events.append({
        type: "plugin.load_failed",
        level: "error",
        pluginId: record.id,
        payload: { source: "installed", error: message, ...reason },
      });
    }
  };
  for (const level of dependencyLevels(order, manifests)) {
    await eachLimited(level, LOAD_CONCURRENCY, loadOne);
  }
  const byOrder = (a: string, b: string) => position.get(a)! - position.get(b)!;
  loaded.sort((a, b) => byOrder(a.id, b.id));
  failed.sort((a, b) => byOrder(a.id, b.id));
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

/** Options of `uninstallPlugin`. */
export interface UninstallOptions {
  /** Where installed modules are kept: installed dependents not loaded are checked too. */
  pluginsDir?: string;
  /** Uninstall even while other plugins depend on it (they fail to activate next start). */
  force?: boolean;
  /** Rewrite this lockfile (`plughost.lock`) after the uninstall (needs pluginsDir). */
  lockfile?: string;
}

/**
 * Uninstalls a plugin: unloads it and removes its record (the module file
 * stays, by digest; its signer pin stays too, until `forgetPin`). Refused
 * (`dependency_error`) while an installed or loaded plugin requires it,
 * unless `force`.
 */
export async function uninstallPlugin(
  runtime: PluginRuntime,
  id: string,
  options: UninstallOptions = {},
): Promise<void> {
  if (!options.force) {
    const manifests = options.pluginsDir === undefined
      ? new Map()
      : await installedManifests(runtime, options.pluginsDir);
    for (const p of runtime.list()) manifests.set(p.id, p.manifest);
    requireDependents(id, undefined, manifests.values());
  }
  const removed = await runtime.store.plugins.remove(id);
  const loaded = runtime.get(id) !== undefined;
  if (!removed && !loaded) {
    throw new HostError("not_found", `No plugin '${id}' is installed`);
  }
  if (loaded) await runtime.unload(id);
  if (options.lockfile !== undefined && options.pluginsDir !== undefined) {
    await writeLockfile(runtime, options.pluginsDir, options.lockfile);
  }
  void runtime.store.events.append({
    type: "plugin.uninstalled",
    pluginId: id,
    payload: options.force ? { forced: true } : {},
  });
}
