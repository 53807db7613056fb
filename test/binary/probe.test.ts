/**
 * The packaging probe (test/binary/probe.ts) built by the same build as
 * dist/host into its own executable, run alone in an empty directory: proves
 * that Extism's worker mode, the libSQL native addon and binaryen work inside
 * a single executable before any CLI command depends on them.
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot } from "../helpers/cli.ts";
import { conformanceDir, conformanceTitle, hasConformance } from "../helpers/conformance.ts";
import { buildExecutable, isolate, run, type Sandbox } from "./executable.ts";

// The probe runs two Extism conformance plugins; without them (a clone elsewhere) it skips, named,
// and the probe is not built.
describe.skipIf(!hasConformance)(conformanceTitle("the packaging probe"), () => {
  let box: Sandbox;

  beforeAll(() => {
    const out = join(repoRoot, "build", "binary-probe", "probe");
    const built = buildExecutable(["--entry", "test/binary/probe.ts", "--out", out]);
    box = isolate(built.path, "probe");
  }, 300_000);

  afterAll(() => {
    if (box) rmSync(box.dir, { recursive: true, force: true });
  });

  it("runs worker-mode plugins (with and without WASI), opens a libSQL file and uses binaryen", async () => {
    const result = await run(box, [conformanceDir]);
    expect(result.stderr).toBe("");
    expect(JSON.parse(result.stdout)).toEqual({
      worker: JSON.stringify({ count: 3, total: 3, vowels: "aeiouAEIOU" }),
      workerWasi: "Hello, John",
      libsql: 42,
      libsqlOffloaded: 7,
      binaryen: 42,
    });
    expect(result.code).toBe(0);
  });
});
