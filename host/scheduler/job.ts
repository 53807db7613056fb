/**
 * Arms croner for a schedule. Cron schedules with the same pattern and time
 * zone share one croner job, which fires them all in one pass: 1,000
 * schedules due at the same second cost one timer and one next-run
 * computation, not 1,000 of each, and their claims go to the store as one
 * batch (one timer each spread the firings over ~50 ms while the first ones'
 * runs held the thread). Like croner's `protect`, an occurrence that falls
 * while the schedule's previous run goes on is reported `blocked`, per
 * schedule. Interval schedules are a chain of one-shot croner jobs on the
 * fixed grid `anchor + k * interval`.
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

/** One schedule on a shared croner job. */
interface Member {
  handlers: JobHandlers;
  /** Its previous occurrence's run has not ended. */
  running: boolean;
}

/** The croner job of one cron pattern and time zone, and the schedules on it. */
interface Group {
  key: string;
  job: Cron;
  members: Set<Member>;
}

const groups = new Map<string, Group>();

function groupOf(pattern: string, timezone: string | null): Group {
  const key = `${timezone ?? ""} ${pattern}`;
  let group = groups.get(key);
  if (group === undefined) {
    const members = new Set<Member>();
    const job: Cron = new Cron(pattern, {
      mode: "5-or-6-parts",
      ...zoneOptions(timezone),
      catch: true,
    }, (j) => {
      const planned = plannedAt(j, Date.now());
      for (const member of [...members]) {
        // One stopped by an earlier member's handler in this pass gets nothing.
        if (members.has(member)) fireMember(member, planned);
      }
    });
    group = { key, job, members };
    groups.set(key, group);
  }
  return group;
}

/**
 * One schedule's occurrence on a shared timer. A handler that throws at once
 * costs that schedule this occurrence only, as with a timer of its own: the
 * others still fire, and it is not left marked running.
 */
function fireMember(member: Member, planned: number): void {
  if (member.running) {
    try {
      member.handlers.blocked(planned);
    } catch {
      // Reported by the handler's owner, if at all; the timer goes on.
    }
    return;
  }
  member.running = true;
  let run: Promise<void>;
  try {
    run = member.handlers.fire(planned);
  } catch {
    member.running = false;
    return;
  }
  void run.catch(() => {}).finally(() => (member.running = false));
}

/** Starts the timer of `spec`. */
export function armJob(spec: TimingSpec, handlers: JobHandlers): ArmedJob {
  if (spec.cron !== null) {
    const group = groupOf(spec.cron, spec.timezone);
    const member: Member = { handlers, running: false };
    group.members.add(member);
    return {
      stop() {
        group.members.delete(member);
        if (group.members.size > 0) return;
        group.job.stop();
        if (groups.get(group.key) === group) groups.delete(group.key);
      },
    };
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
