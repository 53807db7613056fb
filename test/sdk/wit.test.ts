/**
 * wit/host.wit against the SDKs: the functions it lists are exactly the
 * AssemblyScript SDK's "extism:host/user" imports (as a compiled module
 * declares them) and exactly sdk/c/plughost.h's, so they cannot drift.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
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

const wit = witHostFunctions(readFileSync(join(root, "wit/host.wit"), "utf8"));
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
  it("lists the seven host functions, each (request: json) -> json", () => {
    expect(wit).toEqual([
      "kv_get",
      "kv_set",
      "kv_delete",
      "kv_list",
      "event_publish",
      "secret_get",
      "invoke",
    ]);
  });

  it("matches the AssemblyScript SDK's imports", () => {
    expect([...asImports].sort()).toEqual([...wit].sort());
  });

  it("matches sdk/c/plughost.h", () => {
    const header = readFileSync(join(root, "sdk/c/plughost.h"), "utf8");
    const declared = [
      ...header.matchAll(
        /^PLUGHOST_USER\((\w+)\) plughost_handle plughost_(\w+)\(/gm,
      ),
    ]
      .map((m) => {
        expect(m[2]).toBe(m[1]);
        return m[1]!;
      });
    expect(declared).toEqual(wit);
  });
});
