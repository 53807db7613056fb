/**
 * Extism's own test plugins (built by others, read from ../shared) run through
 * the real `host call` CLI and give the results their README promises.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.ts";
import { conformanceDir, conformanceTitle, hasConformance } from "../helpers/conformance.ts";

const plugin = (name: string) => join(conformanceDir, name);
// Third-party plugins carry no plughost signature; running them needs the dev escape hatch.
const unsigned = ["--allow-unsigned"];

async function callJson(file: string, exportName: string, extra: string[] = []) {
  const result = await runCli(["call", plugin(file), exportName, "--json", ...unsigned, ...extra]);
  const parsed = JSON.parse(result.stdout) as {
    ok: boolean;
    output?: unknown;
    error?: { class: string; message: string };
  };
  return { ...result, parsed };
}

// Without the plugins (a clone elsewhere) the suite skips under a title that says how to run it.
describe.skipIf(!hasConformance)(
  conformanceTitle("Extism conformance plugins through host call"),
  () => {
    it("code.wasm count_vowels counts vowels", async () => {
      const { code, parsed } = await callJson("code.wasm", "count_vowels", [
        "--input",
        "hello world",
      ]);
      expect(code).toBe(0);
      expect(parsed.output).toEqual({ count: 3, total: 3, vowels: "aeiouAEIOU" });
    });

    it("hello_haskell.wasm testing greets (needs WASI)", async () => {
      const { code, parsed } = await callJson("hello_haskell.wasm", "testing", [
        "--input",
        "John",
        "--wasi",
      ]);
      // The run's error, if any, in the failure message: a busy-core CI run failed here with
      // exit 1 and nothing to say why.
      expect(code, JSON.stringify(parsed.error)).toBe(0);
      expect(parsed.output).toBe("Hello, John");
    });

    it("fail.wasm run_test surfaces the plugin's own error message", async () => {
      const { code, parsed } = await callJson("fail.wasm", "run_test");
      expect(code).toBe(1);
      expect(parsed.ok).toBe(false);
      expect(parsed.error?.class).toBe("plugin_error");
      expect(parsed.error?.message).toContain("Some error message");
    });

    it("fail.wasm without --json prints a one-line error to stderr and exits 1", async () => {
      const result = await runCli(["call", plugin("fail.wasm"), "run_test", ...unsigned]);
      expect(result.code).toBe(1);
      expect(result.stdout).toBe("");
      expect(result.stderr.trim().split("\n")).toHaveLength(1);
      expect(result.stderr).toContain("Some error message");
    });

    it("input_offset.wasm returns the input length as a little-endian u64", async () => {
      const result = await runCli([
        "call",
        plugin("input_offset.wasm"),
        "input_offset_length",
        "--input",
        "hello",
        ...unsigned,
      ]);
      expect(result.code).toBe(0);
      // 5 as 8 little-endian bytes; printed raw, followed by the CLI's newline.
      expect([...Buffer.from(result.stdout, "latin1")].slice(0, 8)).toEqual([
        5,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
      ]);
    });

    it("alloc.wasm run_test succeeds with no output", async () => {
      const { code, parsed } = await callJson("alloc.wasm", "run_test");
      expect(code).toBe(0);
      expect(parsed.ok).toBe(true);
    });

    it("var.wasm run_test reads an unset var as 0 (needs WASI)", async () => {
      const { code, parsed } = await callJson("var.wasm", "run_test", ["--wasi"]);
      expect(code).toBe(0);
      expect(parsed.output).toBe("a: 0");
    });

    it("an export that does not exist fails with load_error naming it", async () => {
      const { code, parsed } = await callJson("code.wasm", "no_such_export");
      expect(code).toBe(1);
      expect(parsed.error?.message).toContain("no_such_export");
    });
  },
);
