/**
 * `createHost`: the one place that wires a host (store, trust store, plugin
 * core with its host functions and metrics, installed plugins, scheduler) and
 * the small API the CLI, the HTTP server and embedders call. Every run any of
 * them starts goes through `Host.invoke`.
 * @module
 */
import { join } from "node:path";
import process from "node:process";
import { type HostPaths, resolvePaths } from "./config/paths.ts";
import { type DeliveryOptions, type RunningDelivery, startDelivery } from "./delivery/mod.ts";
import type { HostFunctionProvider } from "./capabilities/types.ts";
import { type InstallOptions, installPlugin, uninstallPlugin } from "./core/install.ts";
import {
  installSet,
  type InstallSetOptions,
  type SetChange,
  type SetFile,
} from "./core/install-set.ts";
import { rollbackPlugin } from "./core/rollback.ts";
import { LOCKFILE_NAME } from "./deps/mod.ts";
import { HostError } from "./errors.ts";
import type { RunMetrics } from "./core/metrics.ts";
import { type ReplayReport, replayRun } from "./core/replay.ts";
import { openHost } from "./core/open-host.ts";
import type { LoadOptions, PluginRuntime } from "./core/runtime.ts";
import type { InvokeRequest, InvokeResult, PluginInfo, RuntimeOptions } from "./core/types.ts";
import type { Limits } from "./sandbox/mod.ts";
import { type RunningScheduler, type SchedulerOptions, startScheduler } from "./scheduler/mod.ts";
import type { EventsRepository, RunsRepository, Store } from "./store/mod.ts";
import { hostSigningKey, loadTrustStore, type SigningKey, type TrustStore } from "./trust/mod.ts";
import { evidenceTrigger, type EvidenceTriggerOptions } from "./core/evidence-trigger.ts";

/**
 * Options of `createHost`. Every field has a default: a host over
 * `./.plughost` that loads the plugins installed there.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtemp, rm } from "node:fs/promises";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 *
 * const home = await mkdtemp(join(tmpdir(), "plughost-doc-"));
 * const options: HostOptions = {
 *   home, // host.db, plugins/ and cache/ go here
 *   paths: { trust: ".plughost/trust" }, // the checkout's dev key
 *   defaults: { timeoutMs: 5_000 }, // for plugins whose manifest does not ask
 * };
 * const host = await createHost(options);
 * assert.equal(host.paths.db, `file:${join(home, "host.db")}`);
 * await host.close();
 * await rm(home, { recursive: true });
 * ```
 */
export interface HostOptions {
  /** The data directory (default `./.plughost`, resolved against the working directory). */
  home?: string;
  /** Overrides of single paths under `home` (e.g. `db: "file::memory:"`, `trust`). */
  paths?: Partial<HostPaths>;
  /** Load the plugins installed in the store (default true). */
  installed?: boolean;
  /** Also load every `*.wasm` in these directories (not installed). */
  pluginDirs?: string[];
  /** Dev mode: load unsigned or untrusted plugins (each load is a warn event). */
  allowUnsigned?: boolean;
  /** The operator's caps on any plugin's limits (default: the sandbox's policy). */
  policy?: Limits;
  /** Limits for plugins whose manifest does not ask (default: the sandbox's defaults). */
  defaults?: Partial<Limits>;
  /** Keep compiled modules in `<home>/cache` (default true). */
  cache?: boolean;
  /**
   * Instrument modules on the instrumenter's threads (default true), keeping
   * the event loop free while binaryen works (host/sandbox/instrument-pool.ts);
   * false instruments on the calling thread, which a one-shot command that
   * loads one plugin finishes sooner (no thread to start).
   */
  instrumentThreads?: boolean;
  /** Host functions per plugin (default: the ABI's, secrets from the environment). */
  hostFunctions?: HostFunctionProvider;
  /** libSQL auth token for a `libsql://` database URL. */
  authToken?: string;
  /** The trust store to verify with (default: loaded once from `paths.trust`; `host serve` passes a live one). */
  trust?: TrustStore;
  /** The operator policy's load-time check (host/policy `admitter`). */
  admit?: RuntimeOptions["admit"];
  /** Hook timeouts and circuit breakers, capped by the policy (host/policy `lifecycleSettings`). */
  lifecycle?: RuntimeOptions["lifecycle"];
  /**
   * Plugin config: `env` names this host's environment, whose stored overlay
   * applies (`host serve --env`; default `$PLUGHOST_ENV`); `variables` is where
   * PLUGHOST_CONFIG__ variables are read (default: the process environment).
   */
  config?: RuntimeOptions["config"];
  /**
   * Evidence triggers: a run failing with one of `onRunFailed`'s error classes
   * (`*`: any), and with `onSuspended` a plugin its circuit breaker suspends,
   * get a signed bundle in `dir` and an `evidence.written` event
   * (docs/replay.md). Signed with `key`, default the host's key (`<home>/keys/host.key`).
   */
  evidence?: EvidenceTriggerOptions & { key?: SigningKey };
}

/**
 * A running host. `close()` stops its scheduler, unloads its plugins and
 * drains and closes its store.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtemp, readFile, rm } from "node:fs/promises";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 *
 * const home = await mkdtemp(join(tmpdir(), "plughost-doc-"));
 * const host: Host = await createHost({ home, paths: { trust: ".plughost/trust" } });
 * try {
 *   await host.install(await readFile("build/plugins/hello.wasm"));
 *   assert.deepEqual(host.list().map((p) => p.id), ["example.hello"]);
 *   const result = await host.invoke({
 *     pluginId: "example.hello",
 *     capability: "greet",
 *     input: new TextEncoder().encode('{"name":"Ada"}'),
 *     trigger: "cli",
 *     durable: true,
 *   });
 *   assert.ok(result.ok);
 *   const run = await host.runs.get(result.runId);
 *   assert.equal(run?.status, "ok");
 *   const finished = await host.events.query({ type: "run.finished", runId: result.runId });
 *   assert.equal(finished.events.length, 1);
 * } finally {
 *   await host.close();
 *   await rm(home, { recursive: true });
 * }
 * ```
 */
export interface Host {
  /** Where its data lives. */
  readonly paths: HostPaths;
  readonly store: Store;
  /** The trust store plugins are verified with (live under `host serve`). */
  readonly trust: TrustStore;
  /** The plugin core (loaded plugins, the one `invoke`). */
  readonly runtime: PluginRuntime;
  /** Every run's counters, by plugin, capability and trigger (`GET /metrics`). */
  readonly metrics: RunMetrics;
  /** The event log. */
  readonly events: EventsRepository;
  /** The RunRecords. */
  readonly runs: RunsRepository;
  /** Plugins loaded at start. */
  readonly loaded: PluginInfo[];
  /** Plugins that failed verification or loading at start, with the reason. */
  readonly failed: { source: string; error: string }[];
  /** Verifies and loads a plugin file without installing it (gone at close). */
  load(wasm: Uint8Array, source: string, options?: LoadOptions): Promise<PluginInfo>;
  /** Verifies, keeps, records and loads a plugin; a same or lower version needs `force`. */
  install(wasm: Uint8Array, options?: InstallOptions): Promise<PluginInfo>;
  /**
   * Installs files as one change (verified and resolved with what is
   * installed first; all or nothing) and rewrites `<home>/plughost.lock`.
   */
  installSet(
    files: readonly SetFile[],
    options?: Omit<InstallSetOptions, "trust" | "allowUnsigned" | "lockfile">,
  ): Promise<{ installed: PluginInfo[]; changes: SetChange[] }>;
  /** Back to the previously installed digest of `id`; rewrites the lockfile. */
  rollback(id: string): Promise<SetChange>;
  /** Uninstalls `id` (refused while others need it unless `force`); rewrites the lockfile. */
  uninstall(id: string, options?: { force?: boolean }): Promise<void>;
  /** Where this host's lockfile is: `<home>/plughost.lock`. */
  readonly lockfile: string;
  /** The loaded plugins, by id. */
  list(): PluginInfo[];
  /** One loaded plugin, or undefined. */
  get(id: string): PluginInfo | undefined;
  /** Runs a capability: the one path of every trigger (see docs/core.md). */
  invoke(request: InvokeRequest): Promise<InvokeResult>;
  /**
   * Replays a recorded run through `invoke` (trigger `replay`) and compares
   * output digest, fuel and outcome (docs/replay.md). Throws HostError
   * `not_found` or `not_replayable` (with the reason).
   */
  replay(runId: string): Promise<ReplayReport>;
  /** Starts the scheduler (once); `close()` stops it. */
  startScheduler(options?: Omit<SchedulerOptions, "runtime" | "store">): Promise<RunningScheduler>;
  /** Stops the plugins (onShutdown hooks within `graceMs` when given), then closes. */
  close(options?: { graceMs?: number }): Promise<void>;
  /**
   * Starts delivering events to the plugins' onEvent hooks (once; docs/delivery.md);
   * `close()` stops it before the plugins unload.
   */
  startDelivery(options?: Omit<DeliveryOptions, "runtime" | "store">): RunningDelivery;
}

/**
 * Opens a host: the store (migrated), the trust store, the plugin core with
 * the ABI's host functions, and the installed plugins. A plugin that fails
 * to verify or load is reported in `failed` (and the event log); the rest start.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtemp, readFile, rm } from "node:fs/promises";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 *
 * const home = await mkdtemp(join(tmpdir(), "plughost-doc-"));
 * const host = await createHost({ home, paths: { trust: ".plughost/trust" }, cache: false });
 * try {
 *   await host.load(await readFile("build/plugins/hello.wasm"), "hello.wasm");
 *   const result = await host.invoke({
 *     pluginId: "example.hello",
 *     capability: "greet",
 *     input: new TextEncoder().encode('{"name":"Ada"}'),
 *     trigger: "cli",
 *   });
 *   assert.ok(result.ok);
 *   if (result.ok) assert.match(new TextDecoder().decode(result.output), /Ada/);
 * } finally {
 *   await host.close();
 *   await rm(home, { recursive: true });
 * }
 * ```
 */
export async function createHost(options: HostOptions = {}): Promise<Host> {
  // Refused before anything opens: a folder without a trigger would write nothing.
  if (options.evidence && !options.evidence.onRunFailed?.length && !options.evidence.onSuspended) {
    throw new HostError(
      "invalid_input",
      'evidence needs a trigger: onRunFailed (error classes, or ["*"]) and/or onSuspended: true',
    );
  }
  const paths: HostPaths = {
    ...resolvePaths({}, process.cwd(), { home: options.home }),
    ...options.paths,
  };
  // Loaded once here, so installs that verify a set first use the store the runtime verifies with.
  const trust = options.trust ?? await loadTrustStore(paths.trust);
  const open = await openHost({
    paths,
    ...(options.pluginDirs ? { pluginDirs: options.pluginDirs } : {}),
    ...(options.installed === undefined ? {} : { installed: options.installed }),
    ...(options.allowUnsigned ? { allowUnsigned: true } : {}),
    ...(options.policy ? { policy: options.policy } : {}),
    ...(options.defaults ? { defaults: options.defaults } : {}),
    ...(options.cache === undefined ? {} : { cache: options.cache }),
    ...(options.instrumentThreads === undefined
      ? {}
      : { instrumentThreads: options.instrumentThreads }),
    ...(options.hostFunctions ? { hostFunctions: options.hostFunctions } : {}),
    trust,
    ...(options.admit ? { admit: options.admit } : {}),
    ...(options.lifecycle ? { lifecycle: options.lifecycle } : {}),
    config: { env: process.env.PLUGHOST_ENV || undefined, ...options.config },
    authToken: options.authToken,
  });
  const { store, runtime } = open;
  const lockfile = join(paths.home, LOCKFILE_NAME);
  let evidence: ReturnType<typeof evidenceTrigger> | undefined;
  if (options.evidence) {
    const { key, ...trigger } = options.evidence;
    evidence = evidenceTrigger({
      store,
      trust: trust,
      key: key ?? (await hostSigningKey(paths.keys)).key,
      get: (id) => runtime.get(id),
      pluginsDir: paths.plugins,
    }, trigger);
    runtime.onRunEnded(evidence.listener);
    runtime.lifecycle.onMove(evidence.moved);
  }
  let scheduler: Promise<RunningScheduler> | undefined;
  let delivery: RunningDelivery | undefined;
  let closing: Promise<void> | undefined;
  return {
    paths,
    store,
    trust,
    runtime,
    metrics: runtime.metrics,
    events: store.events,
    runs: store.runs,
    loaded: open.loaded,
    failed: open.failed,
    load: (wasm, source, loadOptions) => runtime.load(wasm, source, loadOptions),
    install: (wasm, installOptions) =>
      installPlugin(runtime, paths.plugins, wasm, { lockfile, ...installOptions }),
    installSet: (files, setOptions = {}) =>
      installSet(runtime, paths.plugins, files, {
        ...setOptions,
        trust,
        allowUnsigned: options.allowUnsigned ?? false,
        lockfile,
      }),
    rollback: (id) =>
      rollbackPlugin(runtime, paths.plugins, id, {
        trust,
        allowUnsigned: options.allowUnsigned ?? false,
        lockfile,
        via: "rollback",
      }),
    uninstall: (id, uninstallOptions = {}) =>
      uninstallPlugin(runtime, id, { ...uninstallOptions, pluginsDir: paths.plugins, lockfile }),
    lockfile,
    list: () => runtime.list(),
    get: (id) => runtime.get(id),
    invoke: (request) => runtime.invoke(request),
    replay: (runId) =>
      replayRun({
        runs: store.runs,
        replay: store.replay,
        get: (id) => runtime.get(id),
        invoke: (request) => runtime.invoke(request),
      }, runId),
    startScheduler(schedulerOptions = {}) {
      scheduler ??= startScheduler({ ...schedulerOptions, runtime, store });
      return scheduler;
    },
    startDelivery(deliveryOptions = {}) {
      if (closing) throw new HostError("host_error", "The host is closed");
      delivery ??= startDelivery({ ...deliveryOptions, runtime, store });
      return delivery;
    },
    close(closeOptions) {
      closing ??= (async () => {
        if (scheduler) await (await scheduler.catch(() => undefined))?.stop();
        await delivery?.stop();
        await evidence?.settled();
        // Dependents stop before the plugins they depend on (runtime.close, by layers).
        await open.close(closeOptions);
      })();
      return closing;
    },
  };
}
