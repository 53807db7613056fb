/**
 * sdk/c/plughost.h: compiles a small C plugin with clang for wasm32 and runs
 * it with Extism against the ABI harness. Needs clang and wasm-ld (Debian:
 * `apt-get install -y clang lld`); without them the test is skipped and its
 * name says why.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { requests, sdkPlugin, store } from "./abi-harness.ts";
import { root } from "./asc.ts";

function found(tool: string): boolean {
  return spawnSync(tool, ["--version"], { stdio: "ignore" }).status === 0;
}
const toolchain = found("clang") && found("wasm-ld");
const why = toolchain
  ? ""
  : " (SKIPPED: clang and wasm-ld not found; apt-get install -y clang lld)";

describe("sdk/c/plughost.h", () => {
  it.skipIf(!toolchain)(
    `builds a C plugin that counts in KV and echoes UTF-8${why}`,
    async () => {
      const dir = mkdtempSync(join(tmpdir(), "plughost-c-"));
      try {
        const out = join(dir, "counter.wasm");
        execFileSync("clang", [
          "--target=wasm32-unknown-unknown",
          "-nostdlib",
          "-ffreestanding",
          "-O2",
          "-Wall",
          "-Werror",
          "-Wl,--no-entry",
          "-I",
          join(root, "sdk/c"),
          "-o",
          out,
          join(root, "sdk/c/test/counter.c"),
        ]);
        const wasm = readFileSync(out);
        // Both copy paths: the bulk functions (main thread) and the 8-byte kernel fallback.
        for (const path of ["bulk", "kernel"] as const) {
          const logged: string[] = [];
          const logger = {
            ...console,
            info: (t: string): void => void logged.push(t),
          } as Console;
          const plugin = await sdkPlugin(wasm, { path, logger, logLevel: "info" });
          store.clear();
          requests.length = 0;
          expect((await plugin.call("count", ""))?.json()).toEqual({ count: 1 });
          expect((await plugin.call("count", ""))?.json()).toEqual({ count: 2 });
          expect(store.get("count")).toBe("2");
          expect(requests.slice(0, 2)).toEqual([
            { fn: "kv_get", req: { key: "count" } },
            { fn: "kv_set", req: { key: "count", value: "1" } },
          ]);
          const input = JSON.stringify({ name: "Zoë 🎉" });
          expect((await plugin.call("echo", input))?.text()).toBe(
            `{"echo":${input}}`,
          );
          expect(logged).toEqual(["echo: done, Zoë"]);
          await plugin.close();
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
