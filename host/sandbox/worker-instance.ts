/**
 * An instance in Extism's worker thread: for async host functions and Extism
 * HTTP. Costs 0.1-2.5 ms per call and ~35-60 ms to start. The host cannot
 * reach the instance's globals across the thread: a call reports its fuel in
 * a block that comes back with its return and arms the next call's
 * (worker-report.ts), so a call costs two round trips to the worker (the call,
 * the block reset, which the answer does not wait for) when its budget's first
 * slice is the one armed; a call without a report (a trap) reads its fuel
 * through the `plughost_fuel_swap` export (fuel-accessor.ts), one more. A call
 * past its timeout, or one that passes the memory cap, terminates the worker.
 * Host functions run on the host's thread: their fuel is counted there and
 * added to what the module reports. After every call the instance's Extism blocks are reset on both sides:
 * Extism keeps them for the instance's life otherwise (a plugin that leaks
 * a block a call would reach its memory cap), and each host call copies the
 * whole block table across the thread, so host calls got slower with every
 * call the instance had served.
 * @module
 */
import createPlugin, { type Plugin } from "@extism/extism";
import { classify, SandboxAbort } from "./classify.ts";
import { type CallState, now } from "./call-state.ts";
import { decodeFuelReport, encodeFuel, FUEL_SWAP_EXPORT } from "./fuel-accessor.ts";
import { workerBulkIo } from "./bulk-io.ts";
import { asyncHostFunctions } from "./host-functions.ts";
import { answerOnlyLiveCalls, gateHostCallMessages, type HostCallDebt } from "./invoke-gate.ts";
import { USER_NAMESPACE } from "./imports.ts";
import { entropyFor } from "./entropy.ts";
import {
  afterFailure,
  extismLogger,
  extismLogLevel,
  fuelUsed,
  type Instance,
  type InstanceConfig,
  type RunOutcome,
} from "./instance.ts";
import { createMainInstance, startFailure } from "./main-instance.ts";
import { RESTORE_EXPORT } from "./worker-restore.ts";
import {
  CallFuel,
  firstSlice,
  REFUEL_NAMESPACE,
  refuelFunctions,
  WORKER_SLICE_FUEL,
} from "./worker-refuel.ts";
import { type CallReport, reportingExports, watchCallReports } from "./worker-report.ts";
import { workerArgs } from "../adapter/worker-args.ts";
import { lowerPlatformThreads, lowerThreadsSince, threadsNow } from "../adapter/thread-priority.ts";

/** Per plugin (its instances share one config): what its workers owe the host-call gate. */
const debts = new WeakMap<InstanceConfig, HostCallDebt>();

/**
 * Creates a worker-thread instance from `module` (the metered module plus the
 * fuel accessor). The start code first runs once on the calling thread
 * (bounded by its start fuel): a start section that traps inside Extism's
 * worker raises an unhandled worker error that kills Node's process.
 */
export async function createWorkerInstance(
  config: InstanceConfig,
  module: WebAssembly.Module,
): Promise<Instance> {
  const first = await createMainInstance(config);
  // The state a strict call starts from, when the worker variant can be put back to it.
  const image =
    !config.wasi && WebAssembly.Module.exports(module).some((e) => e.name === RESTORE_EXPORT)
      ? first.restoreImage?.() ?? null
      : null;
  await first.close();
  const instance = new WorkerInstance(
    config.memoryPages,
    config.compiled.pinsEntropy,
    image,
    reportingExports(module),
  );
  const nodeWorkerArgs = workerArgs();
  const threadsBefore = threadsNow();
  try {
    instance.plugin = await createPlugin({ wasm: [{ module }] }, {
      useWasi: config.wasi,
      runInWorker: true,
      functions: {
        [USER_NAMESPACE]: { ...asyncHostFunctions(config.hostFunctions), ...workerBulkIo() },
        [REFUEL_NAMESPACE]: refuelFunctions(),
      },
      allowedHosts: config.allowedHosts,
      ...(config.fetch ? { fetch: config.fetch } : {}),
      logger: extismLogger(
        config.logger,
        config.memoryPages,
        (message) => instance.memoryLimit(message),
      ),
      logLevel: extismLogLevel(config),
      config: config.config,
      memory: {
        maxPages: config.memoryPages,
        maxVarBytes: Math.min(2 ** 24, config.memoryPages * 65_536),
      },
      ...(nodeWorkerArgs ? { nodeWorkerArgs } : {}),
    });
  } catch (error) {
    throw startFailure(error, config);
  }
  // The worker's threads, and on Deno V8's platform threads, yield the CPU to the event loop
  // (thread-priority.ts).
  lowerThreadsSince(threadsBefore);
  lowerPlatformThreads();
  // Host calls wait for the gate before Extism copies the blocks they bring (invoke-gate.ts).
  let debt = debts.get(config);
  if (!debt) debts.set(config, debt = { until: 0 });
  gateHostCallMessages(
    instance.plugin,
    debt,
    () => instance.callEnded(),
    () => instance.hostCalled(),
  );
  // Extism's own functions (HTTP, vars) do nothing for a call that is being stopped.
  answerOnlyLiveCalls(instance.plugin, () => instance.callStopped(), () => instance.hostAnswered());
  // After the gate (it expects Extism's listener alone): each call's return brings its report.
  watchCallReports(instance.plugin, (report) => instance.reported(report));
  return instance;
}

class WorkerInstance implements Instance {
  calls = 0;
  plugin: Plugin | null = null;
  private state: CallState | null = null;
  private abort: ((reason: SandboxAbort) => void) | null = null;

  constructor(
    private readonly memoryCap: number,
    /** The module has the pinned WASI entropy globals (entropy.ts), set with the fuel. */
    private readonly pinsEntropy: boolean,
    /** `plughost_restore`'s input: the instance's state right after instantiation (worker-restore.ts). */
    private readonly image: Uint8Array | null,
    /** The exports whose calls bring their fuel report back (worker-report.ts). */
    private readonly reporting: ReadonlySet<string>,
  ) {}

  /** Set by `interrupt`: a call that starts or is starting ends at once with it. */
  #interrupted: SandboxAbort | null = null;

  interrupt(reason: SandboxAbort): void {
    this.#interrupted = reason;
    this.abort?.(reason);
  }

  /** Extism logged that its blocks passed the cap: flag the call and stop the worker. */
  memoryLimit(message: string): void {
    const error = new SandboxAbort(
      "memory_limit",
      `The plugin's Extism blocks passed the ${this.memoryCap}-page memory cap (${message})`,
    );
    if (this.state) this.state.flagged = { class: error.code, message: error.message };
    this.abort?.(error);
  }

  /** No call ran since instantiation or the last reset. */
  #pristine = true;

  /** The latest call's state, kept after it ends: its host calls may still be on their way. */
  #latest: CallState | null = null;

  /** The instance is closed, or its latest call ended (given up: timeout, memory, fuel). */
  callEnded(): boolean {
    return this.plugin === null || (this.#latest?.ended ?? false);
  }

  /** {@link callEnded}, or the latest call is being stopped (past its deadline, or its fuel). */
  callStopped(): boolean {
    return this.callEnded() || this.#latest?.flagged != null;
  }

  /** The report the worker's latest return carried (worker-report.ts), or null. */
  reported(report: CallReport | null): void {
    this.#report = report;
  }

  #report: CallReport | null = null;

  #takeReport(): CallReport | null {
    const report = this.#report;
    this.#report = null;
    return report;
  }

  /** The latest call's code called the host: its plugin CPU stops counting (worker-refuel.ts). */
  hostCalled(): void {
    this.#latest?.fuel?.pause();
  }

  /** Extism's own host-side function answered the latest call's code. */
  hostAnswered(): void {
    this.#latest?.fuel?.resume();
  }

  /**
   * Puts the worker's instance back through `plughost_restore` (its memory
   * and globals), and drops its Extism blocks.
   * Without the export (a module with `var_set`, WASI, or state out of
   * reach) only an instance that never ran is pristine.
   */
  reset(): boolean | Promise<boolean> {
    if (this.#pristine) return true;
    const plugin = this.plugin;
    if (!this.image || !plugin) return false;
    return this.#restore(plugin, this.image);
  }

  async #restore(plugin: Plugin, image: Uint8Array): Promise<boolean> {
    // The image puts the meter's globals back too: the armed fuel is gone.
    this.#armed = null;
    try {
      const restored = await answerOr(plugin.call(RESTORE_EXPORT, image).then(() => true), false);
      // The image's input block goes too, as after a call.
      if (!restored || !await resetBlocks(plugin)) return false;
      this.#pristine = true;
      return true;
    } catch {
      // A memory that grew traps unless the code keeps its own size (virtual-memory.ts): retired.
      return false;
    }
  }

  async run(exportName: string, input: Uint8Array, state: CallState): Promise<RunOutcome> {
    const plugin = this.plugin;
    if (!plugin) throw new SandboxAbort("host_error", "The worker instance is closed");
    if (this.#interrupted) throw this.#interrupted;
    const budget = state.limits.fuel;
    // The code holds one slice of the budget and asks for the rest (worker-refuel.ts); it starts
    // when the plugin-CPU bucket gives it a turn.
    const fuel = new CallFuel(budget);
    if (!await fuel.start(state.deadline)) {
      return {
        ok: false,
        error: {
          class: "timeout",
          message: `The call passed its ${state.limits.timeoutMs} ms timeout before it started ` +
            "(plugins' calls in workers were using their share of the machine's CPU)",
        },
        fuelUsed: 0,
        memoryPages: 0,
        healthy: true,
      };
    }
    this.calls++;
    this.#pristine = false;
    const entropy = this.pinsEntropy
      ? entropyFor(state.call.determinism, state.call.seed)
      : undefined;
    // An export without the report's wrapper neither reports nor takes the armed fuel: its call
    // starts from a swap and is read with one (a report it ended with would be its own making).
    const reports = this.reporting.has(exportName);
    if (!reports) this.#armed = null;
    // The fuel is armed by the previous call's report when it is this budget's first slice (and
    // there is no entropy to set per call): one round trip to the worker less.
    if (entropy !== undefined || this.#armed !== firstSlice(budget)) {
      await plugin.call(FUEL_SWAP_EXPORT, encodeFuel(firstSlice(budget), entropy));
    }
    this.#armed = null;
    this.#report = null;
    this.state = state;
    this.#latest = state;
    state.fuel = fuel;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let grace: ReturnType<typeof setTimeout> | undefined;
    /** Stops the call where it next asks for fuel or calls a host function; ends its worker. */
    let stop: (error: SandboxAbort) => void = () => {};
    const stopped = new Promise<never>((_, reject) => {
      // Given up on at once: a host call answering after this must not answer (ended).
      const giveUp = (error: SandboxAbort) => {
        state.ended = true;
        reject(error);
      };
      this.abort = giveUp;
      // Interrupted while it was on its way (its turn of the CPU bucket, the fuel swap).
      if (this.#interrupted) giveUp(this.#interrupted);
      // Code waiting for fuel traps where it waits, and code that asks for fuel or calls a host
      // function within the grace traps there (worker-refuel.ts, worker-stop.ts): the worker is
      // kept, and reset (a new one costs the host's thread, 27-350 ms on Deno under load).
      stop = (error) => {
        // A host call may have flagged it first (it saw the deadline before this timer ran).
        state.flagged ??= { class: error.code, message: error.message };
        if (fuel.stop()) return;
        grace ??= setTimeout(() => giveUp(error), workerTimeouts.stopGraceMs);
      };
      timer = setTimeout(
        () =>
          stop(
            new SandboxAbort("timeout", `The call passed its ${state.limits.timeoutMs} ms timeout`),
          ),
        // Whole milliseconds: Node keeps a timer list per distinct delay, and a fractional delay
        // made a new list every call (~30 us of the host's thread a worker call, in `append`).
        Math.max(0, Math.ceil(state.deadline - now())),
      );
    });
    // Host-function charges past the budget: the host function is not run, and answers the stop.
    state.charge = () => {
      if (state.hostFuel <= budget) return;
      const error = new SandboxAbort("fuel_exhausted", FUEL_MESSAGE);
      stop(error);
      throw error;
    };
    let output: Uint8Array | null = null;
    let thrown: unknown = undefined;
    let failed = false;
    try {
      const out = await Promise.race([plugin.call(exportName, input, state), stopped]);
      output = out === null ? new Uint8Array() : out.bytes().slice();
      // It ended within the grace, stopped: a timeout (or out of fuel) all the same (classify).
      if (state.flagged) failed = true;
    } catch (error) {
      failed = true;
      thrown = error;
    } finally {
      clearTimeout(timer);
      clearTimeout(grace);
      fuel.end();
      this.abort = null;
      this.state = null;
      state.charge = null;
    }
    if (thrown instanceof SandboxAbort) {
      // Timed out or over the memory cap: the worker may still be running; end it. A host call
      // still running for it must not answer (host-functions.ts, asyncHostFunctions).
      state.ended = true;
      await this.close();
      return {
        ok: false,
        error: { class: thrown.code, message: thrown.message },
        fuelUsed: thrown.code === "fuel_exhausted" ? Number(budget) : 0,
        memoryPages: 0,
        healthy: false,
      };
    }
    // The call's own report (worker-report.ts), else the swap, which re-arms this budget's first
    // slice in the same round trip.
    const carried = trusted(this.#takeReport(), reports, this.memoryCap);
    const report: { fuelLeft: bigint | null; memoryPages: number } = carried ??
      await readReport(plugin, firstSlice(budget));
    if (report.fuelLeft !== null) {
      this.#armed = carried ? WORKER_SLICE_FUEL : firstSlice(budget);
      report.fuelLeft = fuel.left(report.fuelLeft);
    }
    const wasm = fuelUsed(budget, report.fuelLeft);
    const total = BigInt(wasm) + state.hostFuel;
    const used = total > budget ? Number(budget) : Number(total);
    if (!failed && total <= budget) {
      // Answered before the blocks are dropped: the reset's round trip is the instance's own
      // work, and the pool gives it no other call until it is over (pool.ts). Without a report
      // the worker did not answer: it is closed.
      const readable = report.fuelLeft !== null;
      if (!readable) await this.close();
      return {
        ok: true,
        output: output ?? new Uint8Array(),
        fuelUsed: used,
        memoryPages: report.memoryPages,
        healthy: readable,
        ...(readable ? { settling: this.#dropBlocks(plugin) } : {}),
      };
    }
    const alive = report.fuelLeft !== null && await resetBlocks(plugin);
    if (!alive) await this.close();
    // Not failed here: it used more than its budget.
    if (!failed) {
      return {
        ok: false,
        error: { class: "fuel_exhausted", message: FUEL_MESSAGE },
        fuelUsed: used,
        memoryPages: report.memoryPages,
        healthy: alive,
      };
    }
    const error = classify(thrown, {
      fuelLeft: report.fuelLeft,
      memoryPages: report.memoryPages,
      memoryCap: this.memoryCap,
      flagged: state.flagged,
    });
    return {
      ok: false,
      error,
      fuelUsed: used,
      memoryPages: report.memoryPages,
      // At the memory cap here it is its own memory (Extism's blocks end the worker above).
      healthy: alive && afterFailure(error.class, true),
    };
  }

  async close(): Promise<void> {
    const plugin = this.plugin;
    this.plugin = null;
    await plugin?.close();
  }

  /** Drops the instance's Extism blocks; when the worker does not answer, closes it. */
  async #dropBlocks(plugin: Plugin): Promise<boolean> {
    const alive = await resetBlocks(plugin);
    if (!alive) await this.close();
    return alive;
  }

  /** The fuel the instance holds ready for its next call (set by the last report), or null. */
  #armed: bigint | null = null;
}

/**
 * The report of a call of a wrapped export, as only the wrapper writes one: at most a slice
 * left, the slice armed, pages within the cap. Anything else (a variant of another slice size)
 * is read with the swap instead.
 */
function trusted(
  report: CallReport | null,
  wrapped: boolean,
  memoryCap: number,
): CallReport | null {
  if (report === null || !wrapped) return null;
  const { fuelLeft, memoryPages, armed } = report;
  const fits = fuelLeft >= 0n && fuelLeft <= WORKER_SLICE_FUEL && armed === WORKER_SLICE_FUEL &&
    memoryPages <= memoryCap;
  return fits ? report : null;
}

/**
 * A promise that settles when the plugin's worker ends (at once if it has),
 * and the function that stops listening: Extism ends the worker by itself
 * when one of its own host functions throws (a refused or failed HTTP
 * request), and a request to it would never be answered.
 */
function workerEnded(plugin: Plugin): { ended: Promise<void>; stop: () => void } {
  type Exits = {
    once(event: "exit", listener: () => void): void;
    off(event: "exit", listener: () => void): void;
  };
  const worker = (plugin as unknown as { worker?: Exits | null }).worker;
  if (!worker) return { ended: Promise.resolve(), stop: () => {} };
  let listener = () => {};
  const ended = new Promise<void>((resolve) => {
    listener = () => resolve();
    worker.once("exit", listener);
  });
  return { ended, stop: () => worker.off("exit", listener) };
}

/**
 * Fuel left and memory pages, or unknowns if the instance cannot answer any
 * more. Extism ends the worker by itself when one of its own host functions
 * throws (e.g. a refused HTTP host); a request to that dying worker would never
 * be answered, hence the bound.
 */
async function readReport(
  plugin: Plugin,
  rearm: bigint,
): Promise<{ fuelLeft: bigint | null; memoryPages: number }> {
  const unknown = { fuelLeft: null, memoryPages: 0 };
  try {
    // A swap: the fuel left by the call, then `rearm` set for the next one. No wait for a worker
    // that ended (the bound below cost every failed HTTP request 2 s).
    const exit = workerEnded(plugin);
    const out = await answerOr(
      Promise.race([plugin.call(FUEL_SWAP_EXPORT, encodeFuel(rearm)), exit.ended.then(() => null)]),
      null,
    ).finally(exit.stop);
    return out === null ? unknown : decodeFuelReport(out.bytes());
  } catch {
    return unknown;
  }
}

/** Drops the instance's Extism blocks on both sides; false if the worker did not answer. */
async function resetBlocks(plugin: Plugin): Promise<boolean> {
  try {
    return await answerOr(plugin.reset(), false);
  } catch {
    return false;
  }
}

/** What `work` answers, or `late` when the worker has not answered within REPORT_WAIT_MS. */
async function answerOr<T, L>(work: Promise<T>, late: L): Promise<T | L> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<L>((resolve) => (timer = setTimeout(() => resolve(late), REPORT_WAIT_MS))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * `stopGraceMs`: how long past its deadline a worker call may run on to reach
 * its next request for fuel, where it is stopped with its worker kept; then the
 * worker is terminated. About one slice of ordinary code (worker-refuel.ts).
 * An object so that tests can lengthen it and make the stop certain.
 */
export const workerTimeouts = { stopGraceMs: 50 };

/** How long a worker may take to report its fuel after a call (it answers in ~1 ms when alive). */
const REPORT_WAIT_MS = 2_000;

const FUEL_MESSAGE =
  "The call used its whole fuel budget; raise --fuel (or limits.fuel) if the work is legitimate";
