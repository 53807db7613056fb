/**
 * Smoke test of `npm run bench`: the runner still starts a benchmark, reads its
 * figures and judges its goal. Asserts the shape of bench-results.json, never a timing.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, test } from "vitest";
import { repoRoot } from "../helpers/cli.ts";

const dir = mkdtempSync(join(tmpdir(), "plughost-bench-smoke-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("the runner runs call-overhead --quick and writes figures and a judged goal", () => {
  const out = join(dir, "results.json");
  const run = spawnSync(
    process.execPath,
    ["scripts/run-ts.mjs", "test/bench/run.ts", "--quick", "--only", "call-overhead", "--out", out],
    { cwd: repoRoot, encoding: "utf8", timeout: 120_000 },
  );
  expect(run.status, run.stderr + run.stdout).toBe(0);
  expect(run.stdout).toContain("## Goals (issue 15");
  const results = JSON.parse(readFileSync(out, "utf8"));
  expect(results.quick).toBe(true);
  expect(results.machine.nproc).toBeGreaterThan(0);
  const [bench] = results.benchmarks;
  expect(bench.name).toBe("call-overhead");
  expect(bench.ok).toBe(true);
  const ratio = bench.figures.find((f: { id: string }) => f.id === "call.host_vs_main.ratio");
  expect(ratio.stat.n).toBeGreaterThan(1);
  expect(ratio.stat.min).toBeLessThanOrEqual(ratio.stat.median);
  expect(ratio.stat.median).toBeLessThanOrEqual(ratio.stat.max);
  const [goal] = results.goals;
  expect(goal.figure).toBe("call.host_vs_main.ratio");
  expect(goal.value).toBe(ratio.stat.median);
  expect(goal.met).toBe(goal.value <= goal.target);
}, 150_000);

test("an unknown benchmark name is refused with the list of names", () => {
  const run = spawnSync(
    process.execPath,
    ["scripts/run-ts.mjs", "test/bench/run.ts", "--only", "nope"],
    { cwd: repoRoot, encoding: "utf8", timeout: 60_000 },
  );
  expect(run.status).not.toBe(0);
  expect(run.stderr).toContain("Unknown benchmark 'nope'");
  expect(run.stderr).toContain("call-overhead");
});
