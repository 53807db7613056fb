// What `npm test` (scripts/test.mjs) says about each runner: counts from vitest's JSON report and
// from `deno test`'s output, the tests skipped for want of Extism's conformance plugins, and every
// file and test the Deno run leaves out, by name. docs/testing.md describes the lines printed.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";

// The title mark of a test skipped because the conformance plugins are absent
// (test/helpers/conformance.ts, CONFORMANCE_SKIP_MARK: keep the two the same).
export const CONFORMANCE_SKIP_MARK = "[skipped: no Extism conformance plugins]";

const SKIPPED = new Set(["skipped", "pending", "todo", "disabled"]);

/**
 * Counts of a vitest JSON report (`--reporter=json`): passed, failed, skipped, the skipped
 * tests by full name, and the files it ran (paths relative to `root`). Null when there is none.
 */
export function vitestReport(path, root) {
  if (!existsSync(path)) return null;
  const report = JSON.parse(readFileSync(path, "utf8"));
  const skipped = [];
  const files = [];
  for (const file of report.testResults ?? []) {
    files.push(relative(root, file.name));
    for (const test of file.assertionResults ?? []) {
      if (SKIPPED.has(test.status)) {
        skipped.push({ file: relative(root, file.name), name: test.fullName ?? test.title });
      }
    }
  }
  return {
    passed: report.numPassedTests ?? 0,
    failed: report.numFailedTests ?? 0,
    skipped,
    files,
  };
}

/** Passed, failed and ignored counts of `deno test` output, and the ignored tests by name. */
export function denoTestReport(stdout) {
  const lines = stdout.split("\n");
  const summary = /(\d+) passed.*?(\d+) failed(?:.*?(\d+) ignored)?/.exec(
    lines.filter((l) => /\d+ passed/.test(l)).pop() ?? "",
  );
  const ignored = lines.map((l) => /^(.*) \.\.\. ignored\b/.exec(l)?.[1]).filter(Boolean);
  return {
    passed: summary ? Number(summary[1]) : 0,
    failed: summary ? Number(summary[2]) : 0,
    found: summary !== null,
    ignored,
  };
}

/** Every `*.test.ts` the Node run includes (vitest.config.ts: host/ and test/, not test/deno/). */
export function nodeTestFiles(root) {
  const out = [];
  const walk = (dir) => {
    for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory()) {
        if (entry.name !== "node_modules" && path !== "test/deno") walk(path);
      } else if (entry.name.endsWith(".test.ts")) out.push(path);
    }
  };
  for (const dir of ["host", "test"]) if (existsSync(join(root, dir))) walk(dir);
  return out.sort();
}

/** The tests of `skipped` that were skipped for want of the conformance plugins. */
export function conformanceSkips(skipped) {
  return skipped.filter((t) => t.name.includes(CONFORMANCE_SKIP_MARK));
}

/**
 * The Deno run's summary line: its counts, then every vitest file it left out and every test it
 * skipped or ignored, by name (those skipped for want of the conformance plugins apart).
 */
export function denoSummary({ root, denoTest, denoVitest }) {
  const ran = new Set(denoVitest?.files ?? []);
  const files = denoVitest === null ? [] : nodeTestFiles(root).filter((f) => !ran.has(f));
  const skipped = denoVitest?.skipped ?? [];
  const conformance = conformanceSkips(skipped);
  const named = skipped.filter((t) => !t.name.includes(CONFORMANCE_SKIP_MARK))
    .map((t) => `${t.file}: "${t.name}"`);
  const ignored = denoTest.ignored.map((n) => `test/deno: "${n}"`);
  const passed = denoTest.passed + (denoVitest?.passed ?? 0);
  const failed = denoTest.failed + (denoVitest?.failed ?? 0);
  const parts = [
    `Deno: ${passed} passed, ${failed} failed`,
    denoVitest === null
      ? "vitest (Deno) wrote no report"
      : `left out ${files.length} vitest file(s) (test/deno/vitest.config.ts): ${
        files.join(", ") || "none"
      }`,
    `skipped ${named.length + ignored.length} test(s) (docs/deno.md): ${
      [...named, ...ignored].join(", ") || "none"
    }`,
  ];
  if (conformance.length > 0) {
    parts.push(
      `skipped ${conformance.length} more for want of the conformance plugins: ${
        conformance.map((t) => `${t.file}: "${t.name.split(CONFORMANCE_SKIP_MARK)[0].trim()}"`)
          .join(", ")
      }`,
    );
  }
  return parts.join("; ");
}
