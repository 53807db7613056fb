/**
 * wit/host.wit against the SDKs and the sandbox: the functions it lists
 * (`interface host` and `interface bulk-io`) are exactly the AssemblyScript
 * SDK's "extism:host/user" imports (as a compiled module declares them),
 * exactly sdk/c/plughost.h's, and the bulk ones exactly what the sandbox
 * registers, so they cannot drift.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { BULK_IO_FUNCTIONS, mainBulkIo, workerBulkIo } from "../../host/sandbox/bulk-io.ts";
import { compileAssemblyScript, root } from "./asc.ts";

/** Host function import names from wit/host.wit: `name: func(...)` lines inside `interface host { }`. */
export function witHostFunctions(text: string): string[] {
  const body = /^interface host \{$([\s\S]*?)^\}$/m.exec(text)?.[1];
  if (body === undefined) {
    throw new Error("wit/host.wit has no `interface host { ... }` block");
  }
  return [
    ...body.matchAll(
      /^\s*([a-z][a-z0-9-]*): func\(request: json\) -> json;$/gm,
    ),
  ]
    .map((m) => m[1]!.replaceAll("-", "_"));
}

/** Import names of `interface bulk-io { }`: `name: func(...)` lines. */
export function witBulkFunctions(text: string): string[] {
  const body = /^interface bulk-io \{$([\s\S]*?)^\}$/m.exec(text)?.[1];
  if (body === undefined) {
    throw new Error("wit/host.wit has no `interface bulk-io { ... }` block");
  }
  return [...body.matchAll(/^\s*([a-z][a-z0-9-]*): func\(/gm)]
    .map((m) => m[1]!.replaceAll("-", "_"));
}

const witText = readFileSync(join(root, "wit/host.wit"), "utf8");
const wit = witHostFunctions(witText);
const bulk = witBulkFunctions(witText);
let asImports: string[] = [];

beforeAll(async () => {
  const wasm = await compileAssemblyScript(
    join(root, "sdk/as/test/host_calls.ts"),
  );
  asImports = WebAssembly.Module.imports(
    new WebAssembly.Module(new Uint8Array(wasm)),
  )
    .filter((i) => i.module === "extism:host/user").map((i) => i.name);
});

describe("wit/host.wit", () => {
  it("lists the eight host functions, each (request: json) -> json", () => {
    expect(wit).toEqual([
      "kv_get",
      "kv_set",
      "kv_delete",
      "kv_list",
      "event_publish",
      "secret_get",
      "invoke",
      "progress",
      "config_get",
    ]);
  });

  it("lists the two bulk-copy functions, and the sandbox registers exactly them", () => {
    expect(bulk).toEqual(["plughost_block_read", "plughost_block_write"]);
    expect([...BULK_IO_FUNCTIONS]).toEqual(bulk);
    const linear = { memory: undefined };
    expect(Object.keys(mainBulkIo(linear))).toEqual(bulk);
    expect(Object.keys(workerBulkIo())).toEqual(bulk);
  });

  it("matches the AssemblyScript SDK's imports", () => {
    expect([...asImports].sort()).toEqual([...wit, ...bulk].sort());
  });

  it("matches sdk/c/plughost.h", () => {
    const header = readFileSync(join(root, "sdk/c/plughost.h"), "utf8");
    const declared = [
      ...header.matchAll(/^PLUGHOST_USER\((\w+)\) \w+ (\w+)\(/gm),
    ]
      .map((m) => {
        // C names carry the plughost_ prefix once: kv_get -> plughost_kv_get.
        expect(m[2]).toBe(
          m[1]!.startsWith("plughost_") ? m[1] : `plughost_${m[1]}`,
        );
        return m[1]!;
      });
    expect(declared.sort()).toEqual([...wit, ...bulk].sort());
  });
});
