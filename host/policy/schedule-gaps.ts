/**
 * How close together a plugin's schedules fire, for the policy's
 * `minScheduleIntervalSeconds`: each schedule alone, then all of them
 * together (sixty hourly schedules one minute apart run the plugin every
 * minute; two schedules due at the same instant are 0 s apart). Occurrences
 * are taken over the leap year 2028 in each schedule's time zone (UTC when it
 * names none, as the scheduler runs it), so the verdict is the same on every
 * host and every day, and short gaps that come rarely (a Friday followed by a
 * 13th, 29 February) are seen.
 *
 * - Alone: each schedule's occurrences from the start, the plugin's schedules
 *   sharing {@link OCCURRENCES} (at least 100 each): a schedule due every
 *   minute is followed for its first ones, which span its daily and weekly
 *   pattern.
 * - Together: those lists merged where all of them are followed, and then,
 *   around occurrences of each schedule spread evenly over the year
 *   ("anchors"), the nearest occurrence of every other schedule: a schedule
 *   that starts in February, or fires on one day a year, is met where it
 *   fires. The anchors share a budget of {@link NEIGHBOUR_STEPS} croner steps.
 * @module
 */
import { Cron } from "croner";
import { zoneOptions } from "../scheduler/timing.ts";

/** The span: a leap year (29 February), fixed so that a manifest's verdict does not depend on the date. */
const FROM = Date.UTC(2028, 0, 1);
const SPAN_MS = 366 * 86_400_000;
/** Occurrences followed for a plugin's schedules together, at most (a croner step: ~5-15 us). */
export const OCCURRENCES = 2000;
/** Occurrences followed per schedule at least, however many schedules share {@link OCCURRENCES}. */
const PER_SCHEDULE_MIN = 100;
/** croner steps the anchors may take for a plugin's schedules together. */
export const NEIGHBOUR_STEPS = 8_000;
/** Anchors per schedule at most (about one every three days). */
const ANCHORS_MAX = 120;

/** A schedule as the check needs it. */
export interface ScheduleSpec {
  name: string;
  cron: string;
  timezone?: string | undefined;
}

/** The closest two occurrences found: of one schedule (`first === second`) or of two. */
export interface ScheduleGap {
  seconds: number;
  /** Indexes into the schedules, in time order. */
  first: number;
  second: number;
  /** When the second of the two is due. */
  at: Date;
}

/** Occurrence times (ms) of one schedule, and whether the list stopped before the span's end. */
interface Occurrences {
  times: number[];
  capped: boolean;
}

function job(spec: ScheduleSpec): Cron {
  return new Cron(spec.cron, { paused: true, mode: "5-or-6-parts", ...zoneOptions(spec.timezone) });
}

/** The first occurrence at or after `ms` (ms), or null past the span. */
function firstFrom(cron: Cron, ms: number): number | null {
  // nextRun is strictly after its argument: a second before, so one due at `ms` counts.
  const next = cron.nextRun(new Date(ms - 1000));
  return next === null || next.getTime() >= FROM + SPAN_MS ? null : next.getTime();
}

/** Its first `most` occurrences in the span, stopping early at a gap under `window` seconds. */
function occurrencesOf(cron: Cron, most: number, window: number): Occurrences {
  const times: number[] = [];
  let at = firstFrom(cron, FROM);
  while (at !== null) {
    if (times.length === most) return { times, capped: true };
    const previous = times[times.length - 1];
    times.push(at);
    // Too frequent alone: that settles it (the verdict, and the gap it names).
    if (previous !== undefined && at - previous < window * 1000) return { times, capped: true };
    at = firstFrom(cron, at + 1000);
  }
  return { times, capped: false };
}

function closer(best: ScheduleGap | null, gap: ScheduleGap): ScheduleGap {
  return best === null || gap.seconds < best.seconds ? gap : best;
}

/** The closest two consecutive occurrences of one schedule, or null for fewer than two. */
function ownGap(index: number, times: readonly number[]): ScheduleGap | null {
  let best: ScheduleGap | null = null;
  for (let i = 1; i < times.length; i++) {
    const seconds = (times[i]! - times[i - 1]!) / 1000;
    best = closer(best, { seconds, first: index, second: index, at: new Date(times[i]!) });
  }
  return best;
}

/** The closest two occurrences of different schedules in the merged lists, where all are followed. */
function mergedGap(lists: readonly Occurrences[]): ScheduleGap | null {
  // Past a capped list's end its schedule still fires: a gap read there against the others would
  // be too long.
  const end = Math.min(
    ...lists.map((l) => l.capped ? l.times[l.times.length - 1]! : Number.POSITIVE_INFINITY),
  );
  const merged: [number, number][] = [];
  lists.forEach((list, index) => {
    for (const at of list.times) if (at <= end) merged.push([at, index]);
  });
  merged.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let best: ScheduleGap | null = null;
  for (let i = 1; i < merged.length; i++) {
    const [at, second] = merged[i]!;
    const [before, first] = merged[i - 1]!;
    if (first !== second) {
      best = closer(best, { seconds: (at - before) / 1000, first, second, at: new Date(at) });
    }
  }
  return best;
}

/**
 * Around anchors of each schedule spread over the span, the nearest
 * occurrence of every other schedule within `window` seconds either side.
 */
function anchoredGap(crons: readonly Cron[], window: number): ScheduleGap | null {
  const k = crons.length;
  const anchors = Math.max(1, Math.min(ANCHORS_MAX, Math.floor(NEIGHBOUR_STEPS / (k * 2 * k))));
  let best: ScheduleGap | null = null;
  for (let j = 0; j < k; j++) {
    const anchorCron = crons[j]!;
    let last = -1;
    for (let a = 0; a < anchors; a++) {
      const t = firstFrom(anchorCron, FROM + Math.floor((a * SPAN_MS) / anchors));
      if (t === null) break;
      if (t === last) continue;
      last = t;
      crons.forEach((cron, i) => {
        if (i === j) return;
        // The first occurrence after t - window, and, when that one is not after t, the first
        // at or after t: the nearest on either side.
        const before = cron.nextRun(new Date(t - window * 1000));
        if (before === null) return;
        const candidates = [before.getTime()];
        if (before.getTime() < t) {
          const after = firstFrom(cron, t);
          if (after !== null) candidates.push(after);
        }
        for (const at of candidates) {
          const seconds = Math.abs(at - t) / 1000;
          if (seconds >= window) continue;
          const [first, second] = at <= t ? [i, j] : [j, i];
          best = closer(best, { seconds, first, second, at: new Date(Math.max(at, t)) });
        }
      });
      // One pair closer than the window settles it: the rest of the budget is not spent.
      if (best !== null) return best;
    }
  }
  return best;
}

/**
 * Each schedule's own closest two occurrences (null: fewer than two in the
 * span), and two of different schedules closer than `window` seconds when
 * there are (the first pair found; null for one schedule, when one alone is
 * already closer, or when none is found). Otherwise `together` is the
 * closest pair of the merged lists, when they hold one.
 */
export function scheduleGaps(
  schedules: readonly ScheduleSpec[],
  window: number,
): { own: (ScheduleGap | null)[]; together: ScheduleGap | null } {
  const crons = schedules.map(job);
  const most = Math.max(PER_SCHEDULE_MIN, Math.floor(OCCURRENCES / schedules.length));
  const lists = crons.map((cron) => occurrencesOf(cron, most, window));
  const own = lists.map((list, i) => ownGap(i, list.times));
  // One schedule too frequent alone settles it; together is asked only when each alone passes.
  if (schedules.length < 2 || own.some((gap) => gap !== null && gap.seconds < window)) {
    return { own, together: null };
  }
  const merged = mergedGap(lists);
  if (merged !== null && merged.seconds < window) return { own, together: merged };
  const anchored = anchoredGap(crons, window);
  return { own, together: anchored === null ? merged : closer(merged, anchored) };
}
