/**
 * The plugin runtime: verified plugins loaded into the sandbox, and the one
 * path every capability call takes (RunRecord, limits, events). The CLI,
 * the HTTP server and the scheduler all call `invoke` here.
 * @module
 */
import { HostError } from "../errors.ts";
import type { Manifest } from "../manifest/mod.ts";
import { defaultPolicy, type Limits, loadPlugin, type SandboxedPlugin } from "../sandbox/mod.ts";
import type { Store } from "../store/mod.ts";
import { verifyPlugin } from "../trust/mod.ts";
import { invokeLoaded } from "./invoke.ts";
import { eventLogger } from "./plugin-logger.ts";
import type {
  HostFunctionSet,
  InvokeRequest,
  InvokeResult,
  PluginInfo,
  RuntimeOptions,
} from "./types.ts";

/** A plugin loaded into the sandbox, with what the runtime knows of it. */
export interface LoadedPlugin {
  info: PluginInfo;
  sandbox: SandboxedPlugin;
  /** The plugin's own limits (its manifest's requests, capped by policy). */
  limits: Partial<Limits>;
  /** Its host functions' per-call hooks. */
  hooks?: Pick<HostFunctionSet, "beforeCall" | "afterCall"> | undefined;
}

/** Loads, holds and calls plugins. Create with `createRuntime`. */
export class PluginRuntime {
  readonly store: Store;
  readonly #options: RuntimeOptions;
  readonly #plugins = new Map<string, LoadedPlugin>();
  #closed = false;

  constructor(options: RuntimeOptions) {
    this.store = options.store;
    this.#options = options;
  }

  /**
   * Verifies a plugin file against the trust store and loads it, replacing a
   * loaded plugin of the same id. Throws `verification_failed` or `load_error`,
   * or whatever `accept` throws after verification.
   */
  async load(
    wasm: Uint8Array,
    source: string,
    options: { accept?: (manifest: Manifest) => void | Promise<void> } = {},
  ): Promise<PluginInfo> {
    this.#assertOpen();
    const verified = await verifyPlugin(wasm, this.#options.trust, {
      allowUnsigned: this.#options.allowUnsigned ?? false,
    });
    const manifest = verified.manifest;
    // Lets installers refuse (e.g. a downgrade) after verification, before any code loads.
    await options.accept?.(manifest);
    const unsigned = verified.warnings.length > 0;
    if (unsigned) {
      void this.store.events.append({
        type: "plugin.unverified",
        level: "warn",
        pluginId: manifest.id,
        payload: { source, warnings: verified.warnings },
      });
    }
    const limits = { ...this.#options.defaults, ...manifestLimits(manifest) };
    const functions: HostFunctionSet = this.#options.hostFunctions?.(manifest, {
      store: this.store,
      invoke: (request) => this.invoke(request),
    }) ?? { functions: {}, needsWorker: false };
    const sandbox = await loadPlugin(verified.wasm, {
      limits,
      policy: this.#options.policy ?? defaultPolicy,
      hostFunctions: functions.functions,
      wasi: manifest.permissions?.wasi ?? false,
      mode: functions.needsWorker || (functions.allowedHosts?.length ?? 0) > 0 ? "worker" : "main",
      ...(functions.allowedHosts ? { allowedHosts: functions.allowedHosts } : {}),
      ...(functions.fetch ? { fetch: functions.fetch } : {}),
      ...(this.#options.cacheDir ? { cacheDir: this.#options.cacheDir } : {}),
      logger: this.#options.logger?.(manifest) ?? functions.logger ??
        eventLogger(this.store, manifest.id),
    });
    const info: PluginInfo = {
      id: manifest.id,
      version: manifest.version,
      digest: verified.digest,
      signers: verified.signers,
      state: "enabled",
      source,
      manifest,
      mode: sandbox.mode,
      unsigned,
    };
    const previous = this.#plugins.get(manifest.id);
    const hooks = { beforeCall: functions.beforeCall, afterCall: functions.afterCall };
    this.#plugins.set(manifest.id, { info, sandbox, limits, hooks });
    if (previous) await previous.sandbox.close();
    void this.store.events.append({
      type: "plugin.loaded",
      pluginId: manifest.id,
      payload: { version: manifest.version, digest: verified.digest, source, mode: sandbox.mode },
    });
    return info;
  }

  /** Every loaded plugin, by id. */
  list(): PluginInfo[] {
    return [...this.#plugins.values()].map((p) => p.info).sort((a, b) => a.id.localeCompare(b.id));
  }

  /** One loaded plugin, or undefined. */
  get(id: string): PluginInfo | undefined {
    return this.#plugins.get(id)?.info;
  }

  /** Enables or disables a loaded plugin; a disabled plugin refuses calls. */
  setState(id: string, state: "enabled" | "disabled"): PluginInfo {
    const loaded = this.#require(id);
    loaded.info = { ...loaded.info, state };
    return loaded.info;
  }

  /** Unloads a plugin (its instances end). */
  async unload(id: string): Promise<void> {
    const loaded = this.#require(id);
    this.#plugins.delete(id);
    await loaded.sandbox.close();
  }

  /**
   * Calls a capability. Resolves with the output or a classified error and
   * the run id; rejects only for requests that never became a run
   * (`not_found` plugin or capability, disabled plugin).
   */
  async invoke(request: InvokeRequest): Promise<InvokeResult> {
    this.#assertOpen();
    const loaded = this.#require(request.pluginId);
    if (loaded.info.state === "disabled") {
      throw new HostError("conflict", `Plugin '${request.pluginId}' is disabled: enable it first`);
    }
    return await invokeLoaded(
      this.store,
      loaded,
      request,
      this.#options.policy ?? defaultPolicy,
    );
  }

  /** Unloads every plugin and drains the store's writer. The store stays open. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const plugins = [...this.#plugins.values()];
    this.#plugins.clear();
    await Promise.allSettled(plugins.map((p) => p.sandbox.close()));
    await this.store.flush();
  }

  #require(id: string): LoadedPlugin {
    const loaded = this.#plugins.get(id);
    if (!loaded) {
      throw new HostError("not_found", `No plugin '${id}' is loaded: install it or check the id`);
    }
    return loaded;
  }

  #assertOpen(): void {
    if (this.#closed) throw new HostError("host_error", "The runtime is closed");
  }
}

/** Creates a runtime over an open store and a trust store. */
export function createRuntime(options: RuntimeOptions): PluginRuntime {
  return new PluginRuntime(options);
}

/** The limits a manifest asks for, in sandbox terms. */
export function manifestLimits(manifest: Manifest): Partial<Limits> {
  const limits: Partial<Limits> = {};
  if (manifest.limits?.memoryMaxPages !== undefined) {
    limits.memoryPages = manifest.limits.memoryMaxPages;
  }
  if (manifest.limits?.timeoutMs !== undefined) limits.timeoutMs = manifest.limits.timeoutMs;
  return limits;
}
