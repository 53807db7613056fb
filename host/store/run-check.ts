/**
 * `RunStart` and `RunFinish` checked by hand for the common case, at a small
 * fraction of zod's cost per run (the host builds these itself on every call).
 * Each returns undefined for anything it does not plainly accept, which then
 * goes through zod (same result, zod's messages): it accepts only what the
 * zod schema accepts and yields what zod would, defaults included.
 * @module
 */
import type { z } from "zod";
import type { RunFinish, RunStart } from "./run-schema.ts";
import { runTriggers } from "./schema/runs.ts";

type StartOut = z.output<typeof RunStart>;
type FinishOut = z.output<typeof RunFinish>;
type UsageOut = FinishOut["usage"];

const TRIGGERS: ReadonlySet<unknown> = new Set(runTriggers);
const DIGEST_MAX = 200;

/** A plainly valid `RunStart` as zod would return it, or undefined. */
export function startFast(spec: unknown): StartOut | undefined {
  if (!isRecord(spec)) return undefined;
  const { id, parentRunId, pluginId, pluginVersion, moduleDigest, capability, correlationId } =
    spec;
  if (id !== undefined && !isId(id)) return undefined;
  if (!isId(pluginId) || !nullish(parentRunId, isId) || !nullish(correlationId, isId)) {
    return undefined;
  }
  if (!nullish(pluginVersion, (v) => typeof v === "string" && v.length <= 100)) return undefined;
  if (!text(moduleDigest, 1, DIGEST_MAX) || !text(spec.export, 1, 200)) return undefined;
  if (!nullish(capability, (v) => typeof v === "string" && v.length <= 200)) return undefined;
  if (!TRIGGERS.has(spec.trigger) || !(spec.input instanceof Uint8Array)) return undefined;
  const config = spec.config === undefined ? {} : spec.config;
  if (!isJson(config, 0)) return undefined;
  const limits = spec.limits === undefined ? {} : spec.limits;
  if (!isRecord(limits) || !Object.values(limits).every(isNumber)) return undefined;
  // zod copies the object, leaves out unknown keys, and keeps optional ones only when present.
  const out: StartOut = {
    pluginId,
    moduleDigest,
    export: spec.export,
    trigger: spec.trigger as StartOut["trigger"],
    input: spec.input,
    config: config as StartOut["config"],
    limits: limits as StartOut["limits"],
  };
  if ("id" in spec) out.id = id as string | undefined;
  if ("parentRunId" in spec) out.parentRunId = parentRunId as string | null | undefined;
  if ("pluginVersion" in spec) out.pluginVersion = pluginVersion as string | null | undefined;
  if ("capability" in spec) out.capability = capability as string | null | undefined;
  if ("correlationId" in spec) out.correlationId = correlationId as string | null | undefined;
  return out;
}

/** A plainly valid `RunFinish` as zod would return it, or undefined. */
export function finishFast(result: unknown): FinishOut | undefined {
  if (!isRecord(result)) return undefined;
  const usage = result.usage === undefined ? {} : result.usage;
  if (!isUsage(usage)) return undefined;
  const output = result.output;
  if (result.status === "ok") {
    if (!(output instanceof Uint8Array)) return undefined;
    return { status: "ok", output, usage };
  }
  if (result.status !== "error") return undefined;
  const { errorClass, errorMessage } = result;
  if (!text(errorClass, 1, 100) || !text(errorMessage, 0, 10_000)) return undefined;
  if (output !== undefined && !(output instanceof Uint8Array)) return undefined;
  const out: FinishOut = { status: "error", errorClass, errorMessage, usage };
  if ("output" in result) out.output = output as Uint8Array | undefined;
  return out;
}

function isUsage(value: unknown): value is UsageOut {
  if (!isRecord(value)) return false;
  for (const key of ["fuel", "memoryPages", "durationMs"] as const) {
    const v = value[key];
    if (v !== undefined && v !== null && !(Number.isSafeInteger(v) && (v as number) >= 0)) {
      return false;
    }
  }
  return true;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function text(value: unknown, min: number, max: number): value is string {
  return typeof value === "string" && value.length >= min && value.length <= max;
}

function isId(value: unknown): value is string {
  return text(value, 1, 200);
}

function nullish(value: unknown, check: (v: unknown) => boolean): boolean {
  return value === undefined || value === null || check(value);
}

function isNumber(value: unknown): boolean {
  return typeof value === "number" && Number.isFinite(value);
}

/** Plain JSON: null, booleans, finite numbers, strings, arrays and plain objects of them. */
function isJson(value: unknown, depth: number): boolean {
  if (value === null || typeof value === "string" || typeof value === "boolean") return true;
  if (typeof value === "number") return Number.isFinite(value);
  if (depth > 64) return false;
  if (Array.isArray(value)) {
    for (const item of value) if (!isJson(item, depth + 1)) return false;
    return true;
  }
  if (!isRecord(value)) return false;
  for (const key in value) if (!isJson(value[key], depth + 1)) return false;
  return true;
}
