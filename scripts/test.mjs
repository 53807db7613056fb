// `npm test`: every check CI runs, in order, stopping at the first failing step:
// format, lint, type check, the vitest suites on Node, the Deno suite, the vitest suites on Deno.
// Ends with one plain summary line ("N passed, N failed") over both runners.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const bin = (name) => join(root, "node_modules", ".bin", name);
const vitestJson = join(root, "build", "vitest-results.json");
let passed = 0;
let failed = 0;

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
  process.stdout.write(`\ntests: ${passed} passed, ${failed} failed\n`);
  process.exit(code);
}

for (
  const [title, cmd, args] of [
    ["format", bin("deno"), ["fmt", "--check", "--quiet"]],
    ["lint", bin("deno"), ["lint", "--quiet"]],
    ["type check", bin("tsc"), ["-p", "tsconfig.json"]],
    ["layer rules", process.execPath, [join(root, "scripts", "check-layers.mjs")]],
    ["build plugins", process.execPath, [join(root, "scripts", "build-plugins.mjs"), "--if-stale"]],
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
if (existsSync(vitestJson)) {
  const report = JSON.parse(readFileSync(vitestJson, "utf8"));
  passed += report.numPassedTests ?? 0;
  failed += report.numFailedTests ?? 0;
}
if (node.status !== 0) {
  if (failed === 0) failed = 1;
  finish(1);
}

const deno = step("deno test (Deno)", bin("deno"), ["test", "--allow-all", "test/deno/"], {
  capture: true,
});
const summary = /(\d+) passed.*?(\d+) failed/.exec(
  (deno.stdout ?? "").split("\n").filter((l) => /passed/.test(l))
    .pop() ?? "",
);
if (summary) {
  passed += Number(summary[1]);
  failed += Number(summary[2]);
}
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
if (existsSync(denoVitestJson)) {
  const report = JSON.parse(readFileSync(denoVitestJson, "utf8"));
  passed += report.numPassedTests ?? 0;
  failed += report.numFailedTests ?? 0;
}
if (denoVitest.status !== 0 && failed === 0) failed = 1;
finish(deno.status === 0 && node.status === 0 && denoVitest.status === 0 ? 0 : 1);
