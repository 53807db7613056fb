/**
 * The window in which V8 compiles WebAssembly by its baseline compiler only
 * (host/adapter/baseline-wasm.ts, used to load binaryen): plugin code waits
 * for it to close, so no plugin module is compiled baseline-only for its life.
 * @module
 */
import { describe, expect, it } from "vitest";
import { baselineSettled, withBaselineWasm } from "../../host/adapter/baseline-wasm.ts";
import { loadPlugin } from "../../host/sandbox/mod.ts";
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
});
