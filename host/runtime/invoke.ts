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
import { applyPolicy, type CallResult, type HostCall, type Limits } from "../sandbox/mod.ts";
import type { InvokeRequest, InvokeResult } from "./types.ts";

/** Runs `request` on a loaded plugin. See PluginRuntime.invoke. */
export async function invokeLoaded(
  store: Store,
  loaded: LoadedPlugin,
  request: InvokeRequest,
  policy: Readonly<Limits>,
): Promise<InvokeResult> {
  const { info, sandbox } = loaded;
  const target = resolveTarget(loaded, request);
  const runId = request.runId ?? ulid();
  // What the sandbox will apply: the plugin's limits, then the request's, capped by policy.
  const limits = applyPolicy(request.limits, policy, sandbox.limits);
  const started = store.runs.start({
    id: runId,
    parentRunId: request.parentRunId ?? null,
    pluginId: info.id,
    pluginVersion: info.version,
    moduleDigest: `sha256:${info.digest}`,
    capability: target.capability,
    export: target.export,
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
    capability: target.capability ?? target.export,
    grants: info.manifest.permissions ?? {},
  };
  const result = await callWithHooks(
    loaded,
    call,
    () => sandbox.call(target.export, request.input, call, request.limits),
  );
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
      ? { capability: target.capability, export: target.export, trigger: request.trigger, usage }
      : {
        capability: target.capability,
        export: target.export,
        trigger: request.trigger,
        usage,
        error: result.error,
      },
  });
  if (request.durable) await Promise.all([started, finished, event]);
  return result.ok
    ? { runId, ok: true, output: result.output, usage: result.usage }
    : { runId, ok: false, error: result.error, usage: result.usage };
}

/**
 * The export a request runs and the capability it is recorded under. A name
 * that is no capability may still name an export when `allowExport` is set
 * (the CLI's `host call`); the run then records the capability that maps to
 * that export, if any.
 */
function resolveTarget(
  loaded: LoadedPlugin,
  request: InvokeRequest,
): { capability: string | null; export: string } {
  const capabilities = loaded.info.manifest.capabilities;
  const capability = capabilities[request.capability];
  if (capability) return { capability: request.capability, export: capability.export };
  if (request.allowExport && loaded.sandbox.exports.includes(request.capability)) {
    const mapped = Object.entries(capabilities).find(([, c]) => c.export === request.capability);
    return { capability: mapped?.[0] ?? null, export: request.capability };
  }
  const known = Object.keys(capabilities).join(", ") || "none";
  throw new HostError(
    "not_found",
    `Plugin '${loaded.info.id}' has no capability '${request.capability}' (it has: ${known})`,
  );
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
    replaced = await hooks?.afterCall?.(
      call,
      result.ok ? { ok: true } : {
        ok: false,
        error: result.error,
      },
    );
  } catch (error) {
    replaced = {
      class: "host_error" as const,
      message: error instanceof Error ? error.message : String(error),
    };
  }
  return replaced ? { ok: false, error: replaced, usage: result.usage } : result;
}
