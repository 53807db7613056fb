import { describe, expect, it } from "vitest";
import {
  checkCron,
  formatDuration,
  nextOccurrences,
  occurrencesBetween,
  parseDuration,
} from "../../host/scheduler/mod.ts";

const at = (iso: string) => Date.parse(iso);
const spec = (cron: string | null, extra: { intervalMs?: number; timezone?: string } = {}) => ({
  cron,
  intervalMs: extra.intervalMs ?? null,
  timezone: extra.timezone ?? null,
  anchorAt: at("2026-01-01T00:00:00Z"),
});

describe("timing", () => {
  it("parses and formats durations", () => {
    expect(parseDuration("30s")).toBe(30_000);
    expect(parseDuration("1h30m")).toBe(5_400_000);
    expect(parseDuration("2d")).toBe(172_800_000);
    expect(formatDuration(5_400_000)).toBe("1h30m");
    expect(() => parseDuration("500ms")).toThrow(/under 1 s/);
    expect(() => parseDuration("5 minutes")).toThrow(/Invalid duration '5 minutes'/);
    expect(() => parseDuration("")).toThrow(/Invalid duration/);
  });

  it("reads cron in UTC by default and in the schedule's time zone when given", () => {
    const from = at("2026-01-15T07:00:00Z");
    expect(nextOccurrences(spec("0 9 * * *"), 1, from)).toEqual([at("2026-01-15T09:00:00Z")]);
    // 09:00 in Berlin is 08:00 UTC in winter.
    expect(nextOccurrences(spec("0 9 * * *", { timezone: "Europe/Berlin" }), 1, from)).toEqual([
      at("2026-01-15T08:00:00Z"),
    ]);
    expect(nextOccurrences(spec("*/20 * * * * *"), 3, from)).toEqual([
      from + 20_000,
      from + 40_000,
      from + 60_000,
    ]);
  });

  it("puts interval occurrences on the grid from the anchor", () => {
    const s = spec(null, { intervalMs: 90_000 });
    expect(nextOccurrences(s, 2, s.anchorAt + 100_000)).toEqual([
      s.anchorAt + 180_000,
      s.anchorAt + 270_000,
    ]);
    expect(occurrencesBetween(s, s.anchorAt, s.anchorAt + 900_000)).toEqual({
      count: 10,
      first: s.anchorAt + 90_000,
      last: s.anchorAt + 900_000,
    });
  });

  it("counts missed cron occurrences in a window", () => {
    const from = at("2026-01-15T07:00:00Z");
    expect(occurrencesBetween(spec("*/10 * * * * *"), from, from + 60_000)).toEqual({
      count: 6,
      first: from + 10_000,
      last: from + 60_000,
    });
    expect(occurrencesBetween(spec("0 0 1 1 *"), from, from + 60_000).count).toBe(0);
  });

  it("refuses bad patterns with a message that shows the way", () => {
    expect(() => checkCron("*/5 * * *")).toThrow(
      /Invalid cron expression '\*\/5 \* \* \*'.*5 fields .* or 6 with seconds first/,
    );
    expect(() => checkCron("0 0 30 2 *")).toThrow(/never matches a date/);
    expect(() => checkCron("* * * * *", "Nowhere/Land")).toThrow(/Unknown time zone/);
    expect(() => checkCron("0 9 * * MON-FRI", "America/New_York")).not.toThrow();
  });
});
