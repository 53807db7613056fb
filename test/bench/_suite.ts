/**
 * The benchmarks `npm run bench` runs, in order, and how: which runtime,
 * which arguments in full and `--quick` runs, how many process runs (for
 * benchmarks that measure once per process), how to read their output, and
 * the issue-10 goals judged on their figures.
 * @module
 */
import type { Goal } from "./_stats.ts";
import {
  parseEvents,
  parseHttp,
  parseMetering,
  parseOverhead,
  type Parser,
  parseScheduler,
  parseStartup,
} from "./_parse.ts";

/** One benchmark as the runner starts it. */
export interface BenchSpec {
  name: string;
  file: string;
  engine: "node" | "deno";
  /** Extra flags for the runtime itself (e.g. --expose-gc). */
  flags?: string[];
  args(quick: boolean): string[];
  env?(quick: boolean): Record<string, string>;
  /** Process runs; figures are medians over them. */
  runs(quick: boolean): number;
  /** Text output parser; without one the benchmark prints a BENCH-JSON line. */
  parse?: Parser;
  /** Goals judged on this benchmark's figures (text benchmarks; JSON ones declare their own). */
  goals?: Goal[];
  /** Set when `--quick` leaves the benchmark out, with the reason. */
  skipQuick?: string;
  timeoutSeconds: number;
}

const own = (quick: boolean) => (quick ? ["--quick"] : []);

/** Why `--quick` leaves out the Deno runs of goals it judges on Node. */
const DENO_IN_FULL_RUNS = "the Node run judges the goal in a quick run; full runs judge Deno too";

/** Every benchmark, in the order they run. */
export const suite: BenchSpec[] = [
  {
    name: "call-overhead",
    file: "test/bench/call-overhead.bench.ts",
    engine: "node",
    args: own,
    runs: () => 1,
    timeoutSeconds: 180,
  },
  {
    name: "call-overhead-deno",
    file: "test/bench/call-overhead.bench.ts",
    engine: "deno",
    args: own,
    runs: () => 1,
    skipQuick: "the Node run judges the goal; this one shows the same path on Deno",
    timeoutSeconds: 180,
  },
  {
    name: "payload",
    file: "test/bench/payload.bench.ts",
    engine: "node",
    args: own,
    runs: () => 1,
    timeoutSeconds: 240,
  },
  {
    name: "payload-deno",
    file: "test/bench/payload.bench.ts",
    engine: "deno",
    args: own,
    runs: () => 1,
    skipQuick: DENO_IN_FULL_RUNS,
    timeoutSeconds: 240,
  },
  {
    name: "strict",
    file: "test/bench/strict.bench.ts",
    engine: "node",
    args: own,
    runs: () => 1,
    timeoutSeconds: 120,
  },
  {
    name: "metering",
    file: "test/bench/metering.bench.ts",
    engine: "node",
    args: () => [],
    env: (quick) => ({ BENCH_ROUNDS: quick ? "5" : "15" }),
    runs: () => 1,
    parse: parseMetering,
    goals: [{
      id: "goal.metering",
      label: "issue 10: metering overhead under 15% (SHA-256 kernel)",
      figure: "metering.sha256.ratio",
      target: 1.15,
      kind: "max",
    }],
    timeoutSeconds: 240,
  },
  {
    name: "http-node",
    file: "test/bench/http.bench.ts",
    engine: "node",
    args: (quick) => [quick ? "2" : "5", "16"],
    runs: (quick) => (quick ? 1 : 3),
    parse: parseHttp("node"),
    goals: [{
      id: "goal.http.node",
      label: "2. HTTP on Node: capability calls >= 50% of bare Hono",
      figure: "http.node.ratio",
      target: 50,
      kind: "min",
    }],
    timeoutSeconds: 180,
  },
  {
    name: "http-deno",
    file: "test/bench/http.bench.ts",
    engine: "deno",
    args: (quick) => [quick ? "2" : "5", "16"],
    runs: (quick) => (quick ? 1 : 3),
    parse: parseHttp("deno"),
    goals: [{
      id: "goal.http.deno",
      label: "2. HTTP on Deno: capability calls >= 50% of bare Hono",
      figure: "http.deno.ratio",
      target: 50,
      kind: "min",
    }],
    timeoutSeconds: 180,
  },
  ...(["node", "deno"] as const).map((engine): BenchSpec => ({
    name: engine === "node" ? "events" : "events-deno",
    file: "test/bench/events.bench.ts",
    engine,
    args: (quick) => [quick ? "20000" : "100000"],
    runs: (quick) => (quick ? 1 : 2),
    parse: parseEvents,
    goals: [{
      id: "goal.events.batched",
      label: `5. events >= 100k/s fire and forget (${engine})`,
      figure: "events.batched.per_s",
      target: 100_000,
      kind: "min",
    }, {
      id: "goal.events.awaited",
      label: `5. events >= 50k/s with 64 callers awaiting durability (${engine})`,
      figure: "events.awaited.per_s",
      target: 50_000,
      kind: "min",
    }],
    ...(engine === "deno" ? { skipQuick: DENO_IN_FULL_RUNS } : {}),
    timeoutSeconds: 180,
  })),
  {
    name: "kv",
    file: "test/bench/kv.bench.ts",
    engine: "node",
    args: own,
    runs: () => 1,
    timeoutSeconds: 300,
  },
  {
    name: "streams",
    file: "test/bench/streams.bench.ts",
    engine: "node",
    args: own,
    runs: () => 1,
    timeoutSeconds: 300,
  },
  {
    name: "coldstart",
    file: "test/bench/coldstart.bench.ts",
    engine: "node",
    args: own,
    runs: () => 1,
    timeoutSeconds: 300,
  },
  {
    name: "coldstart-deno",
    file: "test/bench/coldstart.bench.ts",
    engine: "deno",
    args: own,
    runs: () => 1,
    skipQuick: DENO_IN_FULL_RUNS,
    timeoutSeconds: 300,
  },
  {
    name: "instrument-stall",
    file: "test/bench/instrument-stall.bench.ts",
    engine: "node",
    args: own,
    runs: () => 1,
    timeoutSeconds: 300,
  },
  {
    name: "memory",
    file: "test/bench/memory.bench.ts",
    engine: "node",
    flags: ["--expose-gc"],
    args: own,
    runs: () => 1,
    timeoutSeconds: 400,
  },
  {
    name: "hostile",
    file: "test/bench/hostile.bench.ts",
    engine: "node",
    args: own,
    runs: () => 1,
    timeoutSeconds: 300,
  },
  {
    name: "hostile-deno",
    file: "test/bench/hostile.bench.ts",
    engine: "deno",
    args: own,
    runs: () => 1,
    timeoutSeconds: 300,
  },
  {
    name: "signatures",
    file: "test/bench/signatures.bench.ts",
    engine: "node",
    args: own,
    runs: () => 1,
    timeoutSeconds: 120,
  },
  {
    name: "capabilities-overhead",
    file: "test/capabilities/overhead.bench.ts",
    engine: "node",
    args: () => [],
    runs: () => 1,
    parse: parseOverhead,
    skipQuick: "takes ~20 s; call-overhead measures the same path",
    timeoutSeconds: 120,
  },
  ...(["node", "deno"] as const).map((engine): BenchSpec => ({
    name: engine === "node" ? "scheduler" : "scheduler-deno",
    file: "test/bench/scheduler.bench.ts",
    engine,
    args: () => [],
    runs: () => 1,
    parse: parseScheduler,
    goals: [{
      id: "goal.scheduler.spread",
      // The issue spreads them over a minute; the bench over 10 s (100 due a second) is harder.
      label: `6. scheduler lateness p99 < 50 ms, 1,000 schedules spread over 10 s (${engine})`,
      figure: "scheduler.spread.p99",
      target: 50,
      kind: "max",
    }, {
      id: "goal.scheduler.same",
      label: `6. scheduler lateness p99 < 100 ms, 1,000 schedules due the same second (${engine})`,
      figure: "scheduler.same-second.p99",
      target: 100,
      kind: "max",
    }],
    skipQuick: engine === "node" ? "runs two fixed 11-12 s loads" : DENO_IN_FULL_RUNS,
    timeoutSeconds: 180,
  })),
  {
    name: "cli",
    file: "test/bench/cli.bench.ts",
    engine: "node",
    args: own,
    runs: () => 1,
    timeoutSeconds: 300,
  },
  {
    name: "startup",
    file: "test/bench/startup.bench.ts",
    engine: "node",
    args: () => ["3"],
    runs: () => 1,
    parse: parseStartup,
    skipQuick: "builds and starts the single executable many times",
    timeoutSeconds: 300,
  },
];
