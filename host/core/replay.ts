/**
 * Replay (docs/replay.md): re-runs a recorded run through the one invoke
 * (trigger `replay`, parent = the original) with the recorded module, input,
 * limits, mode, seed and host-call tape, and compares the output digest,
 * fuel and outcome. A run that cannot be replayed (input not kept, module not
 * loaded, no replay record, a secret read, a cut tape) is refused with the
 * reason, before any run starts.
 * @module
 */
import { Buffer } from "node:buffer";
import { sha256Id } from "../artifact/mod.ts";
import type { TapeEntry } from "../capabilities/tape.ts";
import { HostError } from "../errors.ts";
import type { ReplayRepository, RunRecord, RunsRepository } from "../store/mod.ts";
import type { CallLimits, InvokeRequest, InvokeResult, PluginInfo } from "./types.ts";

/** What replay needs of a host. */
export interface ReplayDeps {
  runs: RunsRepository;
  /** Where the replay records are (the store's; a test may hand another run's). */
  replay: Pick<ReplayRepository, "get">;
  get(pluginId: string): PluginInfo | undefined;
  invoke(request: InvokeRequest): Promise<InvokeResult>;
}

/** One field that differs between the original run and its replay. */
export interface ReplayDifference {
  field: "outputDigest" | "fuel" | "status" | "errorClass";
  original: string | number | null;
  replay: string | number | null;
}

/** How a replay went. `match` is false when anything in `differences`. */
export interface ReplayReport {
  runId: string;
  replayRunId: string;
  pluginId: string;
  capability: string | null;
  mode: "strict" | "best-effort";
  match: boolean;
  differences: ReplayDifference[];
  original: { status: string; outputDigest: string | null; fuel: number | null };
  replay: { status: string; outputDigest: string | null; fuel: number | null };
}

/** Replays run `runId`; throws HostError `not_found` or `not_replayable` when it cannot. */
export async function replayRun(deps: ReplayDeps, runId: string): Promise<ReplayReport> {
  const run = await deps.runs.get(runId);
  if (!run) throw new HostError("not_found", `No run '${runId}'`);
  const refuse = (why: string): never => {
    throw new HostError("not_replayable", `Run ${runId} cannot be replayed: ${why}`, {
      details: { runId, reason: why },
    });
  };
  if (run.status === "running") refuse("it is still running");
  if (run.status === "interrupted") refuse("it was interrupted, so there is no outcome to compare");
  const recorded = await deps.replay.get(runId);
  if (!recorded) {
    refuse("it has no replay record (it ran before replay records existed, or the write failed)");
  }
  if (recorded!.unreplayable) refuse(recorded!.unreplayable);
  if (run.input === null) {
    refuse(`its input (${run.inputSize} bytes) was larger than the store keeps`);
  }
  const plugin = deps.get(run.pluginId);
  if (!plugin) refuse(`plugin '${run.pluginId}' is not loaded`);
  if (`sha256:${plugin!.digest}` !== run.moduleDigest) {
    refuse(
      `module ${run.moduleDigest} is no longer the loaded ${run.pluginId} ` +
        `(loaded: ${plugin!.version}, sha256:${plugin!.digest}); load that module to replay`,
    );
  }
  const input = new Uint8Array(Buffer.from(run.input!, "base64"));
  if (sha256Id(input) !== run.inputDigest) refuse("the stored input does not match its digest");
  const result = await deps.invoke({
    pluginId: run.pluginId,
    capability: run.capability ?? run.export,
    allowExport: run.capability === null,
    input,
    trigger: "replay",
    parentRunId: run.id,
    correlationId: run.correlationId ?? undefined,
    limits: callLimits(run),
    durable: true,
    replay: {
      mode: recorded!.mode,
      seed: recorded!.seed,
      tape: recorded!.tape as unknown as TapeEntry[],
      config: recorded!.config as Record<string, unknown>,
    },
  });
  const replayed = (await deps.runs.get(result.runId))!;
  return compare(run, replayed, recorded!.mode);
}

/** The limits the original ran with, as a call may ask for them (memory is the module's). */
function callLimits(run: RunRecord): CallLimits {
  const limits: Record<string, number> = {};
  for (const [key, value] of Object.entries(run.limits)) {
    if (key !== "memoryMaxPages" && key !== "memoryPages") limits[key] = value;
  }
  return limits as CallLimits;
}

function compare(
  original: RunRecord,
  replayed: RunRecord,
  mode: "strict" | "best-effort",
): ReplayReport {
  const differences: ReplayDifference[] = [];
  const check = (
    field: ReplayDifference["field"],
    a: string | number | null,
    b: string | number | null,
  ) => {
    if (a !== b) differences.push({ field, original: a, replay: b });
  };
  check("status", original.status, replayed.status);
  check("errorClass", original.error?.class ?? null, replayed.error?.class ?? null);
  check("outputDigest", original.outputDigest, replayed.outputDigest);
  check("fuel", original.usage.fuel, replayed.usage.fuel);
  return {
    runId: original.id,
    replayRunId: replayed.id,
    pluginId: original.pluginId,
    capability: original.capability,
    mode,
    match: differences.length === 0,
    differences,
    original: {
      status: original.status,
      outputDigest: original.outputDigest,
      fuel: original.usage.fuel,
    },
    replay: {
      status: replayed.status,
      outputDigest: replayed.outputDigest,
      fuel: replayed.usage.fuel,
    },
  };
}
