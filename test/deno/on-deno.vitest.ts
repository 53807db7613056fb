/**
 * Run by test/deno/vitest.config.ts only (vitest under Deno): proves that the test files of that
 * run execute on Deno, not on a Node the harness might have started instead.
 * @module
 */
import process from "node:process";
import { expect, it } from "vitest";

const deno = (globalThis as { Deno?: { version: { deno: string }; execPath(): string } }).Deno;

it("runs this test file on Deno", () => {
  expect(deno?.version.deno).toMatch(/^2\./);
  expect(process.execPath).toBe(deno?.execPath());
});
