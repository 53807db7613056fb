/**
 * The public types of the plugin runtime: what callers (CLI, HTTP, scheduler,
 * host functions) ask for and get back.
 * @module
 */
import type { ErrorCode } from "../errors.ts";
import type { Manifest } from "../manifest/mod.ts";
import type {
  CallError,
  HostCall,
  HostFunction,
  Limits,
  SandboxLogger,
  Usage,
} from "../sandbox/mod.ts";
import type { RunTrigger, Store } from "../store/mod.ts";
import type { TrustStore } from "../trust/mod.ts";

/** One capability call. */
export interface InvokeRequest {
  pluginId: string;
  capability: string;
  /** The input bytes (UTF-8 JSON for capabilities). */
  input: Uint8Array;
  trigger: RunTrigger;
  parentRunId?: string | undefined;
  correlationId?: string | undefined;
  /** Per-call limits; the plugin's and the host's caps still apply. */
  limits?: Partial<Limits> | undefined;
  /** Wait until the RunRecord is durable before resolving (HTTP answers do). */
  durable?: boolean | undefined;
  /** Run id to use (default: a new ULID). */
  runId?: string | undefined;
  /** `capability` may also name a module export directly (the CLI's `host call`). */
  allowExport?: boolean | undefined;
}

/** How a capability call ended. Never thrown for plugin behaviour. */
export type InvokeResult =
  | { runId: string; ok: true; output: Uint8Array; usage: Usage }
  | { runId: string; ok: false; error: { class: ErrorCode; message: string }; usage: Usage };

/** A plugin as the runtime knows it. */
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
}

/** The host functions a plugin gets, decided from its manifest. */
export interface HostFunctionSet {
  functions: Record<string, HostFunction>;
  /** True when some function is async (the plugin then runs in worker mode). */
  needsWorker: boolean;
  /** Hosts Extism's http_request may reach, and the fetch that enforces it. */
  allowedHosts?: string[];
  fetch?: typeof fetch;
  /** Where the plugin's log lines go (default: RuntimeOptions.logger, else the event log). */
  logger?: SandboxLogger;
  /** Runs before each call of the plugin (e.g. to load its KV view); a throw fails the run. */
  beforeCall?: (call: HostCall) => Promise<void>;
  /**
   * Runs after each call, with how it ended (e.g. to commit or drop the call's
   * KV writes). A returned error replaces the outcome: the run fails with it.
   */
  afterCall?: (call: HostCall, outcome: CallOutcome) => Promise<CallError | null>;
}

/** How a call ended, as `afterCall` sees it. */
export type CallOutcome = { ok: true } | { ok: false; error: CallError };

/** What a provider may use of the host it serves. */
export interface HostFunctionHost {
  store: Store;
  /** Calls another plugin's capability (the runtime's own `invoke`). */
  invoke(request: InvokeRequest): Promise<InvokeResult>;
}

/** Builds a plugin's host functions (see host/capabilities). */
export type HostFunctionProvider = (manifest: Manifest, host: HostFunctionHost) => HostFunctionSet;

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
  /** Compiled-module cache directory (openHost passes `paths.cache`); default none. */
  cacheDir?: string;
}
