/**
 * The vitest suites run under Deno: `deno run -A npm:vitest` with this config
 * (`deno task test`). Vitest's forks pool starts each test file's worker with
 * `child_process.fork`, which Deno runs as another Deno process, so the tests
 * and the code they test run on Deno, not Node. docs/deno.md lists what is left
 * out and why; `npm test` names every file left out and every test skipped in its
 * `Deno:` summary line (scripts/test-report.mjs).
 * @module
 */
import process from "node:process";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

/**
 * End-to-end files that run the CLI (or a compiler) in child processes. They pass under Deno too
 * (the child is Deno as well), but each spends seconds per case starting processes, which the Node
 * suite already pays for; docs/deno.md has the measured cost. `PLUGHOST_DENO_E2E=1` includes them.
 */
const spawning = process.env["PLUGHOST_DENO_E2E"] === "1" ? [] : [
  "test/artifact/cli.test.ts",
  "test/author/authoring-guide.test.ts",
  "test/author/http-fixtures.test.ts",
  "test/author/config-fixtures.test.ts",
  "test/author/dev.test.ts",
  "test/author/examples.test.ts",
  "test/author/new-build-test.test.ts",
  "test/author/sdk-package.test.ts",
  "test/capabilities/authoring.test.ts",
  "test/capabilities/cli.test.ts",
  "test/cli/call-records.test.ts",
  "test/cli/completion.test.ts",
  "test/cli/config.test.ts",
  "test/cli/docs-walk.test.ts",
  "test/cli/first-run.test.ts",
  "test/cli/json-style.test.ts",
  "test/cli/secrets.test.ts",
  "test/cli/usage.test.ts",
  "test/conformance/extism-plugins.test.ts",
  "test/conformance/skips.test.ts",
  "test/lifecycle/serve.test.ts",
  "test/plugins/hello.test.ts",
  "test/replay/serve-evidence.test.ts",
  "test/sandbox/cli.test.ts",
  "test/scheduler/cli.test.ts",
  "test/scheduler/multi-host.test.ts",
  "test/scheduler/serve.test.ts",
  "test/sdk/c.test.ts",
  "test/server/cli.test.ts",
  "test/security/crash.test.ts",
  // Spawns `host serve` on Node and on Deno itself.
  "test/security/trust-serve.test.ts",
];

/**
 * Tests that fail on Deno for a reason recorded in docs/deno.md ("Known differences"), by name
 * (or describe block and name); they are skipped here (vitest reports them as skipped) and run on
 * Node. `PLUGHOST_DENO_ALL=1` runs them.
 */
export const knownDifferences: (string | [describe: string, test: string])[] = [
  // Deno's worker_threads refuse Extism's default execArgv; the test builds its plugin directly.
  "http.fetch through Extism's http_request (worker mode)",
  // JSPI: on Deno a plugin without permissions.http reaches http_request on the main thread, and
  // Extism's refusal fails the call (permission_denied) instead of answering network_error.
  "gives a plugin without permissions.http no response (network_error), audited",
  // The same JSPI path: the denied http_request ends the looping call on Deno, so its run cannot
  // go on to make 200 denials (kv and secret denials are checked on Deno too).
  ["hostile plugin looping denied calls", "http: 200 denials write 10 audit.denied events"],
  // A terminated Extism worker thread keeps running on Deno (EXTISM-FACTS.md).
  ["hostile plugins, worker mode", "Extism alloc in a loop ends with memory_limit"],
  // The same: the check's own spinning worker_threads thread outlives terminate() on Deno.
  ["spinningThreads", "sees a thread that spins, and not once it has ended"],
  // Deno.serve has no request timeout: a stalled body holds its connection (docs/security.md).
  "cuts off a client that stops sending its body (slowloris)",
];

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const skipKnown = process.env["PLUGHOST_DENO_ALL"] === "1" ? undefined : new RegExp(
  `^(?!.*(?:${
    knownDifferences.map((t) => typeof t === "string" ? escape(t) : t.map(escape).join(".*"))
      .join("|")
  }))`,
);

export default defineConfig({
  root: fileURLToPath(new URL("../..", import.meta.url)),
  test: {
    include: ["host/**/*.test.ts", "test/**/*.test.ts", "test/deno/on-deno.vitest.ts"],
    exclude: [
      "node_modules/**",
      // Deno.test files: `deno test test/deno/` runs them.
      "test/deno/*.test.ts",
      // The Node single executable: built and run by the Node suite; nothing in it runs on Deno.
      "test/binary/**",
      ...spawning,
    ],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    ...(skipKnown ? { testNamePattern: skipKnown } : {}),
  },
});
