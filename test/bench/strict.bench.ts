/**
 * Strict calls whose memory grows: Extism's Rust `count_vowels` (a
 * conformance plugin) grows its memory on its first allocation, so every
 * strict call grows it from the first state again; the host resets such an
 * instance, size included (docs/replay.md, "A memory that grew"). Against the
 * same call best-effort, whose instance keeps its heap.
 * Sandbox calls (metered, no RunRecord), interleaved per round. Skips with a
 * note when the conformance plugins are not beside the clone.
 * Run: node scripts/run-ts.mjs test/bench/strict.bench.ts [--quick]
 * @module
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadPlugin } from "../../host/sandbox/mod.ts";
import { conformanceDir, conformanceSkipReason, hasConformance } from "../helpers/conformance.ts";
import { calibrate, usPer } from "./_sides.ts";
import { interleave, quick, ratios, Reporter } from "./_stats.ts";

const rounds = quick ? 3 : 9;
const sampleMs = quick ? 60 : 120;
const report = new Reporter("strict");

if (!hasConformance) {
  report.note(`skipped: ${conformanceSkipReason}`);
} else {
  const plugin = await loadPlugin(new Uint8Array(readFileSync(join(conformanceDir, "code.wasm"))));
  try {
    const input = new TextEncoder().encode("hello world");
    const call = (determinism: "strict" | "best-effort") => async () => {
      const result = await plugin.call("count_vowels", input, { determinism });
      if (!result.ok) throw new Error(`count_vowels failed: ${result.error.message}`);
    };
    const strict = call("strict");
    const bestEffort = call("best-effort");
    const counts = {
      strict: await calibrate(strict, sampleMs),
      bestEffort: await calibrate(bestEffort, sampleMs),
    };
    let calls = 0;
    const made = plugin.instances;
    const samples = await interleave(rounds, {
      strict: () => {
        calls += counts.strict;
        return usPer(counts.strict, strict);
      },
      bestEffort: () => usPer(counts.bestEffort, bestEffort),
    });
    report.figure(
      "strict.rust.strict_us",
      "Rust count_vowels, strict (memory grows each call)",
      "us/call",
      samples.strict!,
    );
    report.figure(
      "strict.rust.best_effort_us",
      "Rust count_vowels, best-effort (instance kept)",
      "us/call",
      samples.bestEffort!,
    );
    report.figure(
      "strict.rust.ratio",
      "ratio strict / best-effort (per round)",
      "x",
      ratios(samples.strict!, samples.bestEffort!),
    );
    report.note(
      `instances made during the strict calls: ${plugin.instances - made} for ${calls} calls ` +
        "(each one retired after the pool's recycle count). Until 2026-12-06 each strict call " +
        "needed a new instance (1.7-2.0 ms a call on the project's machine).",
    );
  } finally {
    await plugin.close();
  }
}
report.done();
