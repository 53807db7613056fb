/**
 * A revoked signer's calls in flight end wherever they run (issue 13): in the
 * plugin's current sandbox, in one a config change's restart or an upgrade
 * replaced (still draining its calls), in one whose plugin was unloaded just
 * before, and while queued for an instance. Found by two adversarial reviews
 * on 2026-12-06: those calls ran on to their own end after the revocation.
 */
import { afterEach, describe, expect, it } from "vitest";
import { createRuntime, type InvokeResult, type PluginRuntime } from "../../host/core/mod.ts";
import { setPath } from "../../host/plugin-config/mod.ts";
import type { HostFunction } from "../../host/sandbox/mod.ts";
import { type SigningKey, signPlugin } from "../../host/trust/mod.ts";
import { newKey, trustStoreOf } from "../helpers/signing.ts";
import { tempStore } from "../helpers/store.ts";
import { fixture, utf8 } from "../sandbox/fixtures.ts";

const ID = "test.revoke-retired";
const manifest = (version: string) => ({
  schemaVersion: 1,
  id: ID,
  version,
  name: "Revoke retired",
  engines: { host: "^0.1.0", abi: 1 },
  capabilities: { get: { export: "get" }, get_gated: { export: "get_gated" } },
  config: {
    schema: { type: "object", properties: { greeting: { type: "string" } } },
    default: { greeting: "Hello" },
  },
  limits: { timeoutMs: 30_000 },
});

let runtime: PluginRuntime | undefined;
let cleanup: (() => Promise<void>) | undefined;
let openGate = () => {};
afterEach(async () => {
  openGate();
  await runtime?.close();
  await cleanup?.();
  runtime = undefined;
});

/**
 * A worker-mode plugin whose `get_gated` waits in a host function until the
 * gate opens, and one such call already waiting there.
 */
async function setup() {
  const key: SigningKey = await newKey();
  let store;
  ({ store, cleanup } = await tempStore());
  let entered = () => {};
  const gateOpen = new Promise<void>((resolve) => (openGate = resolve));
  const gate: HostFunction = async () => {
    entered();
    await gateOpen;
    return new Uint8Array();
  };
  const rt = createRuntime({
    store,
    trust: trustStoreOf(key),
    config: { variables: {} },
    hostFunctions: () => ({ functions: { gate }, needsWorker: true }),
  });
  runtime = rt;
  const sign = async (version: string) =>
    (await signPlugin(fixture("kernel-config"), key, {
      manifest: JSON.stringify(manifest(version)),
    })).wasm;
  const info = await rt.load(await sign("1.0.0"), "test");
  expect(info.mode).toBe("worker");
  const gated = () =>
    rt.invoke({ pluginId: ID, capability: "get_gated", input: utf8("greeting"), trigger: "cli" });
  const inGate = new Promise<void>((resolve) => (entered = resolve));
  const call = gated();
  await inGate;
  return { rt, call, gated, sign, manifest: info.manifest };
}

/** The call's outcome after at most `ms`: its error class, `ok`, or `still running`. */
async function within(call: Promise<InvokeResult>, ms: number): Promise<string> {
  const timer = new Promise<"still running">((r) => setTimeout(() => r("still running"), ms));
  const settled = await Promise.race([call, timer]);
  if (settled === "still running") return settled;
  return settled.ok ? "ok" : settled.error.class;
}

describe("a revoked signer's calls in flight", () => {
  it("end in the current sandbox", async () => {
    const { rt, call } = await setup();
    await rt.unload(ID, { trusted: false });
    expect(await within(call, 3000)).toBe("verification_failed");
  }, 60_000);

  it("end in the sandbox a config change's restart replaced", async () => {
    const { rt, call, manifest } = await setup();
    await rt.configs.change(manifest, { by: "test", edit: (c) => setPath(c, ["greeting"], "Hi") });
    await rt.configChanged(ID); // a fresh sandbox takes new calls; the old one drains this one
    await rt.unload(ID, { trusted: false });
    expect(await within(call, 3000)).toBe("verification_failed");
  }, 60_000);

  it("end in the previous version's sandbox after an upgrade", async () => {
    const { rt, call, sign } = await setup();
    await rt.load(await sign("1.0.1"), "test");
    await rt.unload(ID, { trusted: false });
    expect(await within(call, 3000)).toBe("verification_failed");
  }, 60_000);

  it("end in the sandbox of a plugin unloaded before the revocation (endRetiring)", async () => {
    const { rt, call } = await setup();
    await rt.unload(ID); // trusted: its call runs on
    expect(rt.get(ID)).toBeUndefined();
    expect(await within(call, 300)).toBe("still running");
    await rt.endRetiring(() => true);
    expect(await within(call, 3000)).toBe("verification_failed");
  }, 60_000);

  it("leave a retired sandbox alone while its signer is trusted", async () => {
    const { rt, call } = await setup();
    await rt.unload(ID);
    await rt.endRetiring(() => false);
    expect(await within(call, 300)).toBe("still running");
    openGate();
    expect(await within(call, 5000)).toBe("ok");
  }, 60_000);

  it("end while queued for an instance, with the same error", async () => {
    const { rt, call, gated } = await setup();
    // Two calls run at once (concurrency 2): the second holds the other slot, the third waits.
    const second = gated();
    await new Promise((r) => setTimeout(r, 500));
    const third = gated();
    await new Promise((r) => setTimeout(r, 200));
    await rt.unload(ID, { trusted: false });
    const classes = await Promise.all([call, second, third].map((c) => within(c, 5000)));
    expect(classes).toEqual(["verification_failed", "verification_failed", "verification_failed"]);
  }, 60_000);
});
