/**
 * A call in a worker gets its fuel a slice at a time. Its code cannot be
 * interrupted from outside the thread, so a plugin that spins for its whole
 * budget kept a core busy for seconds, and with a few of them every core of
 * the machine: the host's thread still got its turns (plugin threads are
 * niced), but a machine whose CPUs never idle answers its own disk later
 * (the RunRecords' fsync p99 rose 3-7x on this project's 2-vCPU guest).
 *
 * The metered code calls `plughost$out_of_fuel` when its counter goes below
 * zero (instrument/meter.ts). In the worker variant that function asks the
 * host (import `plughost` `refuel`, on the host's thread as Extism's worker
 * host calls are) for more: the host answers with the next slice of the
 * call's budget, or nothing once the budget is spent, and the code traps as
 * before. The host answers only when {@link pluginCpu} lets it: the time plugin
 * code ran in workers is spent from one bucket refilled at
 * {@link WORKER_CPU_CORES} cores, so spinning plugins together use at most
 * that much of the machine and leave the rest idle. The charges are the same
 * instruction for instruction: a call uses the same fuel in either mode and
 * traps at the same point; only when it runs changes.
 * @module
 */
import type binaryenModule from "binaryen";
import type { CallContext } from "@extism/extism";
import { availableParallelism } from "node:os";
import type { CallState } from "./call-state.ts";
import { HostError } from "../errors.ts";
import { HostCallGate, hostCallGate } from "./host-call-gate.ts";
import { GLOBAL, OUT_OF_FUEL } from "./instrument/fuel-names.ts";
import { trimEchoedNulls } from "./block-sync.ts";

type Binaryen = typeof binaryenModule;
type Module = binaryenModule.Module;

/** The import the worker variant's out-of-fuel handler calls. */
export const REFUEL_NAMESPACE = "plughost";
export const REFUEL_FUNCTION = "refuel";
const REFUEL_IMPORT = "plughost$refuel";

/**
 * Fuel a worker call gets at a time: ~4 ms of a tight loop, ~20-40 ms of
 * ordinary code (the main-thread slice's figure). Each refill is a round trip
 * to the host's thread (~0.05-0.2 ms).
 */
export const WORKER_SLICE_FUEL = 20_000_000n;

/**
 * The cores the host keeps for itself by default: its event loop (HTTP, the
 * scheduler, main-thread plugins), and the commits, collections and disk I/O
 * that answer it. With the cores all busy, the durable commit's fsync waits
 * (on a 2-core VM its p99 rose 3-7x) and so does every response; with plugin
 * code at one core of two the well-behaved call's p99 under attack read
 * 2.1-2.5x idle on Deno, at half a core 1.6-1.9x (performance.md).
 */
export const HOST_RESERVED_CORES = 1.5;

/** The default share of `machineCores` cores plugin code in workers may use: at least a quarter core. */
export function defaultWorkerCpuCores(machineCores: number): number {
  return Math.max(0.25, machineCores - HOST_RESERVED_CORES);
}

/**
 * The cores plugin code in workers may use together, over time, by default:
 * the machine's less {@link HOST_RESERVED_CORES} ({@link setWorkerCpuCores}).
 */
export const WORKER_CPU_CORES = defaultWorkerCpuCores(availableParallelism());

/**
 * The smallest share an operator may set: a slice (~4 ms of a tight loop) every
 * 80 ms. Below it a typo (0.001 for 0.1) would starve every worker call into
 * its timeout.
 */
export const MIN_WORKER_CPU_CORES = 0.05;

/** How much worker time the bucket lets run at once after a quiet spell (ms). */
const WORKER_CPU_BURST_MS = 100;

/** The bucket of plugin-worker milliseconds every worker call spends from. */
export let pluginCpu: HostCallGate = new HostCallGate(WORKER_CPU_CORES, WORKER_CPU_BURST_MS);
let cores = WORKER_CPU_CORES;

/** The cores plugin code in workers may use together now ({@link setWorkerCpuCores}). */
export function workerCpuCores(): number {
  return cores;
}

/**
 * Sets the cores plugin code in workers may use together, for the whole
 * process (`host serve --plugin-cpu`): calls that start after it use a new
 * bucket. Throws a `usage` HostError for anything but a finite number of at
 * least {@link MIN_WORKER_CPU_CORES}.
 */
export function setWorkerCpuCores(value: number): void {
  if (typeof value !== "number" || !Number.isFinite(value) || value < MIN_WORKER_CPU_CORES) {
    throw new HostError(
      "usage",
      `The plugin CPU share must be a number of cores from ${MIN_WORKER_CPU_CORES} (e.g. 1 or 0.5), got ${
        String(value)
      }`,
    );
  }
  cores = value;
  pluginCpu = new HostCallGate(value, WORKER_CPU_BURST_MS);
}

/**
 * Gives `plughost$out_of_fuel` its worker body: add what the host grants to
 * the counter, and trap as on the main thread (the counter stored for the
 * host to read) when that is still not enough. Throws a `load_error` for a
 * module without the handler: armed with one slice, its calls would run out
 * at the first.
 */
export function addRefuelTo(binaryen: Binaryen, mod: Module, fuelExport: string): void {
  if (mod.getFunction(OUT_OF_FUEL) === 0 || mod.getGlobal(GLOBAL) === 0) {
    throw new HostError(
      "load_error",
      `Worker mode needs a module metered by this instrumenter (it has no "${OUT_OF_FUEL}"); ` +
        "a host bug: report it with the plugin",
    );
  }
  const { i64, none } = binaryen;
  mod.addFunctionImport(REFUEL_IMPORT, REFUEL_NAMESPACE, REFUEL_FUNCTION, i64, i64);
  const counter = () => mod.global.get(GLOBAL, i64);
  mod.removeFunction(OUT_OF_FUEL);
  mod.addFunction(
    OUT_OF_FUEL,
    none,
    none,
    [],
    mod.block(null, [
      mod.global.set(GLOBAL, mod.i64.add(counter(), mod.call(REFUEL_IMPORT, [counter()], i64))),
      mod.if(
        mod.i64.lt_s(counter(), mod.i64.const(0n as unknown as number)),
        mod.block(null, [mod.global.set(fuelExport, counter()), mod.unreachable()]),
      ),
    ]),
  );
}

/** The longest delay a timer takes as given. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The first fuel a worker call of `budget` is armed with. */
export function firstSlice(budget: bigint): bigint {
  return budget < WORKER_SLICE_FUEL ? budget : WORKER_SLICE_FUEL;
}

/**
 * One worker call's budget, handed out a slice at a time, and the time its
 * code ran, spent from {@link pluginCpu}.
 */
export class CallFuel {
  /** Fuel given to the code so far (the first slice included). */
  granted: bigint;
  /** When the code last started running (after a grant, a host call, the call's start). */
  #ranFrom: number;
  /** The code is blocked in a host call: that time is not the plugin's CPU. */
  #paused = false;
  #open = true;
  /** The code is waiting for an answer (its thread blocked, using no CPU). */
  #parked = false;
  /** Settles {@link #stopping}. */
  #signalStop: () => void = () => {};
  /** Settles when the call is stopped: a wait for the bucket ends there. */
  readonly #stopping = new Promise<void>((resolve) => (this.#signalStop = resolve));

  constructor(
    readonly budget: bigint,
    private readonly bucket: HostCallGate = pluginCpu,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.granted = firstSlice(budget);
    this.#ranFrom = now();
  }

  /**
   * Waits for the bucket before the call starts, in the same arrival order
   * as refills: every worker call's time is spent from it, so calls that
   * each fit in one slice must queue too, or they would keep it empty and
   * a waiting refill would never get a turn. False when `until` (the
   * call's deadline, on the `now` clock) came first, or the call was stopped.
   */
  async start(until: number): Promise<boolean> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    // Given up (late or stopped) before its turn: the call leaves the queue. Made only when the
    // call has to wait: most start at once, with no timer.
    let givenUp: Promise<void> | undefined;
    const giveUp = () =>
      givenUp ??= Promise.race([
        new Promise<void>((resolve) => {
          // Clamped: a delay past 2^31-1 ms would fire at once. Whole milliseconds, so that the
          // calls waiting share Node's timer list for a delay (worker-instance.ts).
          timer = setTimeout(
            resolve,
            Math.min(MAX_TIMER_MS, Math.max(0, Math.ceil(until - this.now()))),
          );
        }),
        this.#stopping,
      ]);
    const turn = this.bucket.admit(giveUp);
    let admitted = turn === undefined;
    if (turn) {
      const given = turn.then(() => void (admitted = true));
      await Promise.race([given, giveUp()]);
    }
    clearTimeout(timer);
    this.#ranFrom = this.now();
    return admitted && this.#open;
  }

  /**
   * The next grant for code whose counter reads `counter` (below zero): what
   * brings it back to one slice, within the budget; 0 when the budget is
   * spent (at once) or the call was stopped. Waits for the bucket first.
   */
  async refill(counter: bigint): Promise<bigint> {
    this.#spend();
    if (this.#open && this.granted < this.budget) {
      this.#parked = true;
      try {
        const turn = this.bucket.admit(() => this.#stopping);
        if (turn) await Promise.race([turn, this.#stopping]);
      } finally {
        this.#parked = false;
      }
    }
    this.resume();
    if (!this.#open) return 0n;
    const left = this.budget - this.granted;
    const want = WORKER_SLICE_FUEL - (counter < 0n ? counter : 0n);
    const grant = left < want ? left : want;
    this.granted += grant;
    return grant > 0n ? grant : 0n;
  }

  /** The code called the host: its run so far is spent, and the wait is not counted. */
  pause(): void {
    if (this.#paused) return;
    this.#spend();
    this.#paused = true;
  }

  /** The host answered: the code runs again. */
  resume(): void {
    this.#paused = false;
    this.#ranFrom = this.now();
  }

  /** The fuel the code has left, as the whole budget counts it, from what the counter reads. */
  left(counter: bigint): bigint {
    return counter + (this.budget - this.granted);
  }

  /**
   * Grants nothing more, at once to a refill that waits: the code traps at its
   * next check. True when the code was waiting (it traps now, on its thread).
   */
  stop(): boolean {
    this.#open = false;
    this.#signalStop();
    return this.#parked;
  }

  /** The call is over: its last stretch is spent, and no more is granted. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#spend();
    this.stop();
  }

  #ended = false;

  #spend(): void {
    if (this.#paused) return;
    const t = this.now();
    this.bucket.spend(t - this.#ranFrom);
    this.#ranFrom = t;
  }
}

/**
 * The host function behind the import: the call's {@link CallFuel} answers.
 * Never throws while the call is live (a host function that throws ends
 * Extism's worker for good); outside a call (start code) it grants nothing.
 */
export function refuelFunctions(): Record<
  string,
  (ctx: CallContext, counter: bigint) => Promise<bigint>
> {
  return {
    [REFUEL_FUNCTION]: async (ctx, counter) => {
      if (hostCallGate.turn) trimEchoedNulls(ctx); // through the gate: see block-sync.ts
      const state = ctx.hostContext<CallState | null>();
      if (!state?.fuel) return 0n;
      const grant = await state.fuel.refill(BigInt(counter));
      // Given up on while it waited (timeout): the thread is being ended, as for host functions.
      if (state.ended) throw new Error("The call ended while it waited for fuel");
      return grant;
    },
  };
}
