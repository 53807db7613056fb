/**
 * What a host-function provider gives the plugin core, and the little it may
 * use of the host it serves. Defined here, where host functions are made, so
 * the core (host/runtime) depends on capabilities and never the reverse.
 * @module
 */
import type { Manifest } from "../manifest/mod.ts";
import type {
  CallError,
  CallResult,
  HostCall,
  HostFunction,
  Rerun,
  SandboxLogger,
} from "../sandbox/mod.ts";
import type { Store } from "../store/mod.ts";

/** The host functions a plugin gets, decided from its manifest. */
export interface HostFunctionSet {
  functions: Record<string, HostFunction>;
  /** True when some function is async (the plugin then runs in worker mode). */
  needsWorker: boolean;
  /** Hosts Extism's http_request may reach, and the fetch that enforces it. */
  allowedHosts?: string[];
  fetch?: typeof fetch;
  /** Where the plugin's log lines go (default: the host's logger, else the event log). */
  logger?: SandboxLogger;
  /** Runs before each call of the plugin (e.g. to load its KV view); a throw fails the run. */
  beforeCall?: (call: HostCall) => Promise<void>;
  /**
   * Runs after each call, with how it ended (e.g. to commit or drop the call's
   * KV writes). A returned error replaces the outcome: the run fails with it;
   * a returned `{ output }` replaces a successful call's output (secret values redacted).
   */
  afterCall?: (call: HostCall, outcome: CallOutcome) => Promise<CallError | CallOutput | null>;
  /** How the sandbox re-runs a call that outgrew its main-thread slice (docs/sandbox.md). */
  rerun?: Rerun;
  /** The operator's determinism override for every capability of the plugin (docs/replay.md). */
  determinism?: "strict" | "best-effort";
}

/** How a call ended, as `afterCall` sees it. */
export type CallOutcome = { ok: true; output: Uint8Array } | { ok: false; error: CallError };

/** A replacement output `afterCall` returns for a successful call. */
export interface CallOutput {
  output: Uint8Array;
}

/** A child run a plugin starts through the `invoke` host function (trigger `invoke`). */
export interface ChildRunRequest {
  pluginId: string;
  capability: string;
  /** UTF-8 JSON input. */
  input: Uint8Array;
  /** The caller's run. */
  parentRunId: string;
  /** The child's run id, chosen by the caller so it can track the chain. */
  runId: string;
}

/** How a child run ended: the sandbox's result plus the run id. */
export type ChildRunResult = CallResult & { runId: string };

/** What a provider may use of the host it serves. */
export interface HostFunctionHost {
  store: Store;
  /**
   * Starts a child run through the host's one invoke (input validated, run
   * recorded, metrics counted). Rejects when it never became a run: a
   * HostError `not_found`, `conflict` (disabled), `invalid_json` or
   * `schema_mismatch`.
   */
  invoke(request: ChildRunRequest): Promise<ChildRunResult>;
  /** The effective plugin config of a run in progress (what `config_get` answers), by run id. */
  config?(runId: string): Record<string, unknown> | undefined;
  /**
   * Whether a plugin of this id is loaded or installed now, answered from
   * memory (event namespaces: capabilities/events.ts).
   */
  known?(pluginId: string): boolean;
}

/** Builds a plugin's host functions (see host/capabilities/provider.ts). */
export type HostFunctionProvider = (manifest: Manifest, host: HostFunctionHost) => HostFunctionSet;
