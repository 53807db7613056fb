// `npm test`: every check CI runs, in order, stopping at the first failing step:
// format, lint, type check, the vitest suites on Node, the Deno suite, the vitest suites on Deno.
// Ends with the Deno run's line (what it left out, by name) and one plain summary line
// ("N passed, N failed, N skipped", with how many need the Extism conformance plugins) over both
// runners; scripts/test-report.mjs reads the reports, docs/testing.md describes the lines.
import { spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { conformanceSkips, denoSummary, denoTestReport, vitestReport } from "./test-report.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const bin = (name) => join(root, "node_modules", ".bin", name);
const vitestJson = join(root, "build", "vitest-results.json");
let passed = 0;
let failed = 0;
const skipped = [];

function step(title, cmd, args, options = {}) {
  process.stdout.write(`\n== ${title}\n`);
  const result = spawnSync(cmd, args, {
    cwd: root,
    stdio: options.capture ? ["inherit", "pipe", "inherit"] : "inherit",
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1" },
  });
  if (options.capture) process.stdout.write(result.stdout ?? "");
  return result;
}

function finish(code) {
  const conformance = conformanceSkips(skipped).length;
  const note = conformance === 0 ? "" : ` (${conformance} of them need the Extism conformance ` +
    "plugins: put them in ../shared/conformance or set PLUGHOST_CONFORMANCE_DIR to run them)";
  process.stdout.write(
    `\ntests: ${passed} passed, ${failed} failed, ${skipped.length} skipped${note}\n`,
  );
  process.exit(code);
}

/** Adds a vitest JSON report's counts; returns it (null when the run wrote none). */
function count(report) {
  if (report === null) return null;
  passed += report.passed;
  failed += report.failed;
  skipped.push(...report.skipped);
  return report;
}

for (
  const [title, cmd, args] of [
    ["format", bin("deno"), ["fmt", "--check", "--quiet"]],
    ["lint", bin("deno"), ["lint", "--quiet"]],
    ["type check", bin("tsc"), ["-p", "tsconfig.json"]],
    ["layer rules", process.execPath, [join(root, "scripts", "check-layers.mjs")]],
    ["build plugins", process.execPath, [join(root, "scripts", "build-plugins.mjs"), "--if-stale"]],
    // npm install makes it too (postinstall); here for a checkout installed before it existed.
    ["binaryen lite", process.execPath, [join(root, "scripts", "binaryen-lite.mjs"), "--if-stale"]],
  ]
) {
  const result = step(title, cmd, args);
  if (result.status !== 0) {
    process.stderr.write(`npm test: ${title} failed (exit ${result.status})\n`);
    finish(1);
  }
}

rmSync(vitestJson, { force: true });
const node = step("vitest (Node)", bin("vitest"), [
  "run",
  "--reporter=default",
  "--reporter=json",
  `--outputFile.json=${vitestJson}`,
]);
count(vitestReport(vitestJson, root));
if (node.status !== 0) {
  if (failed === 0) failed = 1;
  finish(1);
}

const deno = step("deno test (Deno)", bin("deno"), ["test", "--allow-all", "test/deno/"], {
  capture: true,
});
const denoTest = denoTestReport(deno.stdout ?? "");
passed += denoTest.passed;
failed += denoTest.failed;
skipped.push(...denoTest.ignored.map((name) => ({ file: "test/deno", name })));
if (deno.status !== 0 && failed === 0) failed = 1;

// The vitest suites again, on Deno (test/deno/vitest.config.ts; docs/deno.md says what runs).
const denoVitestJson = join(root, "build", "vitest-deno-results.json");
rmSync(denoVitestJson, { force: true });
const denoVitest = step("vitest (Deno)", bin("deno"), [
  "run",
  "--allow-all",
  join(root, "node_modules", "vitest", "vitest.mjs"),
  "run",
  "--config",
  "test/deno/vitest.config.ts",
  "--reporter=default",
  "--reporter=json",
  `--outputFile.json=${denoVitestJson}`,
]);
const denoVitestReport = count(vitestReport(denoVitestJson, root));
if (denoVitest.status !== 0 && failed === 0) failed = 1;
process.stdout.write(`\n${denoSummary({ root, denoTest, denoVitest: denoVitestReport })}\n`);
finish(deno.status === 0 && node.status === 0 && denoVitest.status === 0 ? 0 : 1);
