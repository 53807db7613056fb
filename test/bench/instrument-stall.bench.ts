/**
 * How long instrumenting a module holds the host's event loop: on the loop's
 * own thread (instrument(), as before issue 13's fix and as `host call` still
 * does) against on the instrumenter's threads (host/sandbox/instrument-pool.ts,
 * as `host serve` and uploads do). The longest gap between turns of the loop
 * while the module is instrumented, and the wall time, side by side in rounds
 * that alternate the two; the conformance plugins (1-2 MB) when present.
 * Run: node scripts/run-ts.mjs test/bench/instrument-stall.bench.ts [--quick]
 * @module
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { instrumentPool } from "../../host/sandbox/instrument-pool.ts";
import { instrument } from "../../host/sandbox/instrument/mod.ts";
import { withLongestStall } from "../../host/sandbox/stall-meter.ts";
import { conformanceDir, repoRoot } from "../helpers/cli.ts";
import { interleave, quick, ratios, Reporter } from "./_stats.ts";

const report = new Reporter("instrument-stall");
const pool = instrumentPool();
if (pool === null) {
  throw new Error("no instrumenter thread here: run this with scripts/run-ts.mjs or on Deno");
}
const options = { memoryMaxPages: 1024, startFuel: 1_000_000_000n };
const modules: [string, string][] = [["hello", join(repoRoot, "build", "plugins", "hello.wasm")]];
for (const name of ["code", "hello_haskell"]) {
  const file = join(conformanceDir, `${name}.wasm`);
  if (existsSync(file)) modules.push([name, file]);
}
if (modules.length === 1) {
  report.note(`no conformance plugins at ${conformanceDir}: only the hello plugin is measured`);
}

for (const [name, file] of modules) {
  const wasm = new Uint8Array(readFileSync(file));
  // Both sides warm: binaryen loaded on this thread and on one instrumenter thread.
  instrument(wasm, options);
  await pool.run(wasm, options);
  const walls: Record<string, number[]> = { loop: [], thread: [] };
  /** One side: the loop's longest stall while `work` runs; its wall time goes to `walls`. */
  const side = (key: string, work: () => Promise<unknown>) => async () => {
    const t0 = performance.now();
    const { stallMs } = await withLongestStall(work);
    walls[key]!.push(performance.now() - t0);
    return stallMs;
  };
  const samples = await interleave(quick ? 2 : 5, {
    loop: side("loop", () => Promise.resolve(instrument(wasm, options))),
    thread: side("thread", () => pool.run(wasm, options)),
  });
  const label = `${name} (${Math.round(wasm.length / 1024)} KiB)`;
  const where = { loop: "on the loop's thread", thread: "on a thread" };
  for (const key of ["loop", "thread"] as const) {
    report.figure(
      `stall.${name}.${key}_ms`,
      `${label}: loop held, ${where[key]}`,
      "ms",
      samples[key]!,
    );
    report.figure(
      `stall.${name}.wall_${key}_ms`,
      `${label}: wall time, ${where[key]}`,
      "ms",
      walls[key]!,
    );
  }
  report.figure(
    `stall.${name}.ratio`,
    `${label}: ratio loop held, thread / loop's thread`,
    "x",
    ratios(samples.thread!, samples.loop!),
  );
}
report.note(
  "Loop held: the longest gap between turns of the event loop (a 1 ms interval timer) while one " +
    "module is instrumented; both sides warm (binaryen already loaded where it runs).",
);
await pool.close();
report.done();
