/**
 * The plugin core: verified plugins loaded into the sandbox, and the one
 * `invoke` every run takes (see invoke.ts). `createHost` (host.ts) wires it
 * to a store, a trust store, host functions and metrics.
 * @module
 */
import { basename } from "node:path";
import { HostError } from "../errors.ts";
import type { Manifest } from "../manifest/mod.ts";
import { defaultPolicy, type Limits, loadPlugin } from "../sandbox/mod.ts";
import type { Store } from "../store/mod.ts";
import { type VerifiedPlugin, verifyPlugin } from "../trust/mod.ts";
import { invokeLoaded, type RunEnded } from "./invoke.ts";
import { RunMetrics } from "./metrics.ts";
import { eventLogger } from "./plugin-logger.ts";
import type {
  HostFunctionSet,
  InvokeRequest,
  InvokeResult,
  LoadedPlugin,
  PluginInfo,
  RuntimeOptions,
} from "./types.ts";

/** Options of `PluginRuntime.load`. */
export interface LoadOptions {
  /** Refuse a verified plugin before any of its code loads (e.g. a downgrade, another signer). */
  accept?: (manifest: Manifest, signers: PluginInfo["signers"]) => void | Promise<void>;
  /**
   * Dev mode only (`allowUnsigned`): also load a module without a manifest,
   * as plugin `unsigned:<file name>` with no capabilities and only Extism's
   * kernel, WASI when `wasi` is set. Its exports are called by name.
   */
  bare?: { wasi: boolean };
}

/** Loads, holds and calls plugins. Create with `createRuntime`. */
export class PluginRuntime {
  readonly store: Store;
  /** Every run's counters (by plugin, capability and trigger). */
  readonly metrics: RunMetrics;
  readonly #options: RuntimeOptions;
  readonly #ended = new Set<(run: RunEnded) => void>();
  readonly #policy: Readonly<Limits>;
  readonly #plugins = new Map<string, LoadedPlugin>();
  #closed = false;

  constructor(options: RuntimeOptions) {
    this.store = options.store;
    this.metrics = options.metrics ?? new RunMetrics();
    this.#options = options;
    this.#policy = options.policy ?? defaultPolicy;
  }

  /**
   * Verifies a plugin file against the trust store (once) and loads it,
   * replacing a loaded plugin of the same id. Throws `verification_failed` or
   * `load_error`, or whatever `accept` throws after verification.
   */
  async load(wasm: Uint8Array, source: string, options: LoadOptions = {}): Promise<PluginInfo> {
    this.#assertOpen();
    const verified = await this.#verify(wasm, source, options);
    const manifest = verified.manifest;
    const bare = verified.bare;
    if (!bare) await options.accept?.(manifest, verified.signers);
    const unsigned = verified.warnings.length > 0;
    if (unsigned) {
      void this.store.events.append({
        type: "plugin.unverified",
        level: "warn",
        pluginId: manifest.id,
        payload: { source, warnings: verified.warnings },
      });
    }
    const requested = { ...this.#options.defaults, ...manifestLimits(manifest) };
    // The operator policy refuses (throws) or caps this plugin's limits (host/policy).
    const limits = (!bare && this.#options.admit?.(manifest, requested)) || requested;
    const functions: HostFunctionSet = (!bare &&
      this.#options.hostFunctions?.(manifest, {
        store: this.store,
        invoke: (request) => this.invoke({ ...request, trigger: "invoke" }),
      })) || { functions: {}, needsWorker: false };
    const sandbox = await loadPlugin(verified.wasm, {
      limits,
      policy: this.#policy,
      hostFunctions: functions.functions,
      wasi: manifest.permissions?.wasi ?? false,
      mode: functions.needsWorker || (functions.allowedHosts?.length ?? 0) > 0 ? "worker" : "main",
      ...(functions.allowedHosts ? { allowedHosts: functions.allowedHosts } : {}),
      ...(functions.fetch ? { fetch: functions.fetch } : {}),
      ...(functions.rerun ? { rerun: functions.rerun } : {}),
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
      warnings: verified.warnings,
      bare,
    };
    const previous = this.#plugins.get(manifest.id);
    const hooks = { beforeCall: functions.beforeCall, afterCall: functions.afterCall };
    this.#plugins.set(manifest.id, { info, sandbox, hooks, determinism: functions.determinism });
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
   * Runs a capability: the one path of every trigger (see invoke.ts).
   * Resolves with the output or a classified error and the run id; rejects
   * with a HostError only for requests that never became a run: `not_found`
   * (plugin or capability), `conflict` (disabled plugin), `invalid_json` or
   * `schema_mismatch` (input), `invalid_input` (limits).
   */
  async invoke(request: InvokeRequest): Promise<InvokeResult> {
    this.#assertOpen();
    const loaded = this.#require(request.pluginId);
    if (loaded.info.state === "disabled") {
      throw new HostError("conflict", `Plugin '${request.pluginId}' is disabled: enable it first`);
    }
    return await invokeLoaded(
      {
        store: this.store,
        policy: this.#policy,
        metrics: this.metrics,
        ended: this.#ended.size > 0 ? (run) => this.#tellEnded(run) : undefined,
      },
      loaded,
      request,
    );
  }

  /** Listens to every run that ends (after its records are queued); returns how to stop. */
  onRunEnded(listener: (run: RunEnded) => void): () => void {
    this.#ended.add(listener);
    return () => this.#ended.delete(listener);
  }

  #tellEnded(run: RunEnded): void {
    for (const listener of this.#ended) {
      try {
        listener(run);
      } catch {
        // A listener's failure is its own (it reports it); the run is unaffected.
      }
    }
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

  /** Verifies once; in dev mode a module without a manifest may load bare. */
  async #verify(
    wasm: Uint8Array,
    source: string,
    options: LoadOptions,
  ): Promise<VerifiedPlugin & { bare: boolean }> {
    const allowUnsigned = this.#options.allowUnsigned ?? false;
    try {
      return { ...await verifyPlugin(wasm, this.#options.trust, { allowUnsigned }), bare: false };
    } catch (error) {
      const details = error instanceof HostError ? error.details : undefined;
      if (!allowUnsigned || !options.bare || details?.reason !== "no_manifest") throw error;
      const manifest: Manifest = {
        schemaVersion: 1,
        id: `unsigned:${basename(source)}`,
        version: "0.0.0",
        engines: { host: "*", abi: 1 },
        capabilities: {},
        permissions: { wasi: options.bare.wasi },
      } as Manifest;
      return {
        manifest,
        digest: String(details.digest ?? ""),
        signers: [],
        wasm,
        warnings: [
          `${
            error instanceof Error ? error.message : String(error)
          } (dev mode: it runs bare, with no capabilities and no host functions)`,
        ],
        bare: true,
      };
    }
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
