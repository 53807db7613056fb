/**
 * One capability call from start to end: resolve the export, record the run
 * as `running`, call the sandbox with the per-call host context, record how
 * it ended, and publish `run.finished` or `run.failed`.
 * @module
 */
import { HostError } from "../errors.ts";
import { ulid } from "../store/mod.ts";
import type { LoadedPlugin } from "./runtime.ts";
import type { Store } from "../store/mod.ts";
import type { CallResult, HostCall } from "../sandbox/mod.ts";
import type { InvokeRequest, InvokeResult } from "./types.ts";

/** Runs `request` on a loaded plugin. See PluginRuntime.invoke. */
export async function invokeLoaded(
  store: Store,
  loaded: LoadedPlugin,
  request: InvokeRequest,
): Promise<InvokeResult> {
  const { info, sandbox } = loaded;
  const capability = info.manifest.capabilities[request.capability];
  if (!capability) {
    const known = Object.keys(info.manifest.capabilities).join(", ") || "none";
    throw new HostError(
      "not_found",
      `Plugin '${info.id}' has no capability '${request.capability}' (it has: ${known})`,
    );
  }
  const runId = request.runId ?? ulid();
  const limits = { ...sandbox.limits, ...loaded.limits, ...request.limits };
  const started = store.runs.start({
    id: runId,
    parentRunId: request.parentRunId ?? null,
    pluginId: info.id,
    pluginVersion: info.version,
    moduleDigest: `sha256:${info.digest}`,
    capability: request.capability,
    export: capability.export,
    trigger: request.trigger,
    correlationId: request.correlationId ?? null,
    input: request.input as Uint8Array<ArrayBuffer>,
    config: {},
    limits: {
      fuel: Number(limits.fuel),
      memoryPages: limits.memoryPages,
      timeoutMs: limits.timeoutMs,
      maxOutputBytes: limits.maxOutputBytes,
    },
  });
  const call = {
    runId,
    pluginId: info.id,
    capability: request.capability,
    grants: info.manifest.permissions ?? {},
  };
  const result = await callWithHooks(loaded, call, () =>
    sandbox.call(capability.export, request.input, call, request.limits));
  const usage = {
    fuel: result.usage.fuel,
    memoryPages: result.usage.memoryPages,
    durationMs: Math.round(result.usage.durationMs),
  };
  const finished = result.ok
    ? store.runs.finish(runId, {
      status: "ok",
      output: result.output as Uint8Array<ArrayBuffer>,
      usage,
    })
    : store.runs.finish(runId, {
      status: "error",
      errorClass: result.error.class,
      errorMessage: result.error.message,
      usage,
    });
  const event = store.events.append({
    type: result.ok ? "run.finished" : "run.failed",
    level: result.ok ? "info" : "warn",
    source: "host",
    pluginId: info.id,
    runId,
    correlationId: request.correlationId ?? null,
    payload: result.ok
      ? { capability: request.capability, trigger: request.trigger, usage }
      : { capability: request.capability, trigger: request.trigger, usage, error: result.error },
  });
  if (request.durable) await Promise.all([started, finished, event]);
  return result.ok
    ? { runId, ok: true, output: result.output, usage: result.usage }
    : { runId, ok: false, error: result.error, usage: result.usage };
}

/** Runs the host functions' beforeCall/afterCall hooks around a call; a hook's error fails the run. */
async function callWithHooks(
  loaded: LoadedPlugin,
  call: HostCall,
  run: () => Promise<CallResult>,
): Promise<CallResult> {
  const hooks = loaded.hooks;
  const noUsage = { fuel: 0, memoryPages: 0, durationMs: 0 };
  try {
    await hooks?.beforeCall?.(call);
  } catch (error) {
    const code = error instanceof HostError ? error.code : "host_error";
    const message = error instanceof Error ? error.message : String(error);
    await hooks?.afterCall?.(call, { ok: false, error: { class: code, message } }).catch(() => {});
    return { ok: false, error: { class: code, message }, usage: noUsage };
  }
  const result = await run();
  let replaced;
  try {
    replaced = await hooks?.afterCall?.(call, result.ok ? { ok: true } : {
      ok: false,
      error: result.error,
    });
  } catch (error) {
    replaced = {
      class: "host_error" as const,
      message: error instanceof Error ? error.message : String(error),
    };
  }
  return replaced ? { ok: false, error: replaced, usage: result.usage } : result;
}
