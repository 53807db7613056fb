/**
 * Reads the figures out of the benchmarks that print text (metering, events,
 * http, scheduler, startup, capabilities overhead), so the runner can wrap
 * them without changing their measurements. Each parser returns the figures
 * of one process run; the runner takes medians over repeated runs.
 * @module
 */

/** One value read from one run of a benchmark. */
export interface Reading {
  id: string;
  label: string;
  unit: string;
  value: number;
  /** Spread the benchmark measured itself (its own rounds), when it prints one. */
  spread?: { min: number; max: number; n: number };
  higherIsBetter?: boolean;
}

/** Reads a benchmark's text output. */
export type Parser = (stdout: string) => Reading[];

const num = (s: string | undefined) => Number(s);

/** metering.bench.ts: per kernel, medians of unmetered/metered ms and the per-pair ratio. */
export const parseMetering: Parser = (out) => {
  const readings: Reading[] = [];
  const rounds = num(out.match(/, (\d+) rounds/)?.[1] ?? "NaN");
  for (const section of out.split(/^## /m).slice(1)) {
    const title = section.split("\n")[0]!.trim();
    const key = title.split(" ")[0]!.replace(/[^a-z0-9]/gi, "").toLowerCase();
    const m3 = " median ([\\d.]+) \\(min ([\\d.]+), max ([\\d.]+)\\)";
    const ratio = section.match(new RegExp("ratio metered/unmetered per pair:" + m3));
    const plain = section.match(new RegExp("unmetered ms:" + m3));
    const metered = section.match(new RegExp("^metered ms:\\s+" + m3.trim(), "m"));
    const spread = (m: RegExpMatchArray) => ({ min: num(m[2]), max: num(m[3]), n: rounds });
    if (ratio) {
      readings.push({
        id: `metering.${key}.ratio`,
        label: `metered / unmetered, ${title} (median of pairs)`,
        unit: "x",
        value: num(ratio[1]),
        spread: spread(ratio),
      });
    }
    if (plain) {
      readings.push({
        id: `metering.${key}.plain_ms`,
        label: `unmetered, ${title}`,
        unit: "ms",
        value: num(plain[1]),
        spread: spread(plain),
      });
    }
    if (metered) {
      readings.push({
        id: `metering.${key}.metered_ms`,
        label: `metered, ${title}`,
        unit: "ms",
        value: num(metered[1]),
        spread: spread(metered),
      });
    }
    for (const m of section.matchAll(/^(\S+\.wasm) \(([\d.]+) MB\): median (\d+)/gm)) {
      readings.push({
        id: `metering.instrument.${m[1]}`,
        label: `instrument ${m[1]} (${m[2]} MB)`,
        unit: "ms",
        value: num(m[3]),
      });
    }
  }
  return readings;
};

/** events.bench.ts: events/s per scenario and the batched / single ratio of the run. */
export const parseEvents: Parser = (out) => {
  const readings: Reading[] = [];
  const ids = ["single", "batched", "awaited"];
  let i = 0;
  for (
    const m of out.matchAll(
      /^(.+?)\s+\d+ events in\s+\d+ ms =\s+(\d+) events\/s \((\d+) per CPU-second\)/gm,
    )
  ) {
    const id = ids[i++] ?? `scenario${i}`;
    readings.push({
      id: `events.${id}.per_s`,
      label: m[1]!.trim(),
      unit: "events/s",
      value: num(m[2]),
      higherIsBetter: true,
    });
  }
  const single = readings.find((r) => r.id === "events.single.per_s");
  const batched = readings.find((r) => r.id === "events.batched.per_s");
  const awaited = readings.find((r) => r.id === "events.awaited.per_s");
  if (single && batched) {
    readings.push({
      id: "events.batched_vs_single",
      label: "batching writer / single inserts (fire and forget)",
      unit: "x",
      value: batched.value / single.value,
    });
  }
  if (single && awaited) {
    readings.push({
      id: "events.awaited_vs_single",
      label: "batching writer, awaited / single inserts",
      unit: "x",
      value: awaited.value / single.value,
    });
  }
  return readings;
};

/** http.bench.ts: calls/s, p50, p99 per scenario and the ratios the run printed. */
export function parseHttp(runtime: string): Parser {
  return (out) => {
    const readings: Reading[] = [];
    const ids: Record<string, string> = {
      "bare Hono route": "bare",
      "capability call (durable RunRecord)": "capability",
      "capability route, input refused (422)": "refused",
      "capability route, refused by server (415)": "server_refused",
    };
    for (
      const m of out.matchAll(
        /^(.+?)\s+\d+ ok\s+\d+ failed\s+(\d+) calls\/s\s+p50\s+([\d.]+) ms\s+p99\s+([\d.]+) ms/gm,
      )
    ) {
      const label = m[1]!.trim();
      const id = ids[label] ?? label.replace(/\W+/g, "_");
      readings.push({
        id: `http.${runtime}.${id}.per_s`,
        label: `${runtime}: ${label}`,
        unit: "calls/s",
        value: num(m[2]),
        higherIsBetter: true,
      });
      readings.push({
        id: `http.${runtime}.${id}.p50`,
        label: `${runtime}: ${label} p50`,
        unit: "ms",
        value: num(m[3]),
      });
      readings.push({
        id: `http.${runtime}.${id}.p99`,
        label: `${runtime}: ${label} p99`,
        unit: "ms",
        value: num(m[4]),
      });
    }
    const ratio = out.match(/^ratio: capability calls reach (\d+)%/m);
    if (ratio) {
      readings.push({
        id: `http.${runtime}.ratio`,
        label: `${runtime}: capability / bare route throughput`,
        unit: "%",
        value: num(ratio[1]),
        higherIsBetter: true,
      });
    }
    const cpu = out.match(/^ratio \(CPU\): (\d+)%/m);
    if (cpu) {
      readings.push({
        id: `http.${runtime}.cpu_ratio`,
        label: `${runtime}: capability / bare, per CPU-second`,
        unit: "%",
        value: num(cpu[1]),
        higherIsBetter: true,
      });
    }
    return readings;
  };
}

/** scheduler.bench.ts: trigger lateness percentiles per load. */
export const parseScheduler: Parser = (out) => {
  const readings: Reading[] = [];
  for (
    const m of out.matchAll(
      /^(\S+)\s+\d+ schedules, (\d+) runs .*?lateness p50 (\d+) ms, p90 (\d+) ms, p99 (\d+) ms/gm,
    )
  ) {
    const load = m[1]!;
    readings.push({
      id: `scheduler.${load}.p50`,
      label: `scheduler ${load}: lateness p50`,
      unit: "ms",
      value: num(m[3]),
    });
    readings.push({
      id: `scheduler.${load}.p99`,
      label: `scheduler ${load}: lateness p99`,
      unit: "ms",
      value: num(m[5]),
    });
    readings.push({
      id: `scheduler.${load}.runs`,
      label: `scheduler ${load}: runs`,
      unit: "runs",
      value: num(m[2]),
      higherIsBetter: true,
    });
  }
  return readings;
};

/** startup.bench.ts: `name median min max (n)` lines (its own rounds); the median is kept. */
export const parseStartup: Parser = (out) => {
  const readings: Reading[] = [];
  for (const m of out.matchAll(/^(.+?) +(\d+) +(\d+) +(\d+) +\((\d+)\)$/gm)) {
    const label = m[1]!.trim();
    readings.push({
      id: `startup.${label.replace(/\W+/g, "_")}`,
      label,
      unit: "ms",
      value: num(m[2]),
      spread: { min: num(m[3]), max: num(m[4]), n: num(m[5]) },
    });
  }
  const size = out.match(/^dist\/host: ([\d.]+) MB/m);
  if (size) {
    readings.push({ id: "startup.size", label: "dist/host size", unit: "MB", value: num(size[1]) });
  }
  return readings;
};

/** test/capabilities/overhead.bench.ts: `name N us/call` lines. */
export const parseOverhead: Parser = (out) =>
  [...out.matchAll(/^(.+?)\s+(\d+) us\/call$/gm)].map((m) => ({
    id: `capabilities.${m[1]!.trim().split(" (")[0]!.replace(/\W+/g, "_")}`,
    label: m[1]!.trim(),
    unit: "us/call",
    value: num(m[2]),
  }));
