/**
 * RunRecords as callers start and finish them and as the store returns them.
 * schemas/run-record.schema.json is generated from `RunRecord`.
 * @module
 */
import { z } from "zod";
import { determinismModes } from "./schema/replay.ts";
import { runStatuses, runTriggers } from "./schema/runs.ts";

/** What started a run. */
export const RunTrigger = z.enum(runTriggers);
export type RunTrigger = z.infer<typeof RunTrigger>;
/** Where a run stands. */
export const RunStatus = z.enum(runStatuses);
export type RunStatus = z.infer<typeof RunStatus>;

/** Limits applied to a run: numbers by name (memoryMaxPages, timeoutMs, fuel, ...). */
export const RunLimits = z.record(z.string(), z.number());
export type RunLimits = z.infer<typeof RunLimits>;

/** Resources a run used; each is null when the sandbox could not measure it. */
export const RunUsage = z.object({
  fuel: z.number().int().nonnegative().nullable(),
  memoryPages: z.number().int().nonnegative().nullable(),
  durationMs: z.number().int().nonnegative().nullable(),
});
export type RunUsage = z.infer<typeof RunUsage>;

const Digest = z.string().regex(/^sha256:[0-9a-f]{64}$/);
const Id = z.string().min(1).max(200);
const Bytes = z.custom<Uint8Array>((value) => value instanceof Uint8Array, {
  message: "must be bytes (a Uint8Array)",
});

/** What a caller passes to `store.runs.start`. */
export const RunStart = z.object({
  /** A run id chosen by the caller (e.g. to answer with it first); default a new ULID. */
  id: Id.optional(),
  parentRunId: Id.nullish(),
  pluginId: Id,
  pluginVersion: z.string().max(100).nullish(),
  /** Digest of the module bytes (any `alg:hex` form the artifact code uses). */
  moduleDigest: z.string().min(1).max(200),
  capability: z.string().max(200).nullish(),
  export: z.string().min(1).max(200),
  trigger: RunTrigger,
  correlationId: Id.nullish(),
  input: Bytes,
  /** The effective config; its fingerprint is recorded, never the config itself. */
  config: z.json().default({}),
  limits: RunLimits.default({}),
});
export type RunStart = z.input<typeof RunStart>;

/** What a caller passes to `store.runs.finish`. */
export const RunFinish = z.discriminatedUnion("status", [
  z.object({
    status: z.literal("ok"),
    output: Bytes,
    usage: RunUsage.partial().default({}),
  }),
  z.object({
    status: z.literal("error"),
    /** The error class: an ErrorCode such as plugin_error, fuel_exhausted, memory_limit, timeout. */
    errorClass: z.string().min(1).max(100),
    errorMessage: z.string().max(10_000),
    output: Bytes.optional(),
    usage: RunUsage.partial().default({}),
  }),
]);
export type RunFinish = z.input<typeof RunFinish>;

/**
 * How a run stands to replay, from its replay record (docs/replay.md): never
 * the config snapshot nor the tape, so no recorded value shows (and the
 * record holds no secret value anyway).
 */
export const RunDeterminism = z.object({
  mode: z.enum(determinismModes).describe("The determinism mode the run had"),
  seed: z.string().regex(/^[0-9a-f]{32}$/).describe("The per-run seed (32 hex digits)"),
  entropy: z.array(z.string()).describe(
    "Entropy sources the plugin saw or used: wasi.clock, wasi.random, http, invoke, secret, kv",
  ),
  unreplayable: z.string().nullable().describe(
    "Why its record cannot be replayed (a secret read, the tape cut), or null",
  ),
});
export type RunDeterminism = z.infer<typeof RunDeterminism>;

/** A stored RunRecord. */
export const RunRecord = z.object({
  id: z.string(),
  parentRunId: z.string().nullable(),
  pluginId: z.string(),
  pluginVersion: z.string().nullable(),
  moduleDigest: z.string(),
  capability: z.string().nullable(),
  export: z.string(),
  trigger: RunTrigger,
  correlationId: z.string().nullable(),
  inputDigest: Digest,
  inputSize: z.number().int().nonnegative(),
  input: z.string().nullable().describe(
    "The input as base64, or null when it was larger than the configured bound",
  ),
  outputDigest: Digest.nullable(),
  outputSize: z.number().int().nonnegative().nullable(),
  configFingerprint: Digest.describe("SHA-256 of the canonical JSON of the effective config"),
  limits: RunLimits,
  usage: RunUsage,
  status: RunStatus,
  error: z.object({ class: z.string(), message: z.string() }).nullable(),
  startedAt: z.iso.datetime(),
  endedAt: z.iso.datetime().nullable(),
  host: z.object({ name: z.string(), pid: z.number().int() }).describe("Host process that ran it"),
  determinism: RunDeterminism.nullable().optional().describe(
    "Only on one run (GET /v1/runs/{id}, host runs show): its determinism mode, seed and entropy " +
      "sources; null while it runs, or when it has no replay record (interrupted, or older than them)",
  ),
}).meta({ title: "plughost run record", description: "One plugin invocation" });
export type RunRecord = z.infer<typeof RunRecord>;
