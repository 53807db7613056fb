/**
 * The main-thread slice: how long a call may hold the host's event loop
 * before it is taken off the main thread (docs/sandbox.md, "Main-thread
 * slices").
 * @module
 */
import { HostError } from "../errors.ts";

/** How much of a call runs on the main thread before it moves to a worker. */
export interface Slice {
  /** Fuel a main-thread call may use (host-function charges included). */
  fuel: bigint;
  /** Wall-clock milliseconds, checked at every host-function and alloc call. */
  ms: number;
  /**
   * Pages (64 KiB) a main-thread instance's memory may grow by over its life.
   * A memory is an allocation in the host's own heap: growing past this, or
   * reaching the memory cap (`memory_limit`, Extism's blocks included), moves
   * the plugin to workers once the call ends, so that retired big memories
   * are collected on their own thread, not the event loop's.
   */
  pages: number;
  /**
   * How long the worker pool of a wall-time re-run stays open without use
   * while its plugin still runs on the main thread: long enough for the
   * strikes that would move the plugin (TIME_STRIKE_WINDOW_MS), not for ever
   * (each worker is a thread and an isolate, ~10-20 MB).
   */
  standbyMs: number;
}

/**
 * Defaults: 20e6 fuel is ~4 ms of a tight loop and ~20-40 ms of ordinary code;
 * 20 ms of wall time bounds host functions that are slower than their fuel says;
 * 64 pages is 4 MiB of growth (a plugin growing to 16 MiB and failing, again
 * and again, held the loop for 72 ms at p99 on the main thread, 12 ms from a worker).
 */
export const defaultSlice: Readonly<Slice> = Object.freeze({
  fuel: 20_000_000n,
  ms: 20,
  pages: 64,
  standbyMs: 60_000,
});

/** Whether a main-thread call's memory use should move its plugin to workers (see `Slice.pages`). */
export function outgrewMainMemory(
  outcome: { ok: boolean; error?: { class: string }; grownPages?: number },
  slice: Slice,
): boolean {
  return (!outcome.ok && outcome.error?.class === "memory_limit") ||
    (outcome.grownPages ?? 0) > slice.pages;
}

/**
 * Whether a plugin whose main-thread call ran out of its slice moves to
 * workers now. Running out of fuel is the call's own doing, the same on any
 * machine: it moves at once. Running out of wall time can be the host's (a
 * garbage collection, or a loaded machine that descheduled the thread), so
 * one such call is re-run in a worker but the plugin stays: it moves on the
 * {@link TIME_STRIKES}th within {@link TIME_STRIKE_WINDOW_MS}. A plugin whose
 * host functions are really slow so holds the loop for at most that many
 * slices before it moves for good.
 */
export class SliceStrikes {
  readonly #times: number[] = [];

  /** Records a preemption at `now`; true when the plugin should move to workers. */
  record(reason: PreemptReason, now: number): boolean {
    if (reason !== "time") return true;
    this.#times.push(now);
    while ((this.#times[0] as number) <= now - TIME_STRIKE_WINDOW_MS) this.#times.shift();
    return this.#times.length >= TIME_STRIKES;
  }
}

/**
 * Why a main-thread call was cut: its slice's fuel, its slice's wall time, or
 * {@link HOLD_SLICES} slices of wall time (`held`: a call past a final effect,
 * which the clock otherwise never cuts, whose fuel did not price the host's
 * work, e.g. Extism's `alloc`, which scans every block it holds). `held` moves
 * the plugin at once, like fuel: 25 slices is not a garbage collection.
 */
export type PreemptReason = "fuel" | "time" | "held";

/**
 * Slices of wall time a main-thread call may hold the host's thread, checked at
 * the same points as the slice's time, even past a final effect; and making an
 * instance (start code) likewise. A backstop for host-side work that fuel does
 * not price: Extism's `alloc` sums every block it holds, so 38,000 allocs of
 * 500 fuel each (19e6, within one slice) held the loop 7-11 s. Wide enough
 * (500 ms by default) that a final call of ordinary code, ~20-40 ms for a
 * slice of fuel, does not meet it on a loaded machine: past a final effect a
 * call's outcome should depend on its fuel, not on the machine.
 */
export const HOLD_SLICES = 25;

/** The hold backstop of `slice` in ms: HOLD_SLICES slices, never under 500 ms. */
export function holdMs(slice: Slice): number {
  return Math.max(slice.ms * HOLD_SLICES, 500);
}

/** Wall-time preemptions within {@link TIME_STRIKE_WINDOW_MS} that move a plugin to workers. */
export const TIME_STRIKES = 3;
/** The window for {@link TIME_STRIKES}. */
export const TIME_STRIKE_WINDOW_MS = 60_000;

/**
 * Thrown inside a main-thread call whose slice ran out while its budget did
 * not: the call is ended there (and re-run in a worker when that is safe).
 */
export class Preempted extends HostError {
  override readonly name = "Preempted";
  constructor(readonly reason: PreemptReason) {
    super("timeout", `The call used its main-thread slice (${reason})`);
  }
}
