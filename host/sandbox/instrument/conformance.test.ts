/**
 * Extism's own test plugins (../shared/conformance/extism-js-sdk/, built by
 * others): instrumented, they validate and give the same results as the
 * originals under the plain Extism SDK, with the same fuel on every run.
 */
import createPlugin, { type Plugin } from "@extism/extism";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { customContents, readSections } from "../../artifact/mod.ts";
import {
  conformanceDir as dir,
  conformanceTitle,
  hasConformance,
} from "../../../test/helpers/conformance.ts";
import { instrument } from "./mod.ts";

const read = (name: string) => new Uint8Array(readFileSync(join(dir, name)));
const BUDGET = 1n << 50n;
const CAP = 1024; // 64 MiB

interface Case {
  file: string;
  fn: string;
  input?: string;
  wasi?: boolean;
  config?: Record<string, string>;
  linked?: string;
}

const cases: Case[] = [
  { file: "code.wasm", fn: "count_vowels", input: "hello world" },
  { file: "hello_haskell.wasm", fn: "testing", input: "John", wasi: true },
  { file: "fail.wasm", fn: "run_test" },
  { file: "var.wasm", fn: "run_test", wasi: true },
  { file: "log.wasm", fn: "run_test", wasi: true },
  { file: "input_offset.wasm", fn: "input_offset_length", input: "hello" },
  { file: "alloc.wasm", fn: "run_test" },
  { file: "config.wasm", fn: "run_test", wasi: true, config: { thing: "x" } },
  { file: "reflect.wasm", fn: "reflect", input: "Hello, world!", linked: "upper.wasm" },
];

interface Outcome {
  output: string | null;
  error: string | null;
  logs: string[];
  fuel: bigint | null;
}

// Instrumenting a large plugin takes seconds: do it once per file.
const instrumented = new Map<string, Uint8Array>();
function instrumentOnce(file: string): Uint8Array {
  let bytes = instrumented.get(file);
  if (bytes === undefined) {
    bytes = instrument(read(file), { memoryMaxPages: CAP }).bytes;
    instrumented.set(file, bytes);
  }
  return bytes;
}

async function run(c: Case, metered: boolean): Promise<Outcome> {
  const prepare = (file: string) => metered ? instrumentOnce(file) : read(file);
  const wasm = [{ data: prepare(c.file), name: "main" }];
  if (c.linked !== undefined) {
    wasm.unshift({ data: prepare(c.linked), name: "extism:host/user" });
  }
  const logs: string[] = [];
  const log = (level: string) => (message: string) => logs.push(`${level}: ${message}`);
  const logger = {
    trace: log("trace"),
    debug: log("debug"),
    info: log("info"),
    warn: log("warn"),
    error: log("error"),
  } as unknown as Console;
  const plugin: Plugin = await createPlugin({ wasm, config: c.config }, {
    useWasi: c.wasi === true,
    logger,
    logLevel: "trace",
  });
  try {
    let fuel: WebAssembly.Global | null = null;
    if (metered) {
      const global = (await plugin.getInstance()).exports.plughost_fuel;
      if (!(global instanceof WebAssembly.Global)) throw new Error("no plughost_fuel export");
      fuel = global;
      fuel.value = BUDGET;
    }
    let output: string | null = null;
    let error: string | null = null;
    try {
      const result = await plugin.call(c.fn, c.input ?? "");
      output = result === null ? null : Buffer.from(result.bytes()).toString("base64");
    } catch (e) {
      error = e instanceof Error ? e.message : String(e);
    }
    return { output, error, logs, fuel: fuel === null ? null : BUDGET - (fuel.value as bigint) };
  } finally {
    await plugin.close();
  }
}

// Without the plugins (a clone elsewhere) the suite skips under a title that says how to run it.
describe.skipIf(!hasConformance)(
  conformanceTitle("Extism conformance plugins, instrumented"),
  () => {
    for (const c of cases) {
      it(`${c.file} ${c.fn}: validates and behaves as the original, with stable fuel`, async () => {
        expect(WebAssembly.validate(instrumentOnce(c.file) as BufferSource)).toBe(true);
        const original = await run(c, false);
        const first = await run(c, true);
        const second = await run(c, true);
        expect(first.output).toEqual(original.output);
        expect(first.error).toEqual(original.error);
        expect(first.logs).toEqual(original.logs);
        expect(first.fuel).toBeGreaterThan(0n);
        expect(second.fuel).toBe(first.fuel);
        expect(second.output).toEqual(original.output);
      }, 120_000);
    }

    it(
      "http.wasm and consume.wasm instrument to valid modules with the same imports and exports",
      () => {
        for (const file of ["http.wasm", "consume.wasm", "upper.wasm"]) {
          const bytes = read(file);
          const out = instrument(bytes, { memoryMaxPages: CAP });
          const a = new WebAssembly.Module(bytes as BufferSource);
          const b = new WebAssembly.Module(out.bytes as BufferSource);
          expect(WebAssembly.Module.imports(b)).toEqual(WebAssembly.Module.imports(a));
          const added = WebAssembly.Module.exports(b).slice(WebAssembly.Module.exports(a).length);
          expect(WebAssembly.Module.exports(b).slice(0, -added.length)).toEqual(
            WebAssembly.Module.exports(a),
          );
          // The fuel, the mutable globals a reset restores (the stack pointer, the meter's
          // counter), the marker that the module's state can be reset (state.ts), and, for a
          // module whose memory starts at 16 pages or more, the write tracking's three
          // functions (dirty.ts), and, for a module whose code reads or grows the memory's size,
          // the size it sees (virtual-memory.ts).
          const has = (name: string) => WebAssembly.Module.exports(b).some((e) => e.name === name);
          const tail = [
            "global plughost_resettable",
            ...(has("plughost_dirty_take")
              ? [
                "function plughost_dirty_mark",
                "function plughost_dirty_take",
                "function plughost_dirty_init",
              ]
              : []),
            ...(has("plughost_memory_pages") ? ["global plughost_memory_pages"] : []),
          ];
          expect(added[0]).toEqual({ name: "plughost_fuel", kind: "global" });
          expect(added.slice(-tail.length).map((e) => `${e.kind} ${e.name}`)).toEqual(tail);
          expect(added.slice(1, -tail.length).map((e) => `${e.kind} ${e.name}`)).toEqual(
            added.slice(1, -tail.length).map((_, i) => `global plughost_state_${i}`),
          );
        }
      },
      120_000,
    );

    it("custom sections other than DWARF and names survive byte for byte", () => {
      for (const file of ["code.wasm", "hello_haskell.wasm", "var.wasm"]) {
        const bytes = read(file);
        const out = instrumentOnce(file);
        const keep = (b: Uint8Array) =>
          readSections(b)
            .filter((s) => s.id === 0 && s.name !== "name" && !s.name?.startsWith(".debug_"))
            .map((s) => [s.name, Buffer.from(customContents(b, s)).toString("base64")]);
        expect(keep(out).sort()).toEqual(keep(bytes).sort());
      }
    }, 120_000);
  },
);
