/**
 * How a schedule is shown to people and API clients (`host schedules`,
 * `/v1/schedules`): its fields plus its next run time.
 * @module
 */
import type { Schedule } from "../store/mod.ts";
import { DEFAULT_TIMEZONE, formatDuration, nextOccurrences } from "./timing.ts";

/** A schedule as shown: `every` is a duration text, `nextRun` an ISO time (null when paused). */
export interface ScheduleView {
  name: string;
  id: string;
  pluginId: string;
  capability: string;
  cron: string | null;
  every: string | null;
  timezone: string | null;
  input: unknown;
  state: "active" | "paused";
  missed: "skip" | "catch-up-once";
  source: "manifest" | "api";
  pluginVersion: string | null;
  nextRun: string | null;
  createdAt: string;
  updatedAt: string;
}

/** The view of a schedule at `now`. */
export function scheduleView(s: Schedule, now: number = Date.now()): ScheduleView {
  const next = s.state === "active" ? nextOccurrences(s, 1, now)[0] : undefined;
  return {
    name: s.name,
    id: s.id,
    pluginId: s.pluginId,
    capability: s.capability,
    cron: s.cron,
    every: s.intervalMs === null ? null : formatDuration(s.intervalMs),
    timezone: s.cron === null ? null : s.timezone ?? DEFAULT_TIMEZONE,
    input: s.input,
    state: s.state,
    missed: s.missed,
    source: s.source,
    pluginVersion: s.pluginVersion,
    nextRun: next === undefined ? null : new Date(next).toISOString(),
    createdAt: new Date(s.createdAt).toISOString(),
    updatedAt: new Date(s.updatedAt).toISOString(),
  };
}
