import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { HostError } from "../../host/errors.ts";
import { createRuntime, type PluginRuntime } from "../../host/core/mod.ts";
import type { Store } from "../../host/store/mod.ts";
import { newKey, signedFirstParty, trustStoreOf } from "../helpers/signing.ts";
import { tempStore } from "../helpers/store.ts";

const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

describe("plugin runtime", () => {
  let store: Store;
  let cleanup: () => Promise<void>;
  let runtime: PluginRuntime | undefined;

  beforeEach(async () => {
    ({ store, cleanup } = await tempStore());
  });
  afterEach(async () => {
    await runtime?.close();
    runtime = undefined;
    await cleanup();
  });

  it("loads a signed plugin and records an ok run with digests and usage", async () => {
    const key = await newKey();
    runtime = createRuntime({ store, trust: trustStoreOf(key) });
    const info = await runtime.load(await signedFirstParty("hello", key), "test");
    expect(info).toMatchObject({
      id: "example.hello",
      version: "1.0.0",
      state: "enabled",
      unsigned: false,
    });
    expect(info.signers.map((s) => s.keyId)).toEqual([key.keyId]);

    const result = await runtime.invoke({
      pluginId: "example.hello",
      capability: "greet",
      input: json({ name: "Zoë" }),
      trigger: "cli",
      durable: true,
    });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(JSON.parse(text(result.output))).toEqual({ message: "Hello, Zoë!" });
    expect(result.usage.fuel).toBeGreaterThan(0);

    const record = await store.runs.get(result.runId);
    expect(record).toMatchObject({
      status: "ok",
      pluginId: "example.hello",
      pluginVersion: "1.0.0",
      capability: "greet",
      export: "greet",
      trigger: "cli",
      moduleDigest: `sha256:${info.digest}`,
      error: null,
    });
    expect(record?.inputDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(record?.outputDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(record?.usage.fuel).toBe(result.usage.fuel);
    const events = await store.events.query({ runId: result.runId });
    expect(events.events.map((e) => e.type)).toEqual(["run.finished"]);
  });

  it("records a plugin_error run with its class and message, and a run.failed event", async () => {
    const key = await newKey();
    runtime = createRuntime({ store, trust: trustStoreOf(key) });
    await runtime.load(await signedFirstParty("hello", key), "test");
    // Empty input is no input: nothing for the schema to check, the plugin itself refuses it.
    const result = await runtime.invoke({
      pluginId: "example.hello",
      capability: "greet",
      input: new Uint8Array(),
      trigger: "http",
      durable: true,
    });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.class).toBe("plugin_error");
    const record = await store.runs.get(result.runId);
    expect(record?.status).toBe("error");
    expect(record?.error?.class).toBe("plugin_error");
    expect(record?.error?.message).toContain("not valid JSON");
    const events = await store.events.query({ runId: result.runId });
    expect(events.events[0]?.type).toBe("run.failed");
  });

  it("refuses a plugin signed by a key it does not trust", async () => {
    const signer = await newKey("stranger");
    runtime = createRuntime({ store, trust: trustStoreOf(await newKey("operator")) });
    const error = await runtime.load(await signedFirstParty("hello", signer), "test").catch((e) =>
      e
    );
    expect(error).toBeInstanceOf(HostError);
    expect((error as HostError).code).toBe("verification_failed");
    expect(runtime.list()).toEqual([]);
  });

  it("loads an untrusted plugin in dev mode and says so with a warn event", async () => {
    runtime = createRuntime({ store, trust: trustStoreOf(), allowUnsigned: true });
    const info = await runtime.load(await signedFirstParty("hello", await newKey()), "test");
    expect(info.unsigned).toBe(true);
    await store.flush();
    const events = await store.events.query({ type: "plugin.unverified" });
    expect(events.events).toHaveLength(1);
    expect(events.events[0]?.level).toBe("warn");
  });

  it("answers not_found for an unknown plugin or capability, and conflict when disabled", async () => {
    const key = await newKey();
    runtime = createRuntime({ store, trust: trustStoreOf(key) });
    await runtime.load(await signedFirstParty("hello", key), "test");
    const call = (pluginId: string, capability: string) =>
      runtime!.invoke({ pluginId, capability, input: json({ name: "x" }), trigger: "cli" });
    await expect(call("example.nope", "greet")).rejects.toThrow(/No plugin 'example.nope'/);
    await expect(call("example.hello", "shout")).rejects.toThrow(
      /no capability 'shout' \(it has: greet\)/,
    );
    runtime.setState("example.hello", "disabled");
    await expect(call("example.hello", "greet")).rejects.toThrow(/disabled/);
  });
});
