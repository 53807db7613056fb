/**
 * The window in which V8 compiles WebAssembly by its baseline compiler only
 * (host/adapter/baseline-wasm.ts, used to load binaryen): plugin code waits
 * for it to close, so no plugin module is compiled baseline-only for its life.
 * @module
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  baselineEpoch,
  baselineSettled,
  withBaselineWasm,
} from "../../host/adapter/baseline-wasm.ts";
import { loadPlugin } from "../../host/sandbox/mod.ts";
import { bundleForNode } from "../helpers/bundle.ts";
import { fixture, text, utf8 } from "./fixtures.ts";

describe("the baseline-compiler window", () => {
  it("is open only while the load runs, closes on failure too, and passes the result through", async () => {
    expect(baselineSettled()).toBeUndefined();
    let release!: (value: string) => void;
    const loading = withBaselineWasm(() => new Promise<string>((resolve) => (release = resolve)));
    const isDeno = "Deno" in globalThis;
    if (!isDeno) expect(baselineSettled()).toBeInstanceOf(Promise);
    release("binaryen");
    expect(await loading).toBe("binaryen");
    expect(baselineSettled()).toBeUndefined();
    await expect(withBaselineWasm(() => Promise.reject(new Error("no module")))).rejects.toThrow(
      "no module",
    );
    expect(baselineSettled()).toBeUndefined();
  });

  it("counts its openings and closings, so a module compiled on another thread meanwhile is known", async () => {
    // compile.ts takes an instrumenter thread's compiled module only when the epoch was even
    // (no window open) and the same before and after the job.
    const before = baselineEpoch();
    expect(before % 2).toBe(0);
    const inside = await withBaselineWasm(() => Promise.resolve(baselineEpoch()));
    if ("Deno" in globalThis) {
      expect([inside, baselineEpoch()]).toEqual([before, before]); // no window on Deno
    } else {
      expect([inside, baselineEpoch()]).toEqual([before + 1, before + 2]);
    }
  });

  it("holds a plugin's load back until it closes (Node; on Deno no flag is set, so no window opens)", async () => {
    if ("Deno" in globalThis) {
      expect(await withBaselineWasm(() => Promise.resolve(baselineSettled()))).toBeUndefined();
      return;
    }
    // The instrumenter (which opens its own window) and the compiled module are ready: what is
    // left of a load is compiling nothing and instantiating, which must wait.
    await (await loadPlugin(fixture("echo"), { mode: "main" })).close();
    let release!: () => void;
    const order: string[] = [];
    const window = withBaselineWasm(() =>
      new Promise<void>((resolve) => (release = resolve)).then(() => {
        order.push("window closed");
      })
    );
    const loading = loadPlugin(fixture("echo"), { mode: "main" }).then((plugin) => {
      order.push("plugin loaded");
      return plugin;
    });
    // Long enough for an unguarded load to finish (it takes a few ms); a guarded one waits.
    await new Promise((resolve) => setTimeout(resolve, 200));
    release();
    await window;
    const plugin = await loading;
    try {
      expect(order).toEqual(["window closed", "plugin loaded"]);
      const result = await plugin.call("run", utf8("hi"));
      expect(result.ok ? text(result.output) : result.error.message).toBe("hi");
    } finally {
      await plugin.close();
    }
  });

  it("leaves V8's tier-up on for what is compiled after it closes (Node)", async () => {
    if ("Deno" in globalThis) return; // no window on Deno
    // --liftoff-only also turns tier-up off, and clearing it does not turn tier-up back on: the
    // window must, or every plugin compiled later would run baseline code for good.
    const root = join(import.meta.dirname, "..", "..");
    mkdirSync(join(root, "build"), { recursive: true });
    const dir = mkdtempSync(join(root, "build", ".baseline-tier-"));
    try {
      writeFileSync(join(dir, "child.ts"), TIER_CHILD(join(root, "host/adapter/baseline-wasm.ts")));
      await bundleForNode(join(dir, "child.ts"), join(dir, "child.mjs"));
      const out = execFileSync(
        process.execPath,
        ["--allow-natives-syntax", join(dir, "child.mjs")],
        {
          encoding: "utf8",
          timeout: 60_000,
        },
      );
      expect(JSON.parse(out.trim().split("\n").at(-1)!)).toEqual({
        before: "turbofan",
        inside: "liftoff",
        after: "turbofan",
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);
});

/**
 * A process that runs a module with one hot function before, inside and after a window, and
 * prints the tier each reached (V8's natives: --allow-natives-syntax).
 */
const TIER_CHILD = (baselineWasm: string) => `
import { withBaselineWasm } from ${JSON.stringify(baselineWasm)};
function leb(n: number) { const o: number[] = []; do { let b = n & 0x7f; n >>>= 7; if (n) b |= 0x80; o.push(b); } while (n); return o; }
const sec = (id: number, c: number[]) => [id, ...leb(c.length), ...c];
// (func (param i32) (result i32) a loop of adds and xors by k, a two-byte LEB: k >= 0x80);
// distinct k: V8 shares the code of identical bytes.
const code = (k: number) => [0x01, 0x01, 0x7f, 0x03, 0x40, 0x20, 0x01, 0x20, 0x00, 0x6a, 0x41, k, 0x00, 0x73,
  0x21, 0x01, 0x20, 0x00, 0x41, 0x01, 0x6b, 0x22, 0x00, 0x0d, 0x00, 0x0b, 0x20, 0x01, 0x0b];
const bytes = (k: number) => new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  ...sec(0x01, [0x01, 0x60, 0x01, 0x7f, 0x01, 0x7f]), ...sec(0x03, [0x01, 0x00]),
  ...sec(0x07, [0x01, 0x01, 0x66, 0x00, 0x00]), ...sec(0x0a, [0x01, code(k).length, ...code(k)])]);
const isTurboFan = new Function("f", "return %IsTurboFanFunction(f)") as (f: unknown) => boolean;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function hotTier(module: WebAssembly.Module) {
  const f = (await WebAssembly.instantiate(module)).exports.f as (n: number) => number;
  for (let i = 0; i < 300 && !isTurboFan(f); i++) {
    f(1_000_000);
    if (i % 20 === 0) await sleep(5); // tier-up compiles in the background
  }
  return isTurboFan(f) ? "turbofan" : "liftoff";
}
const before = await hotTier(await WebAssembly.compile(bytes(0xd1)));
const inside = await withBaselineWasm(async () => hotTier(await WebAssembly.compile(bytes(0xd2))));
const after = await hotTier(await WebAssembly.compile(bytes(0xd3)));
console.log(JSON.stringify({ before, inside, after }));
`;
