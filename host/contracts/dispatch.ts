/**
 * A contract call routed to its providers: the plugins whose manifest
 * `implements` the contract, in priority order (higher first, then by id).
 * `merge` operations call every provider and concatenate their `items`, each
 * tagged `provider: <plugin id>`; `first` operations ask one provider after
 * another until one answers (an answer with `found: false` passes to the
 * next). Every provider call is a run of the host's one invoke, made by the
 * caller's `invoke` function; each output is checked against the contract's
 * output schema, and a provider that fails or answers off the contract is
 * reported in `providers` without failing the others.
 * @module
 */
import { HostError } from "../errors.ts";
import { capabilityFor, type Contract, contractId } from "./definitions.ts";

/** A plugin that implements a contract, and its priority (higher answers first). */
export interface Provider {
  pluginId: string;
  priority: number;
}

/** What dispatch needs to know of a plugin. */
export interface ProviderCandidate {
  id: string;
  state: "enabled" | "disabled";
  implements: readonly (string | { contract: string; priority?: number | undefined })[];
}

/** The enabled providers of `contract` among `plugins`, highest priority first, then by id. */
export function providersOf(contract: Contract, plugins: readonly ProviderCandidate[]): Provider[] {
  const id = contractId(contract);
  const out: Provider[] = [];
  for (const plugin of plugins) {
    if (plugin.state !== "enabled") continue;
    for (const entry of plugin.implements) {
      const ref = typeof entry === "string" ? entry : entry.contract;
      if (ref !== id) continue;
      const priority = typeof entry === "string" ? 0 : entry.priority ?? 0;
      out.push({ pluginId: plugin.id, priority });
    }
  }
  return out.sort((a, b) => b.priority - a.priority || a.pluginId.localeCompare(b.pluginId));
}

/** How one provider's call ended. */
export type ProviderOutcome =
  | { id: string; runId: string; ok: true }
  | { id: string; runId: string | null; ok: false; error: { class: string; message: string } };

/** One provider call: resolves with the run id and output bytes or an error. */
export type ContractCall = (
  pluginId: string,
  capability: string,
  input: Uint8Array,
) => Promise<
  | { runId: string; ok: true; output: Uint8Array }
  | { runId: string; ok: false; error: { class: string; message: string } }
>;

/** The answer of a contract call. */
export type ContractAnswer =
  | {
    contract: string;
    operation: string;
    mode: "merge";
    items: Record<string, unknown>[];
    providers: ProviderOutcome[];
  }
  | {
    contract: string;
    operation: string;
    mode: "first";
    /** The provider that answered, or null when every one said `found: false`. */
    provider: string | null;
    output: unknown;
    providers: ProviderOutcome[];
  };

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Calls `operation` of `contract` on `providers` with `input` (checked
 * against the contract's input schema first: `schema_mismatch` names the
 * field). Throws `not_found` for an unknown operation or no provider, and
 * `providers_failed` when every provider failed.
 */
export async function dispatchContract(
  contract: Contract,
  operation: string,
  input: unknown,
  providers: readonly Provider[],
  call: ContractCall,
): Promise<ContractAnswer> {
  const id = contractId(contract);
  const op = Object.hasOwn(contract.operations, operation)
    ? contract.operations[operation]
    : undefined;
  if (op === undefined) {
    throw new HostError(
      "not_found",
      `Contract ${id} has no operation '${operation}' (it has: ${
        Object.keys(contract.operations).join(", ")
      })`,
    );
  }
  const parsed = op.input.safeParse(input);
  if (!parsed.success) {
    const errors = parsed.error.issues.map((i) => ({
      path: `/${i.path.join("/")}`,
      message: i.message,
    }));
    throw new HostError(
      "schema_mismatch",
      `The input does not match ${id} ${operation}: ${
        errors.map((e) => `${e.path} ${e.message}`).join("; ")
      }`,
      { extensions: { errors } },
    );
  }
  if (providers.length === 0) {
    throw new HostError(
      "not_found",
      `No enabled plugin implements ${id}: install one whose manifest has "implements": ["${id}"]`,
    );
  }
  const capability = capabilityFor(contract, operation);
  const bytes = encoder.encode(JSON.stringify(parsed.data));
  const one = async (provider: Provider) => {
    const result = await call(provider.pluginId, capability, bytes).catch((error: unknown) => ({
      runId: null,
      ok: false as const,
      error: {
        class: error instanceof HostError ? error.code : "host_error",
        message: error instanceof Error ? error.message : String(error),
      },
    }));
    if (!result.ok) {
      return { outcome: { id: provider.pluginId, ...result } satisfies ProviderOutcome };
    }
    let value: unknown;
    try {
      value = JSON.parse(decoder.decode(result.output));
    } catch {
      value = undefined;
    }
    const checked = op.output.safeParse(value);
    if (!checked.success) {
      const issue = checked.error.issues[0];
      return {
        outcome: {
          id: provider.pluginId,
          runId: result.runId,
          ok: false,
          error: {
            class: "output_invalid",
            message: `${provider.pluginId}/${capability} answered off ${id} ${operation}: ` +
              `/${issue?.path.join("/") ?? ""} ${issue?.message ?? "is not JSON"}`,
          },
        } satisfies ProviderOutcome,
      };
    }
    return {
      outcome: { id: provider.pluginId, runId: result.runId, ok: true } satisfies ProviderOutcome,
      value: checked.data as Record<string, unknown>,
    };
  };
  const failedAll = (outcomes: ProviderOutcome[]) =>
    new HostError(
      "providers_failed",
      `Every provider of ${id} ${operation} failed: ${
        outcomes.map((o) => `${o.id}: ${o.ok ? "ok" : `${o.error.class}: ${o.error.message}`}`)
          .join("; ")
      }`,
      { extensions: { providers: outcomes } },
    );
  if (op.mode === "merge") {
    // Providers run concurrently: each is its own run, limited by the host like any other.
    const results = await Promise.all(providers.map(one));
    const outcomes = results.map((r) => r.outcome);
    if (outcomes.every((o) => !o.ok)) throw failedAll(outcomes);
    const items: Record<string, unknown>[] = [];
    for (const r of results) {
      const list = (r.value?.items ?? []) as Record<string, unknown>[];
      for (const item of list) items.push({ ...item, provider: r.outcome.id });
    }
    return { contract: id, operation, mode: "merge", items, providers: outcomes };
  }
  const outcomes: ProviderOutcome[] = [];
  for (const provider of providers) {
    const r = await one(provider);
    outcomes.push(r.outcome);
    if (r.value !== undefined && r.value.found !== false) {
      return {
        contract: id,
        operation,
        mode: "first",
        provider: provider.pluginId,
        output: r.value,
        providers: outcomes,
      };
    }
  }
  if (outcomes.every((o) => !o.ok)) throw failedAll(outcomes);
  return {
    contract: id,
    operation,
    mode: "first",
    provider: null,
    output: { found: false },
    providers: outcomes,
  };
}
