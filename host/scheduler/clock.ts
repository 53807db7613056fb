/**
 * The scheduler's time: what "now" is and what fires a schedule's occurrences.
 * `systemClock` is the wall clock and croner's timers (job.ts); `ManualClock`
 * is time that moves only when told to, firing the occurrences it passes in
 * order, so a test (or a simulation) can say "three seconds pass" and know
 * exactly which occurrences fell, whatever the machine's speed.
 * @module
 */
import type { Cron } from "croner";
import { type ArmedJob, armJob, type JobHandlers } from "./job.ts";
import { nextAfter, patternOf, type TimingSpec } from "./timing.ts";

/** Where the scheduler gets the time and its timers. */
export interface SchedulerClock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Starts the timer of one schedule: `fire` at each occurrence, `blocked` for an occurrence of a cron schedule that falls while its previous `fire` has not ended. */
  arm(spec: TimingSpec, handlers: JobHandlers): ArmedJob;
}

/** The wall clock, with croner's timers. */
export const systemClock: SchedulerClock = { now: () => Date.now(), arm: armJob };

interface ManualJob {
  spec: TimingSpec;
  pattern: Cron | undefined;
  handlers: JobHandlers;
  next: number | null;
  pending: boolean;
}

/**
 * Time that moves only through `advance`. Occurrences are the same as under
 * croner (timing.ts computes both); a cron schedule's occurrence that falls
 * while its previous run goes on is reported `blocked`, as croner's `protect`
 * does.
 *
 * @example
 * ```ts
 * const clock = new ManualClock(Date.parse("2026-01-01T00:00:00.500Z"));
 * const scheduler = await startScheduler({ runtime, store, clock });
 * await clock.advance(3000); // the occurrences at :01, :02 and :03 run, one after the other
 * ```
 */
export class ManualClock implements SchedulerClock {
  #now: number;
  readonly #jobs = new Set<ManualJob>();

  /** A clock reading `start` (ms since the epoch). */
  constructor(start: number) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  arm(spec: TimingSpec, handlers: JobHandlers): ArmedJob {
    const pattern = spec.cron === null ? undefined : patternOf(spec);
    const job: ManualJob = {
      spec,
      pattern,
      handlers,
      next: nextAfter(spec, this.#now, pattern),
      pending: false,
    };
    this.#jobs.add(job);
    return { stop: () => void this.#jobs.delete(job) };
  }

  /** How many schedules have a timer on this clock. */
  get armed(): number {
    return this.#jobs.size;
  }

  /**
   * Moves the clock `ms` forward, firing every occurrence due on the way in
   * time order. The runs started at one instant end before the clock moves on
   * (a run takes no clock time); resolves when the last has ended. An advance
   * started before an earlier one resolved fires while that one's runs go on.
   */
  async advance(ms: number): Promise<void> {
    const to = this.#now + ms;
    for (;;) {
      let at = Infinity;
      for (const job of this.#jobs) {
        if (job.next !== null && job.next <= to) at = Math.min(at, job.next);
      }
      if (at === Infinity) break;
      this.#now = Math.max(this.#now, at);
      const runs: Promise<void>[] = [];
      for (const job of [...this.#jobs]) {
        if (job.next !== at) continue;
        job.next = nextAfter(job.spec, at, job.pattern);
        if (job.spec.cron !== null && job.pending) {
          job.handlers.blocked(at);
          continue;
        }
        job.pending = true;
        runs.push(job.handlers.fire(at).finally(() => (job.pending = false)));
      }
      await Promise.allSettled(runs);
    }
    this.#now = Math.max(this.#now, to);
  }
}
