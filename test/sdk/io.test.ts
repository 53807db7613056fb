import { join } from "node:path";
import type { Plugin } from "@extism/extism";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sdkPlugin } from "./abi-harness.ts";
import { compileAssemblyScript, root } from "./asc.ts";

let plugin: Plugin;
const logged: string[] = [];
const logger = {
  ...console,
  error: (text: string): void => void logged.push(text),
} as Console;

beforeAll(async () => {
  const wasm = await compileAssemblyScript(join(root, "sdk/as/test/greet.ts"));
  plugin = await sdkPlugin(wasm, { logger, logLevel: "error" });
});
afterAll(async () => {
  await plugin?.close();
});

describe("sdk/as io", () => {
  it("reads JSON input and writes JSON output with non-ASCII text intact", async () => {
    const out = await plugin.call("greet", JSON.stringify({ name: "Zoë" }));
    expect(out?.json()).toEqual({ greeting: "Hello, Zoë!", length: 3 });
    const astral = await plugin.call(
      "greet",
      JSON.stringify({ name: "日本 🎉" }),
    );
    // length is in UTF-16 code units inside AssemblyScript, as in JavaScript.
    expect(astral?.json()).toEqual({
      greeting: "Hello, 日本 🎉!",
      length: "日本 🎉".length,
    });
  });

  it("fails the call with a clear message on input that is not JSON", async () => {
    await expect(plugin.call("greet", "{not json")).rejects.toThrow();
    // The SDK's abort handler logs the reason before the trap ends the call.
    expect(logged.join("\n")).toMatch(
      /input is not valid JSON: expected a string key at offset 1/,
    );
  });
});
