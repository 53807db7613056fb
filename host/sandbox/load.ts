/**
 * `loadPlugin`: the one entry point the CLI, the HTTP server and the
 * scheduler use to run plugin code.
 * @module
 */
import { BULK_IO_FUNCTIONS } from "./bulk-io.ts";
import { messageOf, SandboxAbort } from "./classify.ts";
import { newCallState, now } from "./call-state.ts";
import { type CompiledPlugin, compilePlugin, takeWorkerModule, workerBytesOf } from "./compile.ts";
import { FUEL_SWAP_EXPORT } from "./fuel-accessor.ts";
import type { CallState } from "./call-state.ts";
import type { Instance, InstanceConfig, RunOutcome } from "./instance.ts";
import { applyPolicy, defaultPolicy, type Limits } from "./limits.ts";
import { baselineSettled } from "../adapter/baseline-wasm.ts";
import { createMainInstance } from "./main-instance.ts";
import { InstancePool } from "./pool.ts";
import { restartGate } from "./restart-gate.ts";
import { defaultSlice, holdMs, outgrewMainMemory, type Slice, SliceStrikes } from "./slice.ts";
import type {
  CallContext,
  CallResult,
  Interruption,
  SandboxedPlugin,
  SandboxOptions,
  Usage,
} from "./types.ts";
import { createWorkerInstance } from "./worker-instance.ts";

const workerModules = new WeakMap<CompiledPlugin, Promise<WebAssembly.Module>>();

/**
 * Loads a plugin: validates it, checks its imports against what the host
 * provides (naming any that is missing), instruments it (memory cap + fuel),
 * compiles it once (cached by digest and limits) and starts its first instance.
 * Throws a `SandboxAbort` with code `load_error` when the plugin cannot run.
 * @example
 * const plugin = await loadPlugin(wasm, { limits: { fuel: 1_000_000n } });
 * const result = await plugin.call("greet", new TextEncoder().encode("{}"));
 * await plugin.close();
 */
export async function loadPlugin(
  wasm: Uint8Array,
  options: SandboxOptions = {},
): Promise<SandboxedPlugin> {
  const policy = options.policy ?? defaultPolicy;
  let limits: Limits;
  try {
    limits = applyPolicy(options.limits, policy);
  } catch (error) {
    throw new SandboxAbort("invalid_input", `Invalid limits: ${messageOf(error)}`);
  }
  const mode = options.mode ?? (options.allowedHosts?.length ? "worker" : "main");
  const hostFunctions = options.hostFunctions ?? {};
  const wasi = options.wasi ?? false;
  const slice = options.slice === false ? null : { ...defaultSlice, ...options.slice };
  // Start code (and WASI/Haskell initialisation) runs on the host's thread whenever an instance is
  // made, worker instances included (their trial run): one call's budget, at most one slice.
  const startFuel = slice && slice.fuel < limits.fuel ? slice.fuel : limits.fuel;
  const compiled = await compilePlugin(wasm, {
    memoryPages: limits.memoryPages,
    startFuel,
    cacheDir: options.cacheDir,
    cacheSince: options.cacheSince,
    instrumentThreads: options.instrumentThreads,
  }, {
    wasi,
    hostFunctions: new Set([...Object.keys(hostFunctions), ...BULK_IO_FUNCTIONS]),
  });
  const forWorker = mode === "worker" ? await workerModule(compiled) : null;
  const config: InstanceConfig = {
    compiled,
    wasi,
    hostFunctions,
    allowedHosts: options.allowedHosts ?? [],
    fetch: options.fetch,
    config: options.config ?? {},
    logger: options.logger,
    logLevel: options.logLevel ?? "info",
    memoryPages: compiled.memoryPages,
    startFuel,
    startCapped: startFuel < limits.fuel,
    startHoldMs: slice ? holdMs(slice) : null,
    final: options.rerun?.final ?? null,
  };
  // A worker compiles Extism's kernel as it starts, and the main thread's first instance does too.
  const workerCreate = async (): Promise<Instance> => {
    const module = await workerModule(compiled);
    await baselineSettled();
    return createWorkerInstance(config, module);
  };
  const queue = options.queue ?? 64;
  const recycleAfter = options.recycleAfter ?? 10_000;
  const workerPool = (replacing: boolean) =>
    new InstancePool(workerCreate, {
      concurrency: options.concurrency ?? 2,
      queue,
      recycleAfter,
      restarts: restartGate,
      replacing,
    });
  let main: InstancePool | null = null;
  let workers: InstancePool | null = null;
  if (forWorker) {
    workers = new InstancePool(workerCreate, {
      concurrency: options.concurrency ?? 2,
      queue,
      recycleAfter,
      restarts: restartGate,
    }, await workerCreate());
  } else {
    const create = async () => {
      await baselineSettled();
      return createMainInstance(config);
    };
    main = new InstancePool(create, {
      concurrency: options.concurrency ?? 1,
      queue,
      recycleAfter,
    }, await create());
  }
  return new Sandboxed(compiled, limits, policy, { main, workers, workerPool, slice }, options);
}

async function workerModule(compiled: CompiledPlugin): Promise<WebAssembly.Module> {
  let entry = workerModules.get(compiled);
  if (!entry) {
    entry = (async () => {
      const bytes = await workerBytesOf(compiled);
      const compiledThere = takeWorkerModule(compiled);
      await baselineSettled();
      if (compiledThere !== undefined) return compiledThere;
      try {
        // Compiled off the host's thread by the engine.
        return await WebAssembly.compile(bytes as Uint8Array<ArrayBuffer>);
      } catch (error) {
        throw new SandboxAbort(
          "load_error",
          `Cannot prepare the plugin for worker mode: ${messageOf(error)}`,
        );
      }
    })();
    workerModules.set(compiled, entry);
  }
  return await entry;
}

/** Where a plugin's calls run: main-thread instances until a call outgrows its slice, then workers. */
interface Pools {
  main: InstancePool | null;
  workers: InstancePool | null;
  /** `replacing`: an earlier pool was closed (standby), so its first worker is a restart. */
  workerPool: (replacing: boolean) => InstancePool;
  slice: Slice | null;
}

class Sandboxed implements SandboxedPlugin {
  readonly digest: string;
  readonly exports: string[];
  private closed = false;
  /** Why an interrupting close ended this plugin's calls, when it said why. */
  #interruption: Interruption | undefined;
  /** Calls inside `call` now, and who waits for them to end (a draining close). */
  private inflight = 0;
  private readonly drained: Array<() => void> = [];

  constructor(
    compiled: CompiledPlugin,
    readonly limits: Limits,
    private readonly policy: Limits,
    private readonly pools: Pools,
    private readonly options: Pick<SandboxOptions, "rerun">,
  ) {
    this.digest = compiled.digest;
    this.exports = compiled.exports.filter((name) => name !== FUEL_SWAP_EXPORT);
  }

  get mode(): "main" | "worker" {
    return this.pools.main ? "main" : "worker";
  }

  get instances(): number {
    return this.#retiredMain + (this.pools.main?.created ?? 0) + (this.pools.workers?.created ?? 0);
  }

  /** Instances the main pool made before the plugin moved to workers. */
  #retiredMain = 0;
  readonly #strikes = new SliceStrikes();

  async call(
    exportName: string,
    input: Uint8Array,
    context: CallContext = {},
    callLimits?: Partial<Limits>,
  ): Promise<CallResult> {
    this.inflight++;
    try {
      return await this.run(exportName, input, context, callLimits);
    } finally {
      if (--this.inflight === 0) { for (const done of this.drained.splice(0)) done(); }
    }
  }

  private async run(
    exportName: string,
    input: Uint8Array,
    context: CallContext,
    callLimits: Partial<Limits> | undefined,
  ): Promise<CallResult> {
    const started = performance.now();
    const failure = (code: SandboxAbort["code"], message: string, usage?: Partial<Usage>) => ({
      ok: false as const,
      error: { class: code, message },
      usage: {
        fuel: usage?.fuel ?? 0,
        memoryPages: usage?.memoryPages ?? 0,
        durationMs: performance.now() - started,
      },
    });
    if (this.closed) {
      // Closed with a reason (a revoked signer): a call that still comes says so.
      const why = this.#interruption;
      return why
        ? failure(why.code, why.message)
        : failure("host_error", "The plugin was closed; load it again");
    }
    if (!this.exports.includes(exportName)) {
      return failure(
        "load_error",
        `The plugin has no export named '${exportName}' (it exports: ${
          this.exports.join(", ") || "nothing"
        })`,
      );
    }
    let limits: Limits;
    try {
      // Per-call limits may go up to the host policy; memory is fixed when the module is compiled.
      limits = {
        ...applyPolicy(callLimits, this.policy, this.limits),
        memoryPages: this.limits.memoryPages,
      };
    } catch (error) {
      return failure("invalid_input", `Invalid limits: ${messageOf(error)}`);
    }
    if (input.byteLength > limits.maxInputBytes) {
      return failure(
        "invalid_input",
        `The input is ${input.byteLength} bytes, over the ${limits.maxInputBytes}-byte limit`,
      );
    }
    const call = {
      runId: context.runId ?? crypto.randomUUID(),
      pluginId: context.pluginId ?? this.digest.slice(0, 16),
      capability: context.capability ?? exportName,
      grants: context.grants ?? null,
      determinism: context.determinism,
      tape: context.tape,
      seed: context.seed,
    };
    const run = { exportName, input };
    try {
      let state = newCallState(call, limits);
      let outcome: RunOutcome;
      const main = this.pools.main;
      if (main) {
        const slice = this.pools.slice;
        outcome = await this.attempt(main, run, state, (s) => {
          s.sliceFuel = slice?.fuel ?? null;
          s.sliceUntil = slice ? now() + slice.ms : null;
          s.holdUntil = slice ? now() + holdMs(slice) : null;
        });
        if (outcome.preempted) {
          // The call outgrew the main thread: it re-runs in a worker, and the plugin runs in
          // workers from now on, at once for fuel and on repeated strikes for time (slice.ts).
          const moved = this.#strikes.record(outcome.preempted, now());
          const workers = moved ? this.promote() : this.workers();
          const rerun = this.options.rerun;
          const undone = state.called.size === 0 || (!state.final && rerun !== undefined);
          if (!undone) {
            return failure(
              "timeout",
              `The call needed more than the main thread's slice after host functions with effects that cannot be undone (${
                [...state.called].join(", ")
              }), so it was not re-run; ${
                moved
                  ? "this plugin now runs in a worker, where the same call is not cut short"
                  : "it ran out of wall time, which a loaded machine can cause: retry it (the plugin moves to a worker, where calls are not cut short, if this repeats)"
              }`,
              { fuel: outcome.fuelUsed, memoryPages: outcome.memoryPages },
            );
          }
          // Re-run from the start with the whole budget, within the same deadline.
          if (state.called.size > 0) await rerun?.reset(call);
          const deadline = state.deadline;
          state = newCallState(call, limits);
          outcome = await this.attempt(workers, run, state, (s) => (s.deadline = deadline));
          if (!moved) this.#closeStandbyLater();
        } else if (slice && outgrewMainMemory(outcome, slice)) {
          // This call's result stands; the plugin's next calls run in workers.
          this.promote();
        }
      } else {
        outcome = await this.attempt(this.pools.workers ?? this.promote(), run, state, () => {});
      }
      const usage = {
        fuel: outcome.fuelUsed,
        memoryPages: outcome.memoryPages,
        durationMs: performance.now() - started,
      };
      if (!outcome.ok) return { ok: false, error: outcome.error, usage };
      if (outcome.output.byteLength > limits.maxOutputBytes) {
        return failure(
          "output_too_large",
          `The output is ${outcome.output.byteLength} bytes, over the ${limits.maxOutputBytes}-byte limit`,
          usage,
        );
      }
      return { ok: true, output: outcome.output, usage };
    } catch (error) {
      if (error instanceof SandboxAbort) return failure(error.code, error.message);
      return failure("host_error", `The host failed to run the call: ${messageOf(error)}`);
    }
  }

  /** One run on an instance of `pool`; `prepare` sets the state once the instance is held. */
  private attempt(
    pool: InstancePool,
    run: { exportName: string; input: Uint8Array },
    state: CallState,
    prepare: (state: CallState) => void,
  ): Promise<RunOutcome> {
    return pool.use(async (instance) => {
      // The timeout bounds the call itself: time spent waiting for an
      // instance (the queue, or a fresh worker after a failure) is not the plugin's.
      state.deadline = now() + state.limits.timeoutMs;
      prepare(state);
      const outcome = await instance.run(run.exportName, run.input, state);
      return { value: outcome, healthy: outcome.healthy, settling: outcome.settling };
    }, state.call.determinism === "strict");
  }

  /** True while a main-mode plugin keeps the worker pool of a wall-time re-run (Slice.standbyMs). */
  get standby(): boolean {
    return this.pools.main !== null && this.pools.workers !== null;
  }

  #standbyTimer: ReturnType<typeof setTimeout> | null = null;
  /** A standby pool was closed: the next worker pool's first worker is a restart. */
  #standbyClosed = false;

  /** Closes the re-run's worker pool once it has gone unused for the slice's `standbyMs`. */
  #closeStandbyLater(): void {
    const ms = this.pools.slice?.standbyMs;
    if (ms === undefined || !this.standby) return;
    if (this.#standbyTimer !== null) clearTimeout(this.#standbyTimer);
    const timer = setTimeout(() => {
      this.#standbyTimer = null;
      const workers = this.pools.workers;
      // Promoted meanwhile, or a re-run is using it (it schedules again when it ends).
      if (!this.standby || workers === null || workers.load > 0) return;
      this.pools.workers = null;
      this.#standbyClosed = true;
      void workers.close();
    }, ms);
    // Never what keeps the process alive.
    (timer as { unref?: () => void }).unref?.();
    this.#standbyTimer = timer;
  }

  /** The worker pool, made on first use. */
  private workers(): InstancePool {
    // A pool after a closed standby one starts its worker through the restart gate: else a plugin
    // cut by wall time once a minute would start a worker, outside the gate, once a minute.
    return this.pools.workers ??
      (this.pools.workers = this.pools.workerPool(this.#standbyClosed));
  }

  /** Moves the plugin to workers (once) and returns the worker pool. */
  private promote(): InstancePool {
    const workers = this.workers();
    const main = this.pools.main;
    this.pools.main = null;
    if (main) {
      this.#retiredMain += main.created;
      void main.close();
    }
    return workers;
  }

  /** Settles once no call is inside this plugin (running, queued, or moving to a worker). */
  idle(): Promise<void> {
    if (this.inflight === 0) return Promise.resolve();
    return new Promise<void>((resolve) => this.drained.push(resolve));
  }

  async close(
    options: { drain?: boolean; interrupt?: boolean | Interruption } = {},
  ): Promise<void> {
    this.closed = true;
    if (typeof options.interrupt === "object") this.#interruption ??= options.interrupt;
    if (this.#standbyTimer !== null) clearTimeout(this.#standbyTimer);
    // Draining: calls already inside (running, queued, or moving to a worker) end on these
    // instances; only then do the pools close.
    if (options.drain) await this.idle();
    const interrupt = options.interrupt ?? false;
    await Promise.all([
      this.pools.main?.close({ interrupt }),
      this.pools.workers?.close({ interrupt }),
    ]);
  }
}
