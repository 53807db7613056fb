/**
 * What the capability host functions share: the store, the secret provider,
 * the policy, the runs in progress and their KV views.
 * @module
 */
import { HostError } from "../errors.ts";
import type { HostCall, HostFunction } from "../sandbox/mod.ts";
import type { Store } from "../store/mod.ts";
import { errorResult } from "./abi.ts";
import { callGrants, type Grants, type NarrowPermissions } from "./grants.ts";
import type { KvView } from "./kv-view.ts";
import type { CapabilityPolicy } from "./policy.ts";
import type { RunRegistry } from "./runs.ts";
import type { SecretProvider } from "./secrets.ts";
import type { ChildRunRequest, ChildRunResult } from "./types.ts";

/** Shared state of one host's capability functions. */
export interface CapabilityContext {
  store: Store;
  /** Starts a child run through the host's one invoke. */
  invoke(request: ChildRunRequest): Promise<ChildRunResult>;
  secrets: SecretProvider;
  policy: CapabilityPolicy;
  runs: RunRegistry;
  /** KV views of the calls in progress, by run id. */
  views: Map<string, KvView>;
  /** The effective plugin config of a run in progress, by run id. */
  config?: ((runId: string) => Record<string, unknown> | undefined) | undefined;
  /** The operator policy's narrowing of grants (hosts, topics, secrets), if any. */
  narrow?: NarrowPermissions | undefined;
  /**
   * Per plugin id, the secret names it is granted (to read or to have
   * injected): their values are redacted from everything the plugin writes.
   */
  secretNames: Map<string, ReadonlySet<string>>;
  /**
   * Whether a plugin of this id is loaded or installed: a publish must not
   * reach into the event namespace of one whose id extends the publisher's
   * (events.ts), running or not.
   */
  known(pluginId: string): boolean;
  /** The operator policy's determinism override for a plugin, if any. */
  determinism?: ((pluginId: string) => "strict" | "best-effort" | undefined) | undefined;
}

/** The grants of `call` under the context's policy. */
export function grantsFor(ctx: CapabilityContext, call: HostCall): Grants {
  return callGrants(call, ctx.policy.maxKvQuotaBytes, ctx.narrow);
}

/** Turns a thrown HostError (AbiError included) into the ABI's error result. */
export function toErrorResult(fn: string, error: unknown): Uint8Array {
  if (error instanceof HostError) return errorResult(error.code, error.message);
  return errorResult(
    "host_error",
    `${fn}: ${error instanceof Error ? error.message : String(error)}`,
  );
}

/** A synchronous host function whose throws become error results (never traps). */
export function syncFunction(
  fn: string,
  body: (call: HostCall, input: Uint8Array) => Uint8Array,
): HostFunction {
  return (call, input) => {
    try {
      return body(call, input);
    } catch (error) {
      return toErrorResult(fn, error);
    }
  };
}
