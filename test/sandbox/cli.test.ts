/**
 * Acceptance: `host call` on a spinning plugin exits 1 with fuel_exhausted and
 * prints the usage, on Node and on Deno; the limit flags reach the sandbox.
 */
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.ts";
import { fixture } from "./fixtures.ts";

fixture("spin"); // builds build/fixtures/ when stale
const spin = "build/fixtures/spin.wasm";
// The hostile fixtures are bare modules (no manifest, no signature): dev mode runs them.
const dev = ["--allow-unsigned"];

for (const runtime of ["node", "deno"] as const) {
  describe(`host call with limits (${runtime})`, () => {
    it("a spinning plugin exits 1 with fuel_exhausted and its usage", async () => {
      const result = await runCli(["call", spin, "run", "--fuel", "1000000", "--json", ...dev], {
        runtime,
      });
      expect(result.code).toBe(1);
      const parsed = JSON.parse(result.stdout);
      expect(parsed.ok).toBe(false);
      expect(parsed.error.class).toBe("fuel_exhausted");
      expect(parsed.usage).toMatchObject({ fuel: 1_000_000, memoryPages: 1 });
      expect(typeof parsed.usage.durationMs).toBe("number");
    });

    it("success prints the usage too; --memory-mb and --timeout-ms are accepted", async () => {
      const result = await runCli(
        ["call", spin, "noop", "--memory-mb", "2", "--timeout-ms", "1000", "--json", ...dev],
        { runtime },
      );
      expect(result.code).toBe(0);
      const parsed = JSON.parse(result.stdout);
      expect(parsed.ok).toBe(true);
      expect(parsed.usage.memoryPages).toBe(1);
    });
  });
}

describe("host call flag errors", () => {
  it("refuses an unsigned module without --allow-unsigned, naming the reason", async () => {
    const result = await runCli(["call", spin, "run"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/no_manifest/);
    expect(result.stdout).toBe("");
  });

  it("a bad --fuel is a usage error (64)", async () => {
    const result = await runCli(["call", spin, "run", "--fuel", "lots"]);
    expect(result.code).toBe(64);
    expect(result.stderr).toContain("--fuel");
  });

  it("grow.wasm with --memory-mb 4 ends with memory_limit, without --json on stderr", async () => {
    fixture("grow");
    const result = await runCli([
      "call",
      "build/fixtures/grow.wasm",
      "run",
      "--memory-mb",
      "4",
      ...dev,
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^host call: memory_limit: /);
  });
});
