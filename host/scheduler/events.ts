/**
 * The scheduler's events (`schedule.*`, source `scheduler`): each names the
 * schedule (id and name) in its payload, and the run and correlation id when
 * there is one.
 * @module
 */
import type { Schedule, Store } from "../store/mod.ts";

/** Writes scheduler events to one store. */
export type ScheduleEmitter = (
  type: string,
  level: "info" | "warn" | "error",
  schedule: Schedule | null,
  payload: Record<string, unknown>,
  ids?: { runId?: string; correlationId?: string; pluginId?: string },
) => void;

/** An emitter over `store`; a failed write is the store's to report, never the scheduler's. */
export function scheduleEmitter(store: Store): ScheduleEmitter {
  return (type, level, schedule, payload, ids = {}) => {
    void store.events.append({
      type,
      level,
      source: "scheduler",
      pluginId: schedule?.pluginId ?? ids.pluginId ?? null,
      runId: ids.runId ?? null,
      correlationId: ids.correlationId ?? null,
      payload: schedule === null ? payload : {
        scheduleId: schedule.id,
        schedule: schedule.name,
        ...payload,
      },
    }).catch(() => {});
  };
}

/** ISO 8601 text of a time in ms. */
export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** An error's message. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
