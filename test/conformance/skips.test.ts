/**
 * Without Extism's conformance plugins the suites that need them skip under a named title, and
 * `npm test`'s summary code (scripts/test-report.mjs) counts and names those skips. Runs a real
 * vitest on test/store/runs.test.ts with PLUGHOST_CONFORMANCE_DIR pointing at an empty folder.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { afterAll, expect, it } from "vitest";
import { repoRoot } from "../helpers/cli.ts";
import { CONFORMANCE_SKIP_MARK } from "../helpers/conformance.ts";

const dir = mkdtempSync(join(tmpdir(), "plughost-skips-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `code` (an ES module) with Node in the repository; returns its stdout parsed as JSON. */
function nodeJson(code: string): unknown {
  const run = spawnSync(process.execPath, ["--input-type=module", "-e", code], {
    cwd: repoRoot,
    encoding: "utf8",
  });
  expect(run.status, run.stderr).toBe(0);
  return JSON.parse(run.stdout);
}

it(
  "skips conformance tests by name when the plugins are absent, and the summary counts them",
  () => {
    const report = join(dir, "report.json");
    const run = spawnSync(process.execPath, [
      join(repoRoot, "node_modules", "vitest", "vitest.mjs"),
      "run",
      "test/store/runs.test.ts",
      "--reporter=default",
      "--reporter=json",
      `--outputFile.json=${report}`,
    ], {
      cwd: repoRoot,
      encoding: "utf8",
      env: { ...process.env, PLUGHOST_CONFORMANCE_DIR: dir, NO_COLOR: "1" },
      timeout: 240_000,
    });
    expect(run.status, run.stdout + run.stderr).toBe(0);
    // The console line each skipped suite prints, with the reason and how to run it.
    expect(run.stderr).toContain(
      `skipping "records a plugin_error run of a real failing plugin with its message": ${dir} has no code.wasm`,
    );
    expect(run.stderr).toContain("set PLUGHOST_CONFORMANCE_DIR");

    const summary = nodeJson(`
    import { conformanceSkips, CONFORMANCE_SKIP_MARK, denoSummary, denoTestReport, vitestReport }
      from "./scripts/test-report.mjs";
    const report = vitestReport(${JSON.stringify(report)}, process.cwd());
    const denoTest = denoTestReport("x ... ignored (0ms)\\nok | 1 passed | 0 failed | 1 ignored\\n");
    console.log(JSON.stringify({
      mark: CONFORMANCE_SKIP_MARK,
      passed: report.passed,
      skipped: conformanceSkips(report.skipped).map((t) => t.name.split(CONFORMANCE_SKIP_MARK)[0].trim()),
      deno: denoSummary({ root: process.cwd(), denoTest, denoVitest: report }),
    }));
  `) as { mark: string; passed: number; skipped: string[]; deno: string };
    // The mark the summary counts by is the one the test titles carry.
    expect(summary.mark).toBe(CONFORMANCE_SKIP_MARK);
    expect(summary.passed).toBeGreaterThan(0);
    expect(summary.skipped).toEqual([
      "run records records an ok run of a real plugin with digests, fingerprint, limits and usage",
      "run records records a plugin_error run of a real failing plugin with its message",
    ]);
    // The Deno line names the files that did not run (here all but one) and each skipped test.
    const [counts, leftOut] = summary.deno.split("; ");
    expect(counts).toBe(`Deno: ${1 + summary.passed} passed, 0 failed`);
    expect(leftOut).toMatch(/^left out \d+ vitest file\(s\) /);
    expect(leftOut).toContain("test/conformance/skips.test.ts");
    expect(leftOut).not.toContain("test/store/runs.test.ts");
    expect(summary.deno).toContain('test/deno: "x"');
    expect(summary.deno).toContain(
      'skipped 2 more for want of the conformance plugins: test/store/runs.test.ts: "run records records an ok run',
    );
  },
  300_000,
);
