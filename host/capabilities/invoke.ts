/**
 * `invoke`: another plugin's capability, when `permissions.invoke` lists
 * `plugin/capability`. The callee runs with its own grants and limits through
 * the host's one invoke (trigger `invoke`, a child RunRecord with the
 * caller's run as parent, the callee's input schema checked there); cycles
 * and chains deeper than the policy allows are refused. Async, so a plugin
 * granted `invoke` runs in worker mode.
 * @module
 */
import { z } from "zod";
import { HostError } from "../errors.ts";
import type { HostCall, HostFunction } from "../sandbox/mod.ts";
import { ulid } from "../store/mod.ts";
import { errorResult, okResult, parseRequest, wellFormed } from "./abi.ts";
import { denied } from "./audit.ts";
import { type CapabilityContext, grantsFor, toErrorResult } from "./context.ts";
import { knownSecrets, redactJson } from "./redact.ts";

const InvokeRequest = z.object({
  plugin: wellFormed,
  capability: wellFormed,
  input: z.unknown().optional(),
});

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** The `invoke` host function: async when `async` (the plugin has invoke grants), else deny-only. */
export function invokeFunctions(
  ctx: CapabilityContext,
  async: boolean,
): Record<string, HostFunction> {
  if (!async) {
    return {
      invoke: (call, input) => {
        try {
          const req = parseRequest("invoke", input, InvokeRequest);
          return refuse(ctx, call, `${req.plugin}/${req.capability}`);
        } catch (error) {
          return toErrorResult("invoke", error);
        }
      },
    };
  }
  return {
    invoke: async (call, input) => {
      try {
        return await invoke(ctx, call, input);
      } catch (error) {
        return toErrorResult("invoke", error);
      }
    },
  };
}

function refuse(ctx: CapabilityContext, call: HostCall, target: string): Uint8Array {
  return denied(
    ctx,
    call,
    "invoke",
    { target },
    `'${target}' is not listed in permissions.invoke`,
  );
}

function activeRun(ctx: CapabilityContext, call: HostCall) {
  const run = ctx.runs.get(call.runId);
  return run ? [run] : [];
}

async function invoke(ctx: CapabilityContext, call: HostCall, input: Uint8Array) {
  const req = parseRequest("invoke", input, InvokeRequest);
  const target = `${req.plugin}/${req.capability}`;
  if (!grantsFor(ctx, call).invoke.has(target)) return refuse(ctx, call, target);
  const chain = ctx.runs.get(call.runId)?.chain ?? [call.pluginId];
  if (chain.includes(req.plugin)) {
    return errorResult(
      "invoke_refused",
      `invoke: '${req.plugin}' is already running in this chain (${
        [...chain, req.plugin].join(" -> ")
      }); cycles are refused`,
    );
  }
  if (chain.length >= ctx.policy.maxInvokeDepth) {
    return errorResult(
      "invoke_refused",
      `invoke: the chain ${chain.join(" -> ")} is already ${chain.length} deep, the host's limit`,
    );
  }
  const runId = ulid();
  ctx.runs.expect(runId, [...chain, req.plugin]);
  let result;
  try {
    result = await ctx.invoke({
      pluginId: req.plugin,
      capability: req.capability,
      // The callee never receives (and its RunRecord never keeps) the caller's secret values.
      input: encoder.encode(
        JSON.stringify(
          redactJson(req.input ?? null, knownSecrets(ctx, call.pluginId, activeRun(ctx, call))),
        ),
      ),
      parentRunId: call.runId,
      runId,
    });
  } catch (error) {
    if (error instanceof HostError && (error.code === "not_found" || error.code === "conflict")) {
      return errorResult(
        "not_found",
        `invoke: '${target}' is not an enabled plugin's capability (${error.message})`,
      );
    }
    if (error instanceof HostError && error.code === "schema_mismatch") {
      // The callee's own input schema, checked by the core as for every trigger.
      return errorResult("invalid_input", `invoke: ${error.message}`);
    }
    throw error;
  } finally {
    ctx.runs.unexpect(runId);
  }
  if (!result.ok) {
    return errorResult(
      result.error.class,
      `invoke: ${target} failed (run ${result.runId}): ${result.error.message}`,
    );
  }
  if (result.output.byteLength === 0) return okResult(null);
  try {
    return okResult(JSON.parse(decoder.decode(result.output)));
  } catch {
    return errorResult(
      "plugin_error",
      `invoke: ${target} (run ${result.runId}) returned output that is not UTF-8 JSON`,
    );
  }
}
