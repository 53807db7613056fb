/**
 * Shared by the benchmarks the runner (test/bench/run.ts) starts: medians with
 * min/max, rounds that interleave the sides of a comparison (so a ratio is
 * taken pair by pair, within one round, on a shared noisy machine), and the
 * one JSON line a benchmark prints for the runner.
 * @module
 */
import process from "node:process";

/** Median, min and max of one figure over rounds. */
export interface Stat {
  median: number;
  min: number;
  max: number;
  n: number;
}

/** One measured figure (a median over rounds). */
export interface Figure {
  /** Stable id, e.g. `call.host.us`. */
  id: string;
  label: string;
  unit: string;
  stat: Stat;
  /** Higher is better (throughput) rather than lower (time). */
  higherIsBetter?: boolean;
}

/** One goal (issue 15, or issue 10 where its label says so), judged on a figure of this run. */
export interface Goal {
  id: string;
  label: string;
  /** The figure it is judged on. */
  figure: string;
  /** The target the median has to reach. */
  target: number;
  /** `max`: the median must be at most the target; `min`: at least. */
  kind: "max" | "min";
}

/** What one benchmark hands the runner. */
export interface BenchReport {
  bench: string;
  runtime: string;
  figures: Figure[];
  goals: Goal[];
  notes: string[];
}

/** Marks the runner's JSON line in a benchmark's stdout. */
export const JSON_MARK = "BENCH-JSON ";

/** True when the runner asked for the short version (`--quick` or BENCH_QUICK=1). */
export const quick = process.argv.includes("--quick") || process.env["BENCH_QUICK"] === "1";

/** Name and version of the JavaScript runtime. */
export const runtimeName = "Deno" in globalThis
  ? `deno ${(globalThis as unknown as { Deno: { version: { deno: string } } }).Deno.version.deno}`
  : `node ${process.version}`;

/** The runtime's short name, for goal labels judged on each: `node` or `deno`. */
export const engine = runtimeName.split(" ")[0] as "node" | "deno";

/** Median, min and max of samples (NaN for none). */
export function stat(samples: number[]): Stat {
  const s = [...samples].sort((a, b) => a - b);
  const n = s.length;
  if (n === 0) return { median: NaN, min: NaN, max: NaN, n: 0 };
  const mid = n >> 1;
  const median = n % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { median, min: s[0]!, max: s[n - 1]!, n };
}

/** `median (min-max)` with a sensible number of digits. */
export function show(st: Stat, unit = ""): string {
  const f = (x: number) =>
    !Number.isFinite(x)
      ? String(x)
      : Math.abs(x) >= 100
      ? x.toFixed(0)
      : Math.abs(x) >= 10
      ? x.toFixed(1)
      : Math.abs(x) >= 1
      ? x.toFixed(2)
      : x.toPrecision(3);
  return `${f(st.median)} (${f(st.min)}-${f(st.max)})${unit ? " " + unit : ""}`;
}

/** A side of a comparison: runs the work once and returns one sample (e.g. us per call). */
export type Side = () => Promise<number> | number;

/**
 * Runs every side once per round, in an order that rotates each round, and
 * returns each side's samples. Ratios between sides are then taken per round.
 */
export async function interleave(
  rounds: number,
  sides: Record<string, Side>,
): Promise<Record<string, number[]>> {
  const names = Object.keys(sides);
  const samples: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < names.length; k++) {
      const name = names[(k + r) % names.length]!;
      samples[name]!.push(await sides[name]!());
    }
  }
  return samples;
}

/** Per-round ratios a[i] / b[i]. */
export function ratios(a: number[], b: number[]): number[] {
  return a.map((x, i) => x / b[i]!);
}

/** Collects figures and goals, prints them as lines, then the runner's JSON line. */
export class Reporter {
  readonly report: BenchReport;

  constructor(bench: string) {
    this.report = { bench, runtime: runtimeName, figures: [], goals: [], notes: [] };
  }

  /** Adds a figure from samples and prints it. */
  figure(id: string, label: string, unit: string, samples: number[], higherIsBetter = false): Stat {
    const st = stat(samples);
    this.report.figures.push({
      id,
      label,
      unit,
      stat: st,
      ...(higherIsBetter ? { higherIsBetter } : {}),
    });
    process.stdout.write(`${label.padEnd(58)} ${show(st, unit)}\n`);
    return st;
  }

  /** Declares a goal judged on figure `figure`. */
  goal(goal: Goal): void {
    this.report.goals.push(goal);
  }

  /** A line of explanation kept with the results. */
  note(text: string): void {
    this.report.notes.push(text);
    process.stdout.write(`note: ${text}\n`);
  }

  /** Prints the JSON line the runner reads. */
  done(): void {
    process.stdout.write(`${JSON_MARK}${JSON.stringify(this.report)}\n`);
  }
}

/** Times `f` and returns milliseconds. */
export async function timeMs(f: () => unknown): Promise<number> {
  const t0 = performance.now();
  await f();
  return performance.now() - t0;
}
