/**
 * invoke: a chain of plugins with child RunRecords, a cycle refused, the
 * depth bound, denied and unknown targets.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { outputOf, type TestHost, testHost } from "./harness.ts";
import { ops, probeWasm, signedProbe } from "./probe.ts";

const call = (plugin: string, input: unknown) => ({
  fn: "invoke",
  req: { plugin, capability: "run", input },
});

describe("invoke", () => {
  let t: TestHost;
  beforeAll(async () => {
    await probeWasm();
    t = await testHost({ policy: { maxInvokeDepth: 3 } });
    const load = async (id: string, permissions: Record<string, unknown>) =>
      await t.host.runtime.load(await signedProbe(t.key, id, permissions), "test");
    await load("t.a", { invoke: ["t.b/run", "t.missing/run"] });
    await load("t.b", { invoke: ["t.a/run", "t.c/run"], kv: { quotaBytes: 100 } });
    await load("t.c", { invoke: ["t.d/run"] });
    await load("t.d", {});
  }, 120_000);
  afterAll(async () => await t?.close());

  it("runs a chain a -> b -> c with child RunRecords; the callee uses its own grants", async () => {
    const result = await t.call(
      "t.a",
      "run",
      ops(call(
        "t.b",
        ops(
          { fn: "kv_set", req: { key: "k", value: "b's" } },
          call("t.c", ops({ log: "in c" })),
        ),
      )),
    );
    expect(outputOf(result)).toEqual([{ ok: [{ ok: null }, { ok: [] }] }]);
    const records = await t.host.store.runs.list({ limit: 100 });
    const b = records.runs.find((r) => r.parentRunId === result.runId);
    expect(b).toMatchObject({ pluginId: "t.b", trigger: "invoke", status: "ok" });
    const c = records.runs.find((r) => r.parentRunId === b?.id);
    expect(c).toMatchObject({ pluginId: "t.c", trigger: "invoke", status: "ok" });
    // b wrote into its own namespace, not a's.
    expect((await t.host.store.kv.usage("t.b")).keys).toBe(1);
    expect((await t.host.store.kv.usage("t.a")).keys).toBe(0);
  });

  it("refuses a cycle a -> b -> a with invoke_refused", async () => {
    const out = outputOf(await t.call("t.a", "run", ops(call("t.b", ops(call("t.a", ops()))))));
    expect(out).toMatchObject([{ ok: [{ error: { code: "invoke_refused" } }] }]);
    expect(JSON.stringify(out)).toContain("t.a -> t.b -> t.a");
  });

  it("refuses a chain deeper than the policy (3 here)", async () => {
    const out = outputOf(
      await t.call("t.a", "run", ops(call("t.b", ops(call("t.c", ops(call("t.d", ops()))))))),
    );
    expect(out).toMatchObject([{ ok: [{ ok: [{ error: { code: "invoke_refused" } }] }] }]);
  });

  it("denies an unlisted target (audited) and answers not_found for a listed but absent one", async () => {
    const out = outputOf(
      await t.call("t.a", "run", ops(call("t.c", ops()), call("t.missing", ops()))),
    );
    expect(out).toMatchObject([
      { error: { code: "permission_denied" } },
      { error: { code: "not_found" } },
    ]);
    const audit = (await t.events({ type: "audit.denied" })).find((e) => e.pluginId === "t.a");
    expect(audit?.payload).toMatchObject({ function: "invoke", asked: { target: "t.c/run" } });
  });

  it("a plugin without invoke grants gets a synchronous permission_denied (main mode)", async () => {
    expect(t.host.runtime.get("t.d")?.mode).toBe("main");
    expect(t.host.runtime.get("t.a")?.mode).toBe("worker");
    const out = outputOf(await t.call("t.d", "run", ops(call("t.a", ops()))));
    expect(out).toMatchObject([{ error: { code: "permission_denied" } }]);
  });

  it("checks the input against the callee's input schema (invalid_input, no child run)", async () => {
    const before = (await t.host.store.runs.list({ pluginId: "t.b", limit: 1000 })).runs.length;
    const out = outputOf(await t.call("t.a", "run", ops(call("t.b", { nope: 1 }))));
    expect(out).toMatchObject([{ error: { code: "invalid_input" } }]);
    expect(JSON.stringify(out)).toContain("ops");
    expect((await t.host.store.runs.list({ pluginId: "t.b", limit: 1000 })).runs).toHaveLength(
      before,
    );
  });

  it("carries the callee's failure code back to the caller", async () => {
    const out = outputOf(await t.call("t.a", "run", ops(call("t.b", ops({ fail: "boom" })))));
    expect(out).toMatchObject([{ error: { code: "plugin_error" } }]);
    expect(JSON.stringify(out)).toContain("boom");
  });
});
