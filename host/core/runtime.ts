/**
 * The plugin core: verified plugins loaded into the sandbox, and the one
 * `invoke` every run takes (see invoke.ts). `createHost` (host.ts) wires it
 * to a store, a trust store, host functions and metrics.
 * @module
 */
import { basename } from "node:path";
import { stopLayers } from "../deps/mod.ts";
import { HostError } from "../errors.ts";
import {
  type HookName,
  hookRunName,
  Lifecycles,
  type LifecycleSettings,
  type PluginStatus,
} from "../lifecycle/mod.ts";
import type { Manifest } from "../manifest/mod.ts";
import { type ConfigValues, kernelConfig, mergeConfig } from "../plugin-config/mod.ts";
import { lifecycleSettings } from "../policy/mod.ts";
import {
  cacheEpoch,
  defaultPolicy,
  expectInstrumenting,
  type Interruption,
  type Limits,
  loadPlugin,
  releaseCacheDir,
  type SandboxedPlugin,
} from "../sandbox/mod.ts";
import type { Store } from "../store/mod.ts";
import { type VerifiedPlugin, verifyPlugin } from "../trust/mod.ts";
import { checkRequest, invokeLoaded, type RunEnded } from "./invoke.ts";
import { RunMetrics } from "./metrics.ts";
import { KernelConfigSync } from "./kernel-config.ts";
import { PluginConfigs } from "./plugin-configs.ts";
import { eventLogger } from "./plugin-logger.ts";
import type {
  HostFunctionSet,
  InvokeRequest,
  InvokeResult,
  LoadedPlugin,
  PluginInfo,
  RuntimeOptions,
} from "./types.ts";

/** How a call in flight ends when its plugin's signer stops being trusted (`unload`). */
const UNTRUSTED: Interruption = {
  code: "verification_failed",
  message: "The plugin's signer is no longer trusted (its key was revoked or has expired): " +
    "the host stopped this call; ask the plugin's publisher for a release signed by a trusted key",
};

/** A retired sandbox and the plugin it was loaded as (`PluginRuntime.#retiring`). */
interface Retiring {
  info: PluginInfo;
  sandbox: SandboxedPlugin;
}

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
  /** Load it disabled: it goes to `stopped` without running onLoad (an installed, disabled plugin). */
  disabled?: boolean;
}

/** Loads, holds and calls plugins. Create with `createRuntime`. */
export class PluginRuntime {
  readonly store: Store;
  /** Every run's counters (by plugin, capability and trigger). */
  readonly metrics: RunMetrics;
  /** Every loaded plugin's lifecycle state, hooks and circuit breaker (host/lifecycle). */
  readonly lifecycle: Lifecycles;
  /** Plugin config: effective values per run, operators' changes (plugin-configs.ts). */
  readonly configs: PluginConfigs;
  readonly #options: RuntimeOptions;
  readonly #runConfigs = new Map<string, Record<string, unknown>>();
  readonly #ended = new Set<(run: RunEnded) => void>();
  readonly #policy: Readonly<Limits>;
  readonly #settings: (manifest: Manifest) => LifecycleSettings;
  readonly #plugins = new Map<string, LoadedPlugin>();
  /**
   * Sandboxes no longer serving new calls (an upgrade's old version, a config
   * or recovery restart's old pool, a trusted unload) whose calls in flight
   * still run to their own end: a revocation of their signer, or the host's
   * close, must still reach those calls.
   */
  readonly #retiring = new Set<Retiring>();
  #closed = false;
  /** Closing: `close()` has begun (no run starts but the onShutdown hooks). */
  #closing = false;
  /** Triggers whose new runs are refused (`stopStarting()`). */
  readonly #refused = new Set<InvokeRequest["trigger"]>();

  constructor(options: RuntimeOptions) {
    this.store = options.store;
    this.metrics = options.metrics ?? new RunMetrics();
    this.#options = options;
    this.#policy = options.policy ?? defaultPolicy;
    this.#settings = options.lifecycle ?? lifecycleSettings();
    this.lifecycle = new Lifecycles({
      publish: (event) => void this.store.events.append(event).catch(() => {}),
      runHook: (pluginId, hook, timeoutMs) => this.#runHook(pluginId, hook, timeoutMs),
      restart: (pluginId) => this.#restart(pluginId),
    });
    this.configs = new PluginConfigs(options.store, options.config);
  }

  /**
   * Says a batch of loads is coming (a host's start): where none of them can
   * come from the module cache, an instrumenter thread starts now instead of
   * at the first load's miss (host/sandbox/compile.ts, `expectInstrumenting`).
   */
  expectLoads(): void {
    if (this.#closing) return;
    expectInstrumenting(this.#options.cacheDir, this.#options.instrumentThreads !== false);
  }

  /**
   * Verifies a plugin file against the trust store (once) and loads it,
   * replacing a loaded plugin of the same id. Throws `verification_failed` or
   * `load_error`, or whatever `accept` throws after verification.
   */
  async load(wasm: Uint8Array, source: string, options: LoadOptions = {}): Promise<PluginInfo> {
    this.#assertOpen();
    // A close() while this load runs releases the cache folder: the load then writes nothing there.
    const cacheSince = cacheEpoch();
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
        config: (runId) => this.#runConfigs.get(runId),
        // Installed counts too: a stopped, failed or not yet loaded plugin keeps its namespace.
        known: (pluginId) =>
          this.#plugins.has(pluginId) || this.store.plugins.isInstalled(pluginId),
      })) || { functions: {}, needsWorker: false };
    // Extism's kernel config starts as the effective config; a config this host cannot use yet
    // (refused at each run until fixed) starts it from the manifest default instead.
    const initial: { values: ConfigValues; seq: number } | undefined = bare
      ? undefined
      : await this.configs.effective(manifest).catch(() => ({
        values: mergeConfig(manifest.config?.default),
        seq: -1,
      }));
    const sandboxOptions: NonNullable<Parameters<typeof loadPlugin>[1]> = {
      limits,
      ...(initial ? { config: kernelConfig(initial.values) } : {}),
      policy: this.#policy,
      hostFunctions: functions.functions,
      wasi: manifest.permissions?.wasi ?? false,
      mode: functions.needsWorker || (functions.allowedHosts?.length ?? 0) > 0 ? "worker" : "main",
      ...(functions.allowedHosts ? { allowedHosts: functions.allowedHosts } : {}),
      ...(functions.fetch ? { fetch: functions.fetch } : {}),
      ...(functions.rerun ? { rerun: functions.rerun } : {}),
      ...(this.#options.cacheDir ? { cacheDir: this.#options.cacheDir, cacheSince } : {}),
      ...(this.#options.instrumentThreads === false ? { instrumentThreads: false } : {}),
      logger: this.#options.logger?.(manifest) ?? functions.logger ??
        eventLogger(this.store, manifest.id),
    };
    const sandbox = await loadPlugin(verified.wasm, sandboxOptions);
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
    // The old version stops first (its onShutdown runs on its own sandbox), then the new starts.
    if (previous) await this.lifecycle.stop(manifest.id, `replaced by ${manifest.version}`);
    const hooks = { beforeCall: functions.beforeCall, afterCall: functions.afterCall };
    // Reads sandboxOptions when it runs: a restart after a config change loads the new kernel config.
    const reload = () => loadPlugin(verified.wasm, sandboxOptions);
    const loaded: LoadedPlugin = {
      info,
      sandbox,
      hooks,
      reload,
      determinism: functions.determinism,
    };
    if (initial) {
      loaded.kernelConfig = new KernelConfigSync(
        manifest.id,
        sandboxOptions,
        initial.seq,
        () => this.#renew(loaded),
      );
    }
    this.#plugins.set(manifest.id, loaded);
    if (previous) await this.#retire(previous.info, previous.sandbox);
    this.lifecycle.register(manifest.id, manifest, this.#settings(manifest));
    void this.store.events.append({
      type: "plugin.loaded",
      pluginId: manifest.id,
      payload: { version: manifest.version, digest: verified.digest, source, mode: sandbox.mode },
    });
    if (options.disabled) return await this.setState(manifest.id, "disabled");
    await this.lifecycle.start(
      manifest.id,
      previous ? `upgraded to ${manifest.version}` : "loaded",
    );
    return this.#plugins.get(manifest.id)?.info ?? info;
  }

  /** Every loaded plugin, by id. */
  list(): PluginInfo[] {
    return [...this.#plugins.values()].map((p) => p.info).sort((a, b) => a.id.localeCompare(b.id));
  }

  /** One loaded plugin, or undefined. */
  get(id: string): PluginInfo | undefined {
    return this.#plugins.get(id)?.info;
  }

  /** A loaded plugin's lifecycle (state, reason, breaker), or undefined. */
  status(id: string): PluginStatus | undefined {
    return this.lifecycle.status(id);
  }

  /**
   * Enables or disables a loaded plugin; a disabled plugin refuses calls.
   * Disabling stops it (its onShutdown runs first); enabling a stopped one
   * starts it again (its onLoad runs).
   */
  async setState(id: string, state: "enabled" | "disabled"): Promise<PluginInfo> {
    const loaded = this.#require(id);
    if (state === "disabled") await this.lifecycle.stop(id, "disabled");
    loaded.info = { ...loaded.info, state };
    if (state === "enabled" && this.lifecycle.state(id) === "stopped") {
      await this.lifecycle.start(id, "enabled");
    }
    return loaded.info;
  }

  /**
   * Unloads a plugin: it stops (its onShutdown runs), then its instances end
   * once their calls in flight have. `trusted: false` (its signer was revoked
   * or expired) stops it without running any more of its code: its calls in
   * workers end at once as `verification_failed` (a call on the host's thread
   * ends within its slice; sandbox.md).
   */
  async unload(id: string, options: { trusted?: boolean } = {}): Promise<void> {
    const loaded = this.#require(id);
    const trusted = options.trusted ?? true;
    await this.lifecycle.stop(id, trusted ? "unloaded" : "signer no longer trusted", undefined, {
      hook: trusted,
    });
    this.#plugins.delete(id);
    this.lifecycle.forget(id);
    if (trusted) return await this.#retire(loaded.info, loaded.sandbox);
    // Older sandboxes of it (before a restart, or an upgrade signed by the same keys) may still
    // hold calls; other signers' are the trust watcher's to judge (endRetiring).
    const keys = new Set(loaded.info.signers.map((s) => s.keyId));
    await Promise.all([
      loaded.sandbox.close({ interrupt: UNTRUSTED }),
      this.endRetiring((signers) => signers.every((s) => keys.has(s.keyId)), id),
    ]);
  }

  /**
   * Ends the calls still running in retired sandboxes (see `#retiring`) of
   * plugin `id` (every plugin when omitted) whose signers `untrusted` says are
   * no longer trusted, as `verification_failed`; the trust watcher calls it
   * for plugins unloaded or replaced before their signer was revoked. Plugins
   * loaded without a trusted signer (dev mode) are left alone, as at unload.
   */
  async endRetiring(
    untrusted: (signers: PluginInfo["signers"]) => boolean,
    id?: string,
  ): Promise<void> {
    const ending = [...this.#retiring].filter((r) =>
      (id === undefined || r.info.id === id) && !r.info.unsigned && r.info.signers.length > 0 &&
      untrusted(r.info.signers)
    );
    await Promise.allSettled(ending.map((r) => r.sandbox.close({ interrupt: UNTRUSTED })));
  }

  /**
   * Closes a sandbox that serves no new calls, its calls in flight running to
   * their end; it stays in `#retiring` until they have (close() itself may
   * resolve first: it waits for idle instances, not busy ones).
   */
  #retire(
    info: PluginInfo,
    sandbox: SandboxedPlugin,
    options: { drain?: boolean } = {},
  ): Promise<void> {
    const entry: Retiring = { info, sandbox };
    this.#retiring.add(entry);
    const closing = sandbox.close(options);
    void Promise.allSettled([closing, sandbox.idle()]).then(() => this.#retiring.delete(entry));
    return closing;
  }

  /**
   * Runs a capability: the one path of every trigger (see invoke.ts).
   * Resolves with the output or a classified error and the run id; rejects
   * with a HostError only for requests that never became a run: `not_found`
   * (plugin or capability), `conflict` (disabled plugin), `invalid_json` or
   * `schema_mismatch` (input), `invalid_input` (limits).
   */
  /**
   * Throws what `invoke` would throw for `request` before it becomes a run
   * (`not_found`, `invalid_json`, `schema_mismatch`), without running it.
   */
  check(request: InvokeRequest): void {
    checkRequest(this.#require(request.pluginId), request);
  }

  async invoke(request: InvokeRequest): Promise<InvokeResult> {
    this.#assertOpen();
    this.#assertStarting(request);
    const loaded = this.#require(request.pluginId);
    if (loaded.info.state === "disabled") {
      throw new HostError("conflict", `Plugin '${request.pluginId}' is disabled: enable it first`);
    }
    // Bare modules (dev mode) have no manifest config; a replay runs with the original's.
    const config = loaded.info.bare || request.replay?.config
      ? undefined
      : await this.configs.effective(loaded.info.manifest);
    // A new config reaches Extism's kernel config too: one sandbox restart per change.
    if (config) await loaded.kernelConfig?.apply(config.values, config.seq);
    if (config?.changed && request.trigger !== "hook") await this.#configHook(loaded, config.seq);
    // Again after the awaits: a stop that came meanwhile has already given up on the runs it
    // knew of, and this one must not start behind its back.
    this.#assertStarting(request);
    return await invokeLoaded(
      {
        store: this.store,
        policy: this.#policy,
        metrics: this.metrics,
        lifecycle: this.lifecycle,
        runConfigs: this.#runConfigs,
        ended: this.#ended.size > 0 ? (run) => this.#tellEnded(run) : undefined,
      },
      loaded,
      request,
      request.replay?.config ?? config?.values,
    );
  }

  /**
   * Starts no new run of these triggers from now on: a server whose grace
   * period is over calls this for its own (`http`, `route`) before it marks
   * the runs in flight interrupted, so a call that was still on its way to its
   * run is refused (`not_ready`) instead of starting after. Other triggers
   * (the scheduler's and delivery's claimed work) still run until `close()`
   * stops them; after `close()` begins only the onShutdown hooks start.
   */
  stopStarting(triggers: readonly InvokeRequest["trigger"][]): void {
    for (const trigger of triggers) this.#refused.add(trigger);
  }

  #assertStarting(request: InvokeRequest): void {
    if (request.hook === "onShutdown") return;
    if (this.#closing || this.#refused.has(request.trigger)) {
      throw new HostError("not_ready", "The host is stopping: it starts no new runs");
    }
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

  /**
   * After an operator's change: re-reads a loaded plugin's config and runs
   * its `onConfigChange` hook if the change is new to this host. Other hosts
   * sharing the database notice it at their next run of the plugin.
   */
  async configChanged(id: string): Promise<void> {
    const loaded = this.#plugins.get(id);
    if (!loaded || loaded.info.bare || this.#closed) return;
    // The change is stored whatever happens here: a config this host cannot use (a variable off
    // the schema, say) is reported by the runs it refuses, not by the change that was made.
    const config = await this.configs.effective(loaded.info.manifest).catch(() => undefined);
    if (config) await loaded.kernelConfig?.apply(config.values, config.seq).catch(() => {});
    if (config?.changed) await this.#configHook(loaded, config.seq);
  }

  /** Runs `hooks.onConfigChange` through the one invoke (trigger `hook`); its failure is its own run's. */
  async #configHook(loaded: LoadedPlugin, seq: number): Promise<void> {
    const hook = loaded.info.manifest.hooks?.onConfigChange;
    if (hook === undefined || loaded.info.state === "disabled") return;
    await this.invoke({
      pluginId: loaded.info.id,
      capability: "hook:onConfigChange",
      hook: "onConfigChange",
      input: new TextEncoder().encode(JSON.stringify({ configSeq: seq })),
      trigger: "hook",
    }).catch(() => {});
  }

  /**
   * Stops every plugin (their onShutdown hooks at once, each within its
   * timeout and `graceMs`), unloads them and drains the store's writer. The
   * store stays open.
   */
  async close(options: { graceMs?: number } = {}): Promise<void> {
    if (this.#closed || this.#closing) return;
    this.#closing = true;
    // Dependents stop before their dependencies, layer by layer; within a layer every plugin
    // stops at once, each onShutdown bounded by its hook timeout and what is left of the grace.
    // Monotonic: a wall clock set back during shutdown cannot stretch the grace.
    const deadline = options.graceMs === undefined
      ? undefined
      : performance.now() + options.graceMs;
    const manifests = new Map([...this.#plugins].map(([id, p]) => [id, p.info.manifest]));
    let first = true;
    for (const layer of stopLayers(manifests)) {
      // The first layer gets the whole grace; later ones what is left of it.
      const graceMs = deadline === undefined || first
        ? options.graceMs
        : Math.max(0, deadline - performance.now());
      first = false;
      await Promise.allSettled(
        layer.map((id) => this.lifecycle.stop(id, "host stopping", graceMs)),
      );
    }
    this.#closed = true;
    const sandboxes = [...this.#plugins.values(), ...this.#retiring].map((p) => p.sandbox);
    this.#plugins.clear();
    // Calls still running in workers end now (not_ready), not at their own timeout: retired
    // sandboxes' too.
    await Promise.allSettled(sandboxes.map((sandbox) => sandbox.close({ interrupt: true })));
    // Worker variants still being made would otherwise land in the cache folder after close.
    if (this.#options.cacheDir) await releaseCacheDir(this.#options.cacheDir);
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

  /** Runs a hook through the one invoke (trigger `hook`), its timeout as the run's limit. */
  async #runHook(pluginId: string, hook: HookName, timeoutMs: number) {
    const result = await this.invoke({
      pluginId,
      capability: hookRunName(hook),
      hook,
      input: new Uint8Array(),
      trigger: "hook",
      limits: { timeoutMs },
    });
    return {
      runId: result.runId,
      ok: result.ok,
      error: result.ok ? undefined : { class: result.error.class, message: result.error.message },
    };
  }

  /** Recovery `restart`: a fresh instance pool from the same module; the old one ends. */
  async #restart(pluginId: string): Promise<void> {
    const loaded = this.#require(pluginId);
    if (!loaded.reload) {
      throw new HostError("host_error", `Plugin '${pluginId}' cannot be restarted`);
    }
    const old = loaded.sandbox;
    loaded.sandbox = await loaded.reload();
    await this.#retire(loaded.info, old);
  }

  /**
   * A config change's restart: a fresh sandbox from the same module and
   * (updated) options takes the next runs; the old one drains the calls
   * already inside it, then ends. Not a lifecycle transition: the plugin
   * stays active throughout.
   */
  async #renew(loaded: LoadedPlugin): Promise<void> {
    if (!loaded.reload) throw new Error("it cannot be reloaded");
    const fresh = await loaded.reload();
    // Unloaded, replaced or shut down meanwhile: the fresh sandbox has no one to serve.
    if (this.#closed || this.#plugins.get(loaded.info.id) !== loaded) {
      await fresh.close();
      return;
    }
    const old = loaded.sandbox;
    loaded.sandbox = fresh;
    void this.#retire(loaded.info, old, { drain: true }).catch(() => {});
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
