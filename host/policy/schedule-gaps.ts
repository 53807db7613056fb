/**
 * How close together a plugin's schedules fire, for the policy's
 * `minScheduleIntervalSeconds`: each schedule alone, then all of them
 * together (sixty hourly schedules one minute apart run the plugin every
 * minute; two schedules due at the same instant are 0 s apart). Occurrences
 * are taken from a fixed start over a year, so the verdict is the same on
 * every host and every day, and rare short gaps (a Friday followed by a 13th)
 * are seen; schedules due more often are followed for their first
 * {@link OCCURRENCES} occurrences together (at least 100 each), which span
 * their daily and weekly patterns.
 * @module
 */
import { Cron } from "croner";

/** Where the occurrences are taken from: fixed, so a manifest's verdict does not depend on the date. */
const FROM = Date.UTC(2026, 0, 1);
/** How far: a year and a day, so every month, weekday and both DST changes come up. */
const SPAN_MS = 366 * 86_400_000;
/** Occurrences followed for a plugin's schedules together, at most (a croner step: ~5-15 us). */
export const OCCURRENCES = 2000;
/** Occurrences followed per schedule at least, however many schedules share {@link OCCURRENCES}. */
const PER_SCHEDULE_MIN = 100;

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

const known = new Map<string, Occurrences>();
const KNOWN_MAX = 256;

function occurrencesOf(spec: ScheduleSpec, most: number): Occurrences {
  const key = `${most}\n${spec.timezone ?? ""}\n${spec.cron}`;
  const cached = known.get(key);
  if (cached !== undefined) return cached;
  const job = new Cron(spec.cron, {
    paused: true,
    mode: "5-or-6-parts",
    ...(spec.timezone ? { timezone: spec.timezone } : {}),
  });
  const times: number[] = [];
  // nextRun is strictly after its argument: a second before, so one due at the start counts.
  let previous = new Date(FROM - 1000);
  let capped = false;
  for (;;) {
    const next = job.nextRun(previous);
    if (next === null || next.getTime() >= FROM + SPAN_MS) break;
    if (times.length === most) {
      capped = true;
      break;
    }
    times.push(next.getTime());
    previous = next;
  }
  if (known.size >= KNOWN_MAX) known.clear();
  const found = { times, capped };
  known.set(key, found);
  return found;
}

/** The closest two consecutive occurrences of one schedule, or null for fewer than two. */
function ownGap(index: number, times: readonly number[]): ScheduleGap | null {
  let best: ScheduleGap | null = null;
  for (let i = 1; i < times.length; i++) {
    const seconds = (times[i]! - times[i - 1]!) / 1000;
    if (best === null || seconds < best.seconds) {
      best = { seconds, first: index, second: index, at: new Date(times[i]!) };
    }
  }
  return best;
}

/**
 * Each schedule's own closest two occurrences (null: fewer than two in the
 * span), and the closest two of different schedules where they all are
 * followed (null for one schedule).
 */
export function scheduleGaps(
  schedules: readonly ScheduleSpec[],
): { own: (ScheduleGap | null)[]; together: ScheduleGap | null } {
  const most = Math.max(PER_SCHEDULE_MIN, Math.floor(OCCURRENCES / schedules.length));
  const lists = schedules.map((spec) => occurrencesOf(spec, most));
  const own = lists.map((list, i) => ownGap(i, list.times));
  if (schedules.length < 2) return { own, together: null };
  // Together only up to where every list is complete: past a capped list's end its schedule
  // still fires, and a gap read there against the others would be too long.
  const end = Math.min(
    ...lists.map((l) => l.capped ? l.times[l.times.length - 1]! : Number.POSITIVE_INFINITY),
  );
  const merged: [number, number][] = [];
  lists.forEach((list, index) => {
    for (const at of list.times) if (at <= end) merged.push([at, index]);
  });
  merged.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let together: ScheduleGap | null = null;
  for (let i = 1; i < merged.length; i++) {
    const [at, second] = merged[i]!;
    const [before, first] = merged[i - 1]!;
    if (first === second) continue;
    const seconds = (at - before) / 1000;
    if (together === null || seconds < together.seconds) {
      together = { seconds, first, second, at: new Date(at) };
    }
  }
  return { own, together };
}
