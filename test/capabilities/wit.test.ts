/**
 * The host's registered host-function table against wit/host.wit: every
 * plugin, whatever its grants, gets exactly the functions the WIT lists.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { capabilityProvider, HOST_FUNCTION_NAMES } from "../../host/capabilities/mod.ts";
import type { Manifest } from "../../host/manifest/mod.ts";
import type { ChildRunRequest } from "../../host/core/mod.ts";
import { repoRoot } from "../helpers/cli.ts";
import { tempStore } from "../helpers/store.ts";

/** `name: func(...)` lines of `interface host { }`, as core import names (kv-get -> kv_get). */
function witFunctions(text: string): string[] {
  const body = /^interface host \{$([\s\S]*?)^\}$/m.exec(text)?.[1];
  if (body === undefined) throw new Error("wit/host.wit has no `interface host { ... }` block");
  return [...body.matchAll(/^\s*([a-z][a-z0-9-]*): func\(/gm)].map((m) =>
    m[1]!.replaceAll("-", "_")
  );
}

const wit = witFunctions(readFileSync(join(repoRoot, "wit", "host.wit"), "utf8"));

const manifest = (permissions: Manifest["permissions"]): Manifest => ({
  schemaVersion: 1,
  id: "t.wit",
  version: "1.0.0",
  name: "WIT",
  engines: { host: "^0.1.0", abi: 1 },
  capabilities: {},
  permissions,
});

describe("host-function table vs wit/host.wit", () => {
  it("the WIT lists functions, and HOST_FUNCTION_NAMES is exactly them", () => {
    expect(wit.length).toBeGreaterThan(0);
    expect([...HOST_FUNCTION_NAMES]).toEqual(wit);
  });

  it("the provider registers exactly the WIT's functions, with no grants and with all of them", async () => {
    const { store, cleanup } = await tempStore();
    try {
      const provider = capabilityProvider({ secrets: { get: () => undefined } });
      const host = {
        store,
        invoke: (_: ChildRunRequest) => Promise.reject(new Error("not in this test")),
      };
      const none = provider(manifest(undefined), host);
      const all = provider(
        manifest({
          kv: { quotaBytes: 10 },
          events: { publish: ["a.*"] },
          http: { allowedHosts: ["example.com"] },
          secrets: ["X"],
          invoke: ["a.b/c"],
        }),
        host,
      );
      for (const set of [none, all]) {
        expect(Object.keys(set.functions).sort()).toEqual([...wit].sort());
        for (const fn of Object.values(set.functions)) expect(typeof fn).toBe("function");
      }
      expect(none.needsWorker).toBe(false);
      expect(all.needsWorker).toBe(true);
    } finally {
      await cleanup();
    }
  });
});
