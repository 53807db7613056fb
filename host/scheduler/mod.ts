/**
 * The scheduler: cron and interval schedules that call plugin capabilities,
 * driven by croner, each occurrence run once across the hosts sharing a
 * database (see docs/scheduling.md).
 * @module
 */
export {
  type RunningScheduler,
  type ScheduledRun,
  type SchedulerOptions,
  startScheduler,
} from "./scheduler.ts";
export { ManualClock, type SchedulerClock, systemClock } from "./clock.ts";
export { addSchedule, checkSchedule, manifestSchedules } from "./validate.ts";
export { installedManifest } from "./installed.ts";
export { type ScheduleView, scheduleView } from "./view.ts";
export {
  checkCron,
  checkTimezone,
  DEFAULT_TIMEZONE,
  formatDuration,
  nextOccurrences,
  occurrencesBetween,
  parseDuration,
  type TimingSpec,
} from "./timing.ts";
