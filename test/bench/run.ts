/**
 * `npm run bench`: runs every benchmark one after another (each in its own
 * process, on Node or Deno), writes bench-results.json and prints one table:
 * every figure as median (min-max) over rounds, then each issue-10 goal as met
 * or not met with the gap.
 * Run: npm run bench [-- --quick] [--only NAME,NAME] [--out FILE] [--md FILE] [--svg FILE]
 * @module
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join, resolve } from "node:path";
import process from "node:process";
import { z } from "zod";
import { renderSvg } from "./_chart.ts";
import { renderMarkdown } from "./_markdown.ts";
import type { Reading } from "./_parse.ts";
import { type BenchSpec, suite } from "./_suite.ts";
import { type Figure, type Goal, JSON_MARK, show, stat } from "./_stats.ts";

const Flags = z.object({
  quick: z.boolean(),
  only: z.array(z.string()).nullable(),
  out: z.string().min(1),
  md: z.string().min(1).nullable(),
  svg: z.string().min(1).nullable(),
});

function parseArgs(argv: string[]): z.infer<typeof Flags> {
  const value = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const known = new Set(["--quick", "--only", "--out", "--md", "--svg"]);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!known.has(a)) {
      throw new Error(
        `Unknown argument '${a}': use --quick, --only NAME[,NAME], --out FILE, --md FILE or --svg FILE`,
      );
    }
    if (a !== "--quick") i++;
  }
  const only = value("--only");
  return Flags.parse({
    quick: argv.includes("--quick"),
    only: only ? only.split(",") : null,
    out: value("--out") ?? "bench-results.json",
    md: value("--md") ?? null,
    svg: value("--svg") ?? null,
  });
}

/** One benchmark's outcome in bench-results.json. */
interface BenchResult {
  name: string;
  engine: string;
  runtime: string;
  ok: boolean;
  seconds: number;
  runs: number;
  figures: Figure[];
  goals: Goal[];
  notes: string[];
  error?: string;
}

/** A goal as judged in this run. */
interface GoalResult extends Goal {
  bench: string;
  value: number | null;
  met: boolean;
  gap: string;
}

const root = process.cwd();
if (!existsSync(join(root, "test", "bench", "run.ts"))) {
  throw new Error("Run the benchmarks from the repository root (npm run bench)");
}
const denoBin = join(root, "node_modules", ".bin", "deno");

function command(spec: BenchSpec, quick: boolean): { cmd: string; args: string[] } {
  const tail = [spec.file, ...spec.args(quick)];
  return spec.engine === "deno"
    ? { cmd: denoBin, args: ["run", "-A", "--quiet", ...(spec.flags ?? []), ...tail] }
    : {
      cmd: process.execPath,
      args: [...(spec.flags ?? []), join(root, "scripts", "run-ts.mjs"), ...tail],
    };
}

/** Runs one process; resolves with its stdout, or rejects with the reason it failed. */
function runOnce(spec: BenchSpec, quick: boolean): Promise<string> {
  const { cmd, args } = command(spec, quick);
  return new Promise((done, fail) => {
    const child = spawn(cmd, args, {
      cwd: root,
      env: {
        ...process.env,
        ...spec.env?.(quick),
        ...(quick ? { BENCH_QUICK: "1" } : {}),
        NO_COLOR: "1",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      fail(new Error(`timed out after ${spec.timeoutSeconds} s`));
    }, spec.timeoutSeconds * 1000);
    child.on("error", (e) => {
      clearTimeout(timer);
      fail(e);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      if (code === 0) done(stdout);
      else {fail(
          new Error(`exit ${code}: ${(stderr || stdout).trim().split("\n").slice(-6).join(" | ")}`),
        );}
    });
  });
}

/** Medians of the readings over process runs. */
function figuresOf(readings: Reading[][]): Figure[] {
  const byId = new Map<string, { r: Reading; values: number[] }>();
  for (const run of readings) {
    for (const r of run) {
      const entry = byId.get(r.id) ?? { r, values: [] };
      entry.values.push(r.value);
      byId.set(r.id, entry);
    }
  }
  return [...byId.values()].map(({ r, values }) => ({
    id: r.id,
    label: r.label,
    unit: r.unit,
    // One process run that measured its own rounds: keep its spread.
    stat: values.length === 1 && r.spread ? { median: values[0]!, ...r.spread } : stat(values),
    ...(r.higherIsBetter ? { higherIsBetter: true } : {}),
  }));
}

async function runBench(spec: BenchSpec, quick: boolean): Promise<BenchResult> {
  const started = performance.now();
  const result: BenchResult = {
    name: spec.name,
    engine: spec.engine,
    runtime: spec.engine === "deno" ? `deno ${denoVersion}` : `node ${process.version}`,
    ok: true,
    seconds: 0,
    runs: 0,
    figures: [],
    goals: [...(spec.goals ?? [])],
    notes: [],
  };
  const readings: Reading[][] = [];
  try {
    for (let i = 0; i < spec.runs(quick); i++) {
      const stdout = await runOnce(spec, quick);
      result.runs++;
      if (spec.parse) {
        const parsed = spec.parse(stdout);
        if (parsed.length === 0) {
          throw new Error(`no figures found in its output: ${stdout.slice(0, 300)}`);
        }
        readings.push(parsed);
      } else {
        const line = stdout.split("\n").find((l) => l.startsWith(JSON_MARK));
        if (!line) throw new Error(`printed no ${JSON_MARK.trim()} line: ${stdout.slice(-300)}`);
        const report = JSON.parse(line.slice(JSON_MARK.length)) as {
          figures: Figure[];
          goals: Goal[];
          notes: string[];
        };
        result.figures = report.figures;
        result.goals = report.goals;
        result.notes = report.notes;
      }
    }
    if (spec.parse) {
      result.figures = figuresOf(readings);
      if (spec.runs(quick) > 1) result.notes.push(`medians over ${result.runs} process runs`);
    }
  } catch (error) {
    result.ok = false;
    result.error = error instanceof Error ? error.message : String(error);
    if (readings.length > 0) result.figures = figuresOf(readings);
  }
  result.seconds = (performance.now() - started) / 1000;
  return result;
}

function judge(bench: BenchResult, goal: Goal): GoalResult {
  const figure = bench.figures.find((f) => f.id === goal.figure);
  if (!figure || !Number.isFinite(figure.stat.median)) {
    return { ...goal, bench: bench.name, value: null, met: false, gap: "not measured in this run" };
  }
  const v = figure.stat.median;
  const met = goal.kind === "max" ? v <= goal.target : v >= goal.target;
  const unit = figure.unit === "x" ? "x" : ` ${figure.unit}`;
  const range = `${show(figure.stat)}${unit}`;
  const gap = goal.kind === "max"
    ? met
      ? `${range}, target <= ${goal.target}${unit}: ${
        ((1 - v / goal.target) * 100).toFixed(0)
      }% margin`
      : `${range}, target <= ${goal.target}${unit}: ${(v / goal.target).toFixed(1)}x the target`
    : met
    ? `${range}, target >= ${goal.target}${unit}: ${(v / goal.target).toFixed(2)}x the target`
    : `${range}, target >= ${goal.target}${unit}: ${
      ((v / goal.target) * 100).toFixed(0)
    }% of the target`;
  return { ...goal, bench: bench.name, value: v, met, gap };
}

function denoVersionOf(): string {
  const r = spawnSync(denoBin, ["--version"], { encoding: "utf8" });
  return r.stdout?.split("\n")[0]?.replace(/^deno /, "").split(" ")[0] ?? "unknown";
}

const flags = parseArgs(process.argv.slice(2));
const denoVersion = denoVersionOf();
const selected = suite.filter((s) => flags.only === null || flags.only.includes(s.name));
if (flags.only) {
  const unknown = flags.only.filter((n) => !suite.some((s) => s.name === n));
  if (unknown.length > 0) {
    throw new Error(
      `Unknown benchmark '${unknown.join(", ")}': one of ${suite.map((s) => s.name).join(", ")}`,
    );
  }
}

const loads: number[] = [];
const sampler = setInterval(() => loads.push(os.loadavg()[0]!), 5000);
const startedAt = new Date();
const t0 = performance.now();
const machine = {
  nproc: os.cpus().length,
  cpu: os.cpus()[0]?.model ?? "unknown",
  memoryGiB: Number((os.totalmem() / 2 ** 30).toFixed(1)),
  node: process.version,
  deno: denoVersion,
  platform: `${os.platform()} ${os.release()}`,
  loadAtStart: os.loadavg().map((x) => Number(x.toFixed(2))),
};
process.stdout.write(
  `plughost benchmarks${flags.quick ? " (--quick)" : ""}, ${startedAt.toISOString()}, ` +
    `${machine.nproc} cores, node ${machine.node}, deno ${machine.deno}, load ${
      machine.loadAtStart[0]
    }\n`,
);
const results: BenchResult[] = [];
for (const spec of selected) {
  if (flags.quick && spec.skipQuick) {
    results.push({
      name: spec.name,
      engine: spec.engine,
      runtime: spec.engine,
      ok: true,
      seconds: 0,
      runs: 0,
      figures: [],
      goals: spec.goals ?? [],
      notes: [`not run with --quick: ${spec.skipQuick}`],
    });
    process.stdout.write(`- ${spec.name}: skipped (--quick: ${spec.skipQuick})\n`);
    continue;
  }
  process.stdout.write(`- ${spec.name} (${spec.engine}) ...`);
  const r = await runBench(spec, flags.quick);
  results.push(r);
  process.stdout.write(` ${r.ok ? "ok" : "FAILED"} in ${r.seconds.toFixed(0)} s\n`);
}
clearInterval(sampler);
loads.push(os.loadavg()[0]!);
const goals = results.flatMap((b) => b.goals.map((g) => judge(b, g)));
const output = {
  date: startedAt.toISOString(),
  quick: flags.quick,
  seconds: Number(((performance.now() - t0) / 1000).toFixed(1)),
  machine: {
    ...machine,
    loadDuringRun: {
      mean: Number((loads.reduce((a, b) => a + b, 0) / loads.length).toFixed(2)),
      max: Number(Math.max(...loads).toFixed(2)),
    },
    loadAtEnd: os.loadavg().map((x) => Number(x.toFixed(2))),
  },
  goals,
  benchmarks: results,
};
writeFileSync(resolve(root, flags.out), JSON.stringify(output, null, 2) + "\n");
if (flags.md) writeFileSync(resolve(root, flags.md), renderMarkdown(output));
if (flags.svg) {
  const caption = `plughost benchmarks, ${output.date.slice(0, 16)} UTC, ${machine.nproc} cores, ` +
    `node ${machine.node}, load average ${output.machine.loadDuringRun.mean}; bars: median, lines: min-max`;
  writeFileSync(
    resolve(root, flags.svg),
    renderSvg(
      // The Node runs (the Deno run of call-overhead has the same figure ids).
      results.filter((b) => b.engine === "node").flatMap((b) => b.figures),
      caption,
    ),
  );
}

// The table.
const lines: string[] = [];
const row = (cells: string[]) => lines.push(cells.join("  "));
for (const b of results) {
  lines.push(
    `\n## ${b.name} (${b.runtime}${b.runs > 1 ? `, ${b.runs} runs` : ""})${b.ok ? "" : " FAILED"}`,
  );
  if (b.error) lines.push(`error: ${b.error}`);
  for (const f of b.figures) {
    row([
      f.label.padEnd(60),
      show(f.stat).padStart(24),
      f.unit.padEnd(8),
      `n=${f.stat.n}`,
    ]);
  }
  for (const n of b.notes) lines.push(`note: ${n}`);
}
lines.push("\n## Goals (issue 15; two of issue 10, labelled so)");
for (const g of goals) lines.push(`${g.met ? "MET    " : "NOT MET"}  ${g.label}: ${g.gap}`);
lines.push(
  `\n${
    results.filter((r) => r.ok).length
  }/${results.length} benchmarks ok in ${output.seconds} s; ` +
    `load average during the run ${output.machine.loadDuringRun.mean} (max ${output.machine.loadDuringRun.max}) ` +
    `on ${machine.nproc} cores; written to ${flags.out}`,
);
process.stdout.write(lines.join("\n") + "\n");
process.exitCode = results.every((r) => r.ok) ? 0 : 1;
