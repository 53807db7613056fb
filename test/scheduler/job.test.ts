import { describe, expect, it } from "vitest";
import { armJob } from "../../host/scheduler/job.ts";
import { until } from "./helpers.ts";

const spec = (cron: string) => ({ cron, intervalMs: null, timezone: null, anchorAt: 0 });

interface Seen {
  fired: number[];
  blocked: number[];
}

/** Handlers that record what croner reports; with `hold`, runs go on until `release()`. */
function recorder(hold = false) {
  const seen: Seen = { fired: [], blocked: [] };
  const releases: (() => void)[] = [];
  return {
    seen,
    release: () => {
      hold = false;
      releases.splice(0).forEach((r) => r());
    },
    handlers: {
      fire: (planned: number) => {
        seen.fired.push(planned);
        return hold ? new Promise<void>((r) => releases.push(r)) : Promise.resolve();
      },
      blocked: (planned: number) => void seen.blocked.push(planned),
    },
  };
}

describe("cron timers on the wall clock", () => {
  // Proves: schedules that share a pattern share a timer yet keep croner's protect per
  // schedule: one whose run goes on is reported blocked; the others still fire, at the same
  // planned second. Waits for occurrences; it never counts against time.
  it(
    "fires schedules with one pattern together and holds back only the one still running",
    async () => {
      const slow = recorder(true);
      const quick = recorder();
      const other = recorder();
      const jobs = [
        armJob(spec("* * * * * *"), slow.handlers),
        armJob(spec("* * * * * *"), quick.handlers),
        armJob(spec("*/2 * * * * *"), other.handlers),
      ];
      try {
        expect(await until(() => quick.seen.fired.length >= 3, 20_000)).toBe(true);
        expect(slow.seen.fired).toEqual([quick.seen.fired[0]]);
        expect(slow.seen.blocked).toEqual(quick.seen.fired.slice(1));
        expect(quick.seen.blocked).toEqual([]);
        for (const t of [...quick.seen.fired, ...other.seen.fired]) expect(t % 1000).toBe(0);
        for (const t of other.seen.fired) expect(t % 2000).toBe(0);
        // Once its run ends, the held-back schedule fires again.
        slow.release();
        expect(await until(() => slow.seen.fired.length >= 2, 20_000)).toBe(true);
        // A stopped schedule fires no more; the one left on the timer goes on.
        jobs[1]!.stop();
        const stoppedAt = quick.seen.fired.length;
        const slowAt = slow.seen.fired.length;
        expect(await until(() => slow.seen.fired.length >= slowAt + 2, 20_000)).toBe(true);
        expect(quick.seen.fired.length).toBe(stoppedAt);
      } finally {
        for (const job of jobs) job.stop();
        slow.release();
      }
    },
    60_000,
  );

  // Proves: on a shared timer one schedule's handler cannot cost the others their occurrence:
  // one that throws at once still fires next time (it is not left marked running), and one
  // stopped by an earlier handler in the same pass is not fired.
  it("keeps a throwing or stopped schedule from disturbing the others on its timer", async () => {
    let thrown = 0;
    const stopper = recorder();
    const stopped = recorder();
    // Armed after the stopper, which stops it: a holder, since the stopper is made first.
    const victim: { job?: { stop(): void } } = {};
    const jobs = [
      armJob(spec("* * * * * *"), {
        fire: () => {
          thrown++;
          throw new Error("a handler that throws at once");
        },
        blocked: () => {
          throw new Error("never blocked: its run never started");
        },
      }),
      armJob(spec("* * * * * *"), {
        ...stopper.handlers,
        fire: (planned) => {
          victim.job?.stop();
          return stopper.handlers.fire(planned);
        },
      }),
    ];
    victim.job = armJob(spec("* * * * * *"), stopped.handlers);
    try {
      expect(await until(() => stopper.seen.fired.length >= 2, 20_000)).toBe(true);
      expect(thrown).toBeGreaterThanOrEqual(2);
      expect(stopped.seen.fired).toEqual([]);
      expect(stopped.seen.blocked).toEqual([]);
    } finally {
      for (const job of jobs) job.stop();
      victim.job?.stop();
    }
  }, 60_000);
});
