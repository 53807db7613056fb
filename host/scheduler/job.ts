/**
 * Arms croner for one schedule. Cron schedules are one croner job with
 * `protect`, so croner itself reports an occurrence that falls while the
 * previous run is still going; interval schedules are a chain of one-shot
 * croner jobs on the fixed grid `anchor + k * interval`.
 * @module
 */
import { Cron } from "croner";
import { nextAfter, type TimingSpec, zoneOptions } from "./timing.ts";

/** A schedule's timer. */
export interface ArmedJob {
  /** Stops the timer (a run in progress goes on). */
  stop(): void;
}

/** What the timer calls: `fire` for an occurrence (returns when its run ends), `blocked` when croner's protect held one back. */
export interface JobHandlers {
  fire(planned: number): Promise<void>;
  blocked(planned: number): void;
}

/** Starts the timer of `spec`. */
export function armJob(spec: TimingSpec, handlers: JobHandlers): ArmedJob {
  if (spec.cron !== null) {
    const job: Cron = new Cron(spec.cron, {
      mode: "5-or-6-parts",
      ...zoneOptions(spec.timezone),
      protect: (j) => handlers.blocked(plannedAt(j, Date.now())),
      catch: true,
    }, (j) => handlers.fire(plannedAt(j, Date.now())));
    return { stop: () => job.stop() };
  }
  let current: Cron | undefined;
  let stopped = false;
  const armNext = (after: number) => {
    if (stopped) return;
    const next = nextAfter(spec, after)!;
    current = new Cron(new Date(next), { catch: true }, () => {
      armNext(Math.max(next, Date.now()));
      void handlers.fire(next);
    });
  };
  armNext(Date.now());
  return {
    stop() {
      stopped = true;
      current?.stop();
    },
  };
}

/**
 * The planned time of the occurrence croner fires at `now`: croner passes the
 * firing time, not the target, so take the whole second if the pattern
 * matches it, else the latest match before `now` (a late timer).
 */
function plannedAt(job: Cron, now: number): number {
  const second = Math.floor(now / 1000) * 1000;
  if (job.match(new Date(second))) return second;
  return job.previousRuns(1, new Date(now))[0]?.getTime() ?? second;
}
