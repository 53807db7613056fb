/**
 * `deno task compile` where no denort (Deno's runtime base binary) can be had:
 * it must say so, say what to do, and exit non-zero. An empty DENO_DIR and
 * --offline make that so on any machine.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { afterAll, expect, it } from "vitest";
import { repoRoot } from "../helpers/cli.ts";

const denoDir = mkdtempSync(join(tmpdir(), "plughost-deno-dir-"));
const output = join(denoDir, "host-deno");

afterAll(() => rmSync(denoDir, { recursive: true, force: true }));

function compile(args: string[], env: Record<string, string> = {}) {
  const { DENORT_BIN: _ignored, ...rest } = process.env;
  return spawnSync(
    join(repoRoot, "node_modules", ".bin", "deno"),
    ["task", "compile", `--output=${output}`, ...args],
    { cwd: repoRoot, encoding: "utf8", env: { ...rest, DENO_DIR: denoDir, NO_COLOR: "1", ...env } },
  );
}

it("says that no denort is available, and how to give one, then exits 1", () => {
  const result = compile(["--offline"]);
  expect(result.stderr).toContain("deno task compile: no denort");
  expect(result.stderr).toContain("DENORT_BIN is not set, DENO_DIR has none cached");
  expect(result.stderr).toMatch(/DENORT_BIN=\/path\/to\/denort deno task compile/);
  expect(result.status).toBe(1);
  expect(existsSync(output)).toBe(false);
});

it("refuses a DENORT_BIN that is not a file, saying which", () => {
  const missing = join(denoDir, "no-such-denort");
  const result = compile([], { DENORT_BIN: missing });
  expect(result.stderr).toContain(`DENORT_BIN is '${missing}', which is not a file`);
  expect(result.status).toBe(1);
  expect(existsSync(output)).toBe(false);
});
