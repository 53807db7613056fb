/**
 * Extism's kernel config (`extism:host/env` config_get, the PDKs'
 * `Config.get`) follows the effective config: the mapping to plain strings;
 * a plugin reading it (test/fixtures/kernel-config.wat) sees the manifest
 * default at first and an operator's stored change at its next call, without
 * a reload, in main-thread and worker mode and on a second host over the same
 * database; calls in flight during the change
 * (running or queued for an instance) finish on their old instances with the
 * old values; one restart per change.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRuntime, type PluginRuntime } from "../../host/core/mod.ts";
import { KernelConfigSync } from "../../host/core/kernel-config.ts";
import type { Manifest } from "../../host/manifest/mod.ts";
import { configEnvName, kernelConfig, setPath } from "../../host/plugin-config/mod.ts";
import type { HostFunction } from "../../host/sandbox/mod.ts";
import { type SigningKey, signPlugin } from "../../host/trust/mod.ts";
import { newKey, trustStoreOf } from "../helpers/signing.ts";
import { tempStore } from "../helpers/store.ts";
import { fixture, text, utf8 } from "../sandbox/fixtures.ts";

describe("kernel config mapping", () => {
  it("top-level keys and dotted nested keys; strings as they are, other values as JSON text", () => {
    const config = kernelConfig({
      greeting: "Hello",
      port: 25,
      on: true,
      none: null,
      list: ["a", 1],
      smtp: { host: "localhost", tls: { enabled: false } },
      "smtp.host": "literal wins",
      odd: { "a.b": 1, "": 2 },
    });
    expect({ ...config }).toEqual({
      greeting: "Hello",
      port: "25",
      on: "true",
      none: "null",
      list: '["a",1]',
      smtp: '{"host":"localhost","tls":{"enabled":false}}',
      "smtp.host": "literal wins",
      "smtp.tls": '{"enabled":false}',
      "smtp.tls.enabled": "false",
      odd: '{"a.b":1,"":2}',
    });
    // Extism looks keys up with `in`: nothing inherited may answer.
    expect("toString" in config).toBe(false);
  });
});

describe("one kernel-config restart per change", () => {
  it("concurrent runs that saw a change share one restart; older or string-equal configs restart nothing", async () => {
    const target = { config: kernelConfig({ a: 1 }) };
    let restarts = 0;
    let release = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    const sync = new KernelConfigSync("p", target, 1, async () => {
      restarts++;
      await held;
    });
    const both = Promise.all([sync.apply({ a: 2 }, 2), sync.apply({ a: 2 }, 2)]);
    release();
    await both;
    expect(restarts).toBe(1);
    expect({ ...target.config }).toEqual({ a: "2" });
    await sync.apply({ a: 1 }, 1); // a run that computed its config before the change
    await sync.apply({ a: 2 }, 3); // a change that leaves the strings alone
    expect(restarts).toBe(1);
    expect({ ...target.config }).toEqual({ a: "2" });
  });

  it("a failed restart keeps the old config, is a host_error, and the next run tries again", async () => {
    const target = { config: kernelConfig({ a: 1 }) };
    let fail = true;
    const sync = new KernelConfigSync("p", target, 1, () => {
      if (fail) return Promise.reject(new Error("no memory"));
      return Promise.resolve();
    });
    await expect(sync.apply({ a: 2 }, 2)).rejects.toMatchObject({ code: "host_error" });
    expect({ ...target.config }).toEqual({ a: "1" });
    fail = false;
    await sync.apply({ a: 2 }, 2);
    expect({ ...target.config }).toEqual({ a: "2" });
  });
});

const ID = "test.kernel-config";
const manifest = {
  schemaVersion: 1,
  id: ID,
  version: "1.0.0",
  name: "Kernel config",
  engines: { host: "^0.1.0", abi: 1 },
  capabilities: { get: { export: "get" }, get_gated: { export: "get_gated" } },
  config: {
    schema: {
      type: "object",
      properties: {
        greeting: { type: "string" },
        smtp: {
          type: "object",
          properties: { host: { type: "string" }, port: { type: "integer" } },
        },
      },
    },
    default: { greeting: "Hello", smtp: { host: "localhost", port: 25 } },
  },
};

for (const mode of ["main", "worker"] as const) {
  describe(`a plugin reads Extism's config (${mode} mode)`, () => {
    let runtime: PluginRuntime;
    let cleanup: () => Promise<void>;
    let plugin: Manifest;
    // Worker mode: get_gated waits in the host function `gate` until the test opens it.
    const entered: Array<() => void> = [];
    let open = () => {};
    const gateOpen = new Promise<void>((resolve) => (open = resolve));
    const gate: HostFunction = mode === "main" ? () => new Uint8Array() : async () => {
      entered.shift()?.();
      await gateOpen;
      return new Uint8Array();
    };

    let key: SigningKey;
    let signed: Uint8Array;
    beforeAll(async () => {
      key = await newKey();
      let store;
      ({ store, cleanup } = await tempStore());
      runtime = createRuntime({
        store,
        trust: trustStoreOf(key),
        config: { variables: {} },
        hostFunctions: () => ({ functions: { gate }, needsWorker: mode === "worker" }),
      });
      signed = (await signPlugin(fixture("kernel-config"), key, {
        manifest: JSON.stringify(manifest),
      })).wasm;
      const info = await runtime.load(signed, "test");
      expect(info.mode).toBe(mode);
      plugin = info.manifest;
    }, 120_000);
    afterAll(async () => {
      open();
      await runtime?.close();
      await cleanup?.();
    });

    const get = async (key: string, capability = "get") => {
      const result = await runtime.invoke({
        pluginId: ID,
        capability,
        input: utf8(key),
        trigger: "cli",
      });
      if (!result.ok) throw new Error(`${result.error.class}: ${result.error.message}`);
      return text(result.output);
    };
    const set = (key: string, value: unknown) =>
      runtime.configs.change(plugin, {
        by: "test",
        edit: (current) => setPath(current, key.split("."), value),
      });

    it("sees the manifest default at first", async () => {
      expect(await get("greeting")).toBe("Hello");
      expect(await get("smtp.port")).toBe("25");
      expect(JSON.parse(await get("smtp"))).toEqual({ host: "localhost", port: 25 });
      expect(await get("nope")).toBe("");
    });

    if (mode === "main") {
      it("sees a stored change at its next call, without a reload, on a second host too", async () => {
        // A second runtime over the same database, as a second `host serve` would be.
        const second = createRuntime({
          store: runtime.store,
          trust: trustStoreOf(key),
          config: { variables: {} },
          hostFunctions: () => ({ functions: { gate }, needsWorker: false }),
        });
        try {
          await second.load(signed, "test");
          const secondGet = async (name: string) => {
            const result = await second.invoke({
              pluginId: ID,
              capability: "get",
              input: utf8(name),
              trigger: "cli",
            });
            return result.ok ? text(result.output) : result.error.message;
          };
          expect(await secondGet("greeting")).toBe("Hello");
          await set("greeting", "Hi");
          // No configChanged: the next run notices the change in the database itself.
          expect(await get("greeting")).toBe("Hi");
          expect(await secondGet("greeting")).toBe("Hi");
          await set("smtp.port", 2525);
          expect(await get("smtp.port")).toBe("2525");
          expect(await get("greeting")).toBe("Hi");
          expect(await secondGet("smtp.port")).toBe("2525");
        } finally {
          await second.close();
        }
      });

      it("a config the host cannot use still loads (from the default); its runs are refused", async () => {
        const variables = { [configEnvName(ID, ["smtp", "port"])]: "not a port" };
        const third = createRuntime({
          store: runtime.store,
          trust: trustStoreOf(key),
          config: { variables },
          hostFunctions: () => ({ functions: { gate }, needsWorker: false }),
        });
        try {
          expect((await third.load(signed, "test")).id).toBe(ID);
          await expect(
            third.invoke({
              pluginId: ID,
              capability: "get",
              input: utf8("greeting"),
              trigger: "cli",
            }),
          )
            .rejects.toMatchObject({ code: "invalid_config" });
        } finally {
          await third.close();
        }
      });
    } else {
      it("calls in flight during a change finish with the old values; the next call sees the new", async () => {
        const inside = [0, 1].map(() => new Promise<void>((resolve) => entered.push(resolve)));
        // Two calls (the worker pool's two instances) held inside the plugin, at the gate.
        const held = [get("greeting", "get_gated"), get("greeting", "get_gated")];
        await Promise.all(inside);
        // A third waits in the old sandbox's queue for an instance: it must not be refused.
        held.push(get("greeting", "get_gated"));
        const gated = () =>
          runtime.metrics.series().find((s) => s.labels.capability === "get_gated")?.inflight;
        while (gated() !== 3) await new Promise((resolve) => setTimeout(resolve, 0));
        // From the run's start to the sandbox there are only microtasks (no beforeCall here).
        await new Promise((resolve) => setTimeout(resolve, 0));
        await set("greeting", "Hi");
        await runtime.configChanged(ID);
        // A fresh sandbox serves the next call while the old one still holds the two.
        expect(await get("greeting")).toBe("Hi");
        open();
        expect(await Promise.all(held)).toEqual(["Hello", "Hello", "Hello"]);
        expect(await get("greeting")).toBe("Hi");
        expect(runtime.get(ID)?.mode).toBe("worker");
      });
    }
  });
}
