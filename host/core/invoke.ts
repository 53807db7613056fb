/**
 * The one path every run takes, whatever started it (HTTP, CLI, schedule,
 * a plugin's `invoke`, hooks, event deliveries, routes, contract calls and
 * replays): look the capability up once, check the input against its schema,
 * resolve the limits once, record the run as `running` with its config
 * fingerprint, call the sandbox with the per-call host context, check the
 * output when asked, record how it ended, publish `run.finished` or
 * `run.failed`, and count it in the metrics.
 * @module
 */
import { Tape, tapeUnreplayable } from "../capabilities/tape.ts";
import { HostError } from "../errors.ts";
import { hookExport, hookRunName, type Lifecycles } from "../lifecycle/mod.ts";
import type { CallResult, HostCall, Limits } from "../sandbox/mod.ts";
import { type RunStart, type Store, ulid } from "../store/mod.ts";
import { determinismOf, usedEntropy } from "./determinism.ts";
import { jsonShapeProblem } from "./json-shape.ts";
import { recordedLimits, resolveLimits } from "./limits.ts";
import type { RunMetrics } from "./metrics.ts";
import type { InvokeRequest, InvokeResult, LoadedPlugin, RunError } from "./types.ts";
import { compileJsonSchema, type SchemaIssue } from "./validate.ts";

/** What `invokeLoaded` needs of its host. */
export interface InvokeDeps {
  store: Store;
  /** The operator's caps on any run's limits. */
  policy: Readonly<Limits>;
  metrics: RunMetrics;
  /** The plugins' lifecycles: the circuit breaker admits each run and counts how it ended. */
  lifecycle?: Pick<Lifecycles, "admit" | "settle">;
  /** The effective config of each run in progress, by run id (what `config_get` answers). */
  runConfigs?: Map<string, Record<string, unknown>>;
  /** Told of every run once its records are written (e.g. evidence triggers); must not throw. */
  ended?: ((run: RunEnded) => void) | undefined;
}

/** A run that ended, as `InvokeDeps.ended` hears of it. */
export interface RunEnded {
  runId: string;
  pluginId: string;
  trigger: InvokeRequest["trigger"];
  ok: boolean;
  /** The error class of a failed run. */
  errorClass: string | null;
  /** Resolves once the run's records are durable. */
  written: Promise<unknown>;
}

/** What a request runs: the export, and the capability (with its schemas) when it names one. */
interface Target {
  capability: string | null;
  export: string;
  input: Record<string, unknown> | undefined;
  output: Record<string, unknown> | undefined;
  /** False for an export named directly (no schema applies). */
  isCapability: boolean;
}

const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Runs `request` on a loaded plugin. Resolves with the output or a
 * classified error and the run id; rejects with a HostError only for
 * requests that never became a run: `not_found` (capability), `invalid_json`
 * and `schema_mismatch` (input), `invalid_input` (limits).
 */
export async function invokeLoaded(
  deps: InvokeDeps,
  loaded: LoadedPlugin,
  request: InvokeRequest,
  config: Record<string, unknown> = (loaded.info.manifest.config?.default ?? {}) as Record<
    string,
    unknown
  >,
): Promise<InvokeResult> {
  const { info, sandbox } = loaded;
  const target = checkedTarget(loaded, request);
  let limits: Limits;
  try {
    limits = resolveLimits(sandbox.limits, request.limits, deps.policy);
  } catch (error) {
    throw new HostError("invalid_input", `Invalid limits: ${messageOf(error)}`);
  }
  const name = target.capability ?? target.export;
  // The run's determinism and tape (docs/replay.md): a replay brings the original's.
  const mode = request.replay?.mode ??
    determinismOf(info.manifest, target.capability, loaded.determinism);
  const seed = request.replay?.seed ?? randomSeed();
  const tape = request.replay ? Tape.replay(request.replay.tape) : Tape.record();
  // The breaker and the lifecycle state gate every run here, whatever its trigger
  // (throws plugin_suspended or not_ready before any run is recorded).
  const ticket = deps.lifecycle?.admit(info.id, request.hook);
  let outcome: string | undefined | null = null;
  const series = deps.metrics.started({
    plugin: info.id,
    capability: name,
    trigger: request.trigger,
  });
  const begun = performance.now();
  let fuel = 0;
  let failed: string | undefined = "host_error";
  const runId = request.runId ?? ulid();
  try {
    const applied = recordedLimits(limits);
    const started = deps.store.runs.start({
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
      // The fingerprint covers the effective config (default <- stored <- environment, see
      // plugin-configs.ts) and the limits applied: two runs that share it ran alike.
      config: {
        config: config as NonNullable<RunStart["config"]>,
        limits: applied,
      },
      limits: applied,
    });
    const call: HostCall = {
      runId,
      pluginId: info.id,
      capability: name,
      grants: info.manifest.permissions ?? {},
      determinism: mode,
      tape,
      seed,
    };
    deps.runConfigs?.set(runId, config);
    let result: CallResult & { error?: RunError } = await callWithHooks(
      loaded,
      call,
      // Read at call time: a sandbox restarted meanwhile (a config change) takes the run, while
      // the old one drains the calls already inside it.
      () => loaded.sandbox.call(target.export, request.input, call, limits),
    );
    if (result.ok && (request.output ?? "none") !== "none") {
      const error = checkOutput(
        info.id,
        name,
        request.output === "schema" ? target.output : undefined,
        result.output,
      );
      if (error) result = { ok: false, error, usage: result.usage };
    }
    // A replay that left its tape failed because of it, whatever the plugin did next (trapped in
    // Extism's http_request, which has no error answer, or gave up on a replay_diverged answer).
    if (!result.ok && tape.diverged !== null) {
      const { message } = result.error;
      result = {
        ...result,
        error: {
          class: "replay_diverged",
          message: message.includes(tape.diverged)
            ? tape.diverged
            : `${tape.diverged}; the call then failed with ${result.error.class}: ${message}`,
        },
      };
    }
    fuel = result.usage.fuel;
    failed = result.ok ? undefined : result.error.class;
    outcome = failed;
    const usage = {
      fuel: result.usage.fuel,
      memoryPages: result.usage.memoryPages,
      durationMs: Math.round(result.usage.durationMs),
    };
    const finished = result.ok
      ? deps.store.runs.finish(runId, {
        status: "ok",
        output: result.output as Uint8Array<ArrayBuffer>,
        usage,
      })
      : deps.store.runs.finish(runId, {
        status: "error",
        errorClass: result.error.class,
        errorMessage: result.error.message,
        usage,
      });
    const payload = {
      capability: target.capability,
      export: target.export,
      trigger: request.trigger,
      ...(request.hook ? { hook: request.hook } : {}),
      usage,
    };
    // A shutdown marked it interrupted (with its event) before ending its call: that is its end.
    const interrupted = !result.ok && deps.store.runs.wasInterrupted(runId);
    const event = interrupted ? Promise.resolve(null) : deps.store.events.append({
      type: result.ok ? "run.finished" : "run.failed",
      level: result.ok ? "info" : "warn",
      source: "host",
      pluginId: info.id,
      runId,
      correlationId: request.correlationId ?? null,
      payload: result.ok
        ? payload
        : { ...payload, error: { class: result.error.class, message: result.error.message } },
    });
    const replayable = deps.store.replay.record({
      runId,
      mode,
      seed,
      entropy: usedEntropy(info.manifest, mode, tape.entries.map((e) => e.fn)),
      config: config as NonNullable<RunStart["config"]>,
      tape: tape.entries as unknown as Record<string, unknown>[],
      unreplayable: tape.incomplete ?? tapeUnreplayable(tape.entries),
    });
    const written = Promise.all([started, finished, event, replayable]);
    if (request.durable) await written;
    else replayable.catch((error) => reportLost(deps, info.id, runId, error));
    if (!interrupted) {
      deps.ended?.({
        runId,
        pluginId: info.id,
        trigger: request.trigger,
        ok: result.ok,
        errorClass: result.ok ? null : result.error.class,
        written: written.catch(() => undefined),
      });
    }
    return result.ok
      ? { runId, ok: true, output: result.output, usage: result.usage }
      : { runId, ok: false, error: result.error, usage: result.usage };
  } catch (error) {
    if (error instanceof HostError) failed = error.code;
    throw error;
  } finally {
    deps.lifecycle?.settle(ticket, outcome);
    deps.runConfigs?.delete(runId);
    deps.metrics.ended(series, (performance.now() - begun) / 1000, fuel, failed);
  }
}

/**
 * The export a request runs and the capability it is recorded under. A name
 * that is no capability may still name an export when `allowExport` is set
 * (the CLI's `host call`); the run then records the capability that maps to
 * that export, if any.
 */
/**
 * The checks a request fails before it becomes a run (capability or hook,
 * JSON, input schema), without running it: callers that answer before the run
 * starts (an async HTTP call's 202) ask here, so the rules stay in one place.
 */
export function checkRequest(loaded: LoadedPlugin, request: InvokeRequest): void {
  checkedTarget(loaded, request);
}

/** What `request` runs, after its input passed the capability's schema. */
function checkedTarget(loaded: LoadedPlugin, request: InvokeRequest): Target {
  const target = resolveTarget(loaded, request);
  if (target.isCapability) {
    checkInput(
      loaded.info.id,
      request.capability,
      target.input,
      request.input,
      request.requireJson,
    );
  }
  return target;
}

function resolveTarget(loaded: LoadedPlugin, request: InvokeRequest): Target {
  if (request.hook !== undefined) {
    const exported = hookExport(loaded.info.manifest, request.hook);
    if (exported === undefined) {
      throw HostError.refusal(
        "not_found",
        `Plugin '${loaded.info.id}' declares no ${request.hook} hook (manifest hooks.${request.hook})`,
      );
    }
    // A hook is an export called directly: no schema; recorded as capability `hook:<name>`.
    return {
      capability: hookRunName(request.hook),
      export: exported,
      input: undefined,
      output: undefined,
      isCapability: false,
    };
  }
  const capabilities = loaded.info.manifest.capabilities;
  const capability = Object.hasOwn(capabilities, request.capability)
    ? capabilities[request.capability]
    : undefined;
  if (capability) {
    return {
      capability: request.capability,
      export: capability.export,
      input: capability.input,
      output: capability.output,
      isCapability: true,
    };
  }
  if (request.allowExport && loaded.sandbox.exports.includes(request.capability)) {
    const mapped = Object.entries(capabilities).find(([, c]) => c.export === request.capability);
    return {
      capability: mapped?.[0] ?? null,
      export: request.capability,
      input: undefined,
      output: mapped?.[1].output,
      isCapability: false,
    };
  }
  const known = Object.keys(capabilities).join(", ") || "none";
  throw HostError.refusal(
    "not_found",
    `Plugin '${loaded.info.id}' has no capability '${request.capability}' (it has: ${known})`,
  );
}

/**
 * Throws `invalid_json` or `schema_mismatch` (with the issues as `errors`).
 * The input is parsed when the schema constrains it or the caller speaks JSON
 * (`requireJson`); a schema that accepts everything (none, or `{}`) costs
 * nothing otherwise. An empty input is no input: nothing to check (HTTP refuses
 * an empty body before it gets here; the CLI sends one when no --input is given).
 */
function checkInput(
  pluginId: string,
  capability: string,
  schema: Record<string, unknown> | undefined,
  input: Uint8Array,
  requireJson: boolean | undefined,
): void {
  if (input.byteLength === 0) return;
  const constrains = constraining(schema);
  if (!constrains && !requireJson) return;
  // The plugin gets these bytes, not what the host parsed: a byte order mark the decoder would
  // drop, or a key given twice (the parser keeps the last), would have the schema check a
  // value other than the plugin's.
  if (input[0] === 0xef && input[1] === 0xbb && input[2] === 0xbf) {
    throw HostError.refusal(
      "invalid_json",
      "The input starts with a byte order mark (EF BB BF): send JSON without it",
    );
  }
  let value: unknown;
  let text: string;
  try {
    text = decoder.decode(input);
    value = JSON.parse(text);
  } catch (error) {
    throw HostError.refusal("invalid_json", `The input is not valid JSON: ${messageOf(error)}`);
  }
  const problem = jsonShapeProblem(text, value);
  if (problem !== undefined) throw HostError.refusal("invalid_json", `The input ${problem}`);
  if (!constrains) return;
  const issues = compileJsonSchema(schema)(value);
  if (issues.length > 0) {
    throw HostError.refusal(
      "schema_mismatch",
      `The input does not match the input schema of ${pluginId}/${capability}: ${describe(issues)}`,
      { extensions: { errors: issues } },
    );
  }
}

/** False for a schema every JSON value matches: none, or `{}`. */
function constraining(schema: Record<string, unknown> | undefined): boolean {
  return schema !== undefined && Object.keys(schema).length > 0;
}

/** An `output_invalid` error when the output is not JSON or (given a schema) off it. */
function checkOutput(
  pluginId: string,
  capability: string,
  schema: Record<string, unknown> | undefined,
  output: Uint8Array,
): RunError | undefined {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(output));
  } catch {
    return {
      class: "output_invalid",
      message: `Plugin '${pluginId}' returned output that is not JSON from '${capability}'`,
    };
  }
  const issues = compileJsonSchema(schema)(value);
  if (issues.length === 0) return undefined;
  return {
    class: "output_invalid",
    message:
      `Plugin '${pluginId}' returned output that does not match the output schema of '${capability}': ${
        describe(issues)
      }`,
    errors: issues,
  };
}

/** Seed bytes drawn from the CSPRNG in bulk: one system call per 256 runs, not one per run. */
const seedBytes = new Uint8Array(16 * 256);
let seedAt = seedBytes.length;
const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, "0"));

/** 32 hex digits from the system's CSPRNG: the run's seed (docs/replay.md). */
function randomSeed(): string {
  if (seedAt === seedBytes.length) {
    crypto.getRandomValues(seedBytes);
    seedAt = 0;
  }
  let seed = "";
  for (const end = seedAt + 16; seedAt < end; seedAt++) seed += HEX[seedBytes[seedAt]!];
  return seed;
}

/** A replay record that could not be written: said in the event log (the run itself stands). */
function reportLost(deps: InvokeDeps, pluginId: string, runId: string, error: unknown): void {
  void deps.store.events.append({
    type: "store.write_failed",
    level: "error",
    source: "host",
    pluginId,
    runId,
    payload: { what: "run_replay", message: messageOf(error) },
  }).catch(() => {});
}

function describe(issues: SchemaIssue[]): string {
  return issues.slice(0, 5).map((i) => `${i.path || "(root)"} ${i.message}`).join("; ");
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
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
    const message = messageOf(error);
    await hooks?.afterCall?.(call, { ok: false, error: { class: code, message } }).catch(() => {});
    return { ok: false, error: { class: code, message }, usage: noUsage };
  }
  const result = await run();
  let replaced;
  try {
    replaced = await hooks?.afterCall?.(
      call,
      result.ok ? { ok: true, output: result.output } : { ok: false, error: result.error },
    );
  } catch (error) {
    replaced = { class: "host_error" as const, message: messageOf(error) };
  }
  if (!replaced) return result;
  // A new output only replaces a successful call's (the host redacted secret values in it).
  if ("output" in replaced) return result.ok ? { ...result, output: replaced.output } : result;
  return { ok: false, error: replaced, usage: result.usage };
}
