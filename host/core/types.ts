/**
 * The public types of the plugin core: what callers (CLI, HTTP, scheduler,
 * host functions, hooks, event deliveries, routes, contract calls and
 * replays) ask `invoke` for and get back.
 * @module
 */
import type { TapeEntry } from "../capabilities/tape.ts";
import type { HostFunctionProvider, HostFunctionSet } from "../capabilities/types.ts";
import type { HookName, LifecycleSettings } from "../lifecycle/mod.ts";
import type { Manifest } from "../manifest/mod.ts";
import type { CallError, Limits, SandboxedPlugin, SandboxLogger, Usage } from "../sandbox/mod.ts";
import type { RunTrigger, Store } from "../store/mod.ts";
import type { TrustStore } from "../trust/mod.ts";
import type { KernelConfigSync } from "./kernel-config.ts";
import type { RunMetrics } from "./metrics.ts";
import type { PluginConfigsOptions } from "./plugin-configs.ts";
import type { SchemaIssue } from "./validate.ts";

export type {
  CallOutcome,
  ChildRunRequest,
  ChildRunResult,
  HostFunctionHost,
  HostFunctionProvider,
  HostFunctionSet,
} from "../capabilities/types.ts";

/**
 * What started a run: `http`, `cli`, `schedule`, `invoke` (a plugin's child
 * run), `event` (a delivery to an onEvent hook), `hook` (a lifecycle hook),
 * `route` (a plugin HTTP route) and `replay`.
 * Runs and metrics are labelled with it.
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
 * const hello = await host.load(await readFile("build/plugins/hello.wasm"), "hello.wasm");
 * const trigger: Trigger = "schedule";
 * const input = new TextEncoder().encode('{"name":"cron"}');
 * await host.invoke({ pluginId: hello.id, capability: "greet", input, trigger });
 * const series = host.metrics.series().map((s) => s.labels.trigger);
 * assert.deepEqual(series, ["schedule"]);
 * await host.close();
 * await rm(home, { recursive: true });
 * ```
 */
export type Trigger = RunTrigger;

/**
 * Per-call limits a caller may ask for. Memory is not among them: it is fixed
 * when the plugin's module is compiled (manifest `limits.memoryMaxPages`,
 * capped by policy), so every run records the plugin's memory cap.
 */
export type CallLimits = Partial<Omit<Limits, "memoryPages">>;

/** How much of a capability's output `invoke` checks before the run counts as ok. */
export type OutputCheck = "none" | "json" | "schema";

/**
 * One capability call.
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
 * const hello = await host.load(await readFile("build/plugins/hello.wasm"), "hello.wasm");
 * const request: InvokeRequest = {
 *   pluginId: hello.id,
 *   capability: "greet",
 *   input: new TextEncoder().encode('{"nam":"x"}'), // off the schema: name is required
 *   trigger: "cli",
 * };
 * const refused = await host.invoke(request).catch((error) => error);
 * assert.equal(refused.code, "schema_mismatch"); // never became a run; HTTP 422, exit 65
 * const ok = await host.invoke({ ...request, input: new TextEncoder().encode('{"name":"x"}') });
 * assert.ok(ok.ok);
 * await host.close();
 * await rm(home, { recursive: true });
 * ```
 */
export interface InvokeRequest {
  pluginId: string;
  capability: string;
  /** The input bytes: UTF-8 JSON for a capability, checked against its input schema. */
  input: Uint8Array;
  trigger: Trigger;
  parentRunId?: string | undefined;
  correlationId?: string | undefined;
  /**
   * The caller speaks JSON (HTTP, the CLI): a capability's input must be JSON
   * even where its schema accepts anything (else `invalid_json`). Input a
   * schema constrains is always parsed and checked.
   */
  requireJson?: boolean | undefined;
  /** Per-call limits; the plugin's limits and the host's policy still cap them. */
  limits?: CallLimits | undefined;
  /**
   * Output check (default `none`): `json` fails the run with `output_invalid`
   * unless the output is JSON; `schema` also checks the capability's output schema.
   */
  output?: OutputCheck | undefined;
  /** Wait until the RunRecord is durable before resolving (HTTP answers do). */
  durable?: boolean | undefined;
  /** Run id to use (default: a new ULID). */
  runId?: string | undefined;
  /**
   * `capability` may also name a module export directly (the CLI's `host
   * call`); such a call has no schema, so its input is passed as it is.
   */
  allowExport?: boolean | undefined;
  /**
   * Run this manifest hook instead of a capability (trigger `hook`, or
   * `event` for onEvent): its export is called directly, without a schema,
   * and the run records capability `hook:<name>`. `capability` is ignored.
   */
  hook?: HookName | undefined;
  /**
   * Replays a recorded run (trigger `replay`, docs/replay.md): its mode and
   * seed, and the tape whose answers the host functions serve back.
   */
  replay?: ReplaySource | undefined;
}

/** What a replay brings of the original run. */
export interface ReplaySource {
  mode: "strict" | "best-effort";
  seed: string;
  tape: readonly TapeEntry[];
  /** The effective config the original ran with (its replay record). */
  config?: Record<string, unknown> | undefined;
}

/** A run's error: its code (`class` on the wire and in the RunRecord) and message. */
export type RunError = CallError & {
  /** Schema issues, for `output_invalid` against the output schema. */
  errors?: SchemaIssue[];
};

/**
 * How a capability call ended. Never thrown for plugin behaviour.
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
 * const hello = await host.load(await readFile("build/plugins/hello.wasm"), "hello.wasm");
 * const result: InvokeResult = await host.invoke({
 *   pluginId: hello.id,
 *   capability: "greet",
 *   input: new Uint8Array(), // no input: the plugin itself refuses it
 *   trigger: "cli",
 *   durable: true,
 * });
 * assert.equal(result.ok, false);
 * if (!result.ok) assert.equal(result.error.class, "plugin_error");
 * assert.equal((await host.runs.get(result.runId))?.status, "error");
 * await host.close();
 * await rm(home, { recursive: true });
 * ```
 */
export type InvokeResult =
  | { runId: string; ok: true; output: Uint8Array; usage: Usage }
  | { runId: string; ok: false; error: RunError; usage: Usage };

/**
 * A plugin as the core knows it.
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
 * const hello = await host.load(await readFile("build/plugins/hello.wasm"), "hello.wasm");
 * const info: PluginInfo = hello;
 * assert.equal(info.id, "example.hello");
 * assert.equal(info.state, "enabled");
 * assert.deepEqual(Object.keys(info.manifest.capabilities), ["greet"]);
 * assert.equal(info.unsigned, false); // signed by the checkout's dev key
 * await host.close();
 * await rm(home, { recursive: true });
 * ```
 */
export interface PluginInfo {
  id: string;
  version: string;
  /** Hex SHA-256 of the signed message (module without signature sections). */
  digest: string;
  signers: { keyId: string; label: string | undefined }[];
  state: "enabled" | "disabled";
  /** Where it came from: a file path, `installed`, or `upload`. */
  source: string;
  manifest: Manifest;
  /** Execution mode the sandbox chose for it. */
  mode: "main" | "worker";
  /** Unsigned plugins loaded in dev mode. */
  unsigned: boolean;
  /** Why it was loaded although it does not verify (dev mode only); empty otherwise. */
  warnings: string[];
  /** A module without a manifest, loaded bare in dev mode (LoadOptions.bare). */
  bare: boolean;
}

/** A plugin loaded into the sandbox, with what the core knows of it. */
export interface LoadedPlugin {
  info: PluginInfo;
  sandbox: SandboxedPlugin;
  /** Its host functions' per-call hooks. */
  hooks?: Pick<HostFunctionSet, "beforeCall" | "afterCall"> | undefined;
  /** A fresh sandbox from the same module and options (recovery `restart`). */
  reload?: (() => Promise<SandboxedPlugin>) | undefined;
  /** The operator's determinism override for its capabilities, if any (docs/replay.md). */
  determinism?: "strict" | "best-effort" | undefined;
  /** Keeps Extism's kernel config equal to the effective config (not for bare modules). */
  kernelConfig?: KernelConfigSync | undefined;
}

/** Options of `createRuntime`. */
export interface RuntimeOptions {
  store: Store;
  trust: TrustStore;
  /** The host's ceiling on any plugin's limits. */
  policy?: Limits;
  /** Limits for plugins whose manifest does not ask (default: the sandbox's defaults). */
  defaults?: Partial<Limits>;
  /** Dev mode: load unsigned or untrusted plugins (each load is a warn event). */
  allowUnsigned?: boolean;
  /** Host functions per plugin; default none (every plugin gets only the Extism kernel). */
  hostFunctions?: HostFunctionProvider;
  /** Where plugin log lines go (default: the event log). */
  logger?: (plugin: Manifest) => SandboxLogger;
  /** Compiled-module cache directory (createHost passes `paths.cache`); default none. */
  cacheDir?: string;
  /**
   * Instrument modules on the instrumenter's threads (default true), keeping
   * the event loop free while binaryen works (host/sandbox/instrument-pool.ts);
   * false instruments on the calling thread, which a one-shot command that
   * loads one plugin finishes sooner (no thread to start).
   */
  instrumentThreads?: boolean;
  /** Where every run is counted (default: a new RunMetrics). */
  metrics?: RunMetrics;
  /**
   * The operator policy at load (host/policy `admitter`): throws to refuse a
   * manifest, or returns the limits to apply (its requests, capped per plugin).
   */
  admit?: (manifest: Manifest, requested: Partial<Limits>) => Partial<Limits>;
  /**
   * Each plugin's hook timeout and circuit breaker, capped by the operator
   * policy (host/policy `lifecycleSettings`); default: the built-in policy's.
   */
  lifecycle?: (manifest: Manifest) => LifecycleSettings;
  /** Plugin config on this host: its environment and where variables come from (default: base only, the process environment). */
  config?: PluginConfigsOptions;
}
