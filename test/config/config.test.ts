/**
 * Plugin config end to end through the core: the example.configured plugin
 * reads its config with config_get; an operator's change is validated (the
 * field named by JSON Pointer, nothing stored when it fails), versioned,
 * announced with secret fields redacted, applies to the next run here and on
 * a second host over the same database without a restart, runs the
 * onConfigChange hook, and changes the RunRecord's config fingerprint. Also:
 * environment overlays, PLUGHOST_CONFIG__ variables, and the sign-time check
 * of a default against its own schema.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolvePaths } from "../../host/config/paths.ts";
import { type OpenHost, openHost, type PluginInfo } from "../../host/core/mod.ts";
import { setPath } from "../../host/plugin-config/mod.ts";
import { MANIFEST_SECTION, setCustomSection } from "../../host/artifact/mod.ts";
import { checkPlugin, emptyTrustStore, signPlugin, verifyPlugin } from "../../host/trust/mod.ts";
import { json, outputOf, type TestHost, testHost } from "../capabilities/harness.ts";
import { firstPartyPlugin, signedFirstParty } from "../helpers/signing.ts";

const ID = "example.configured";

describe("plugin config", () => {
  let t: TestHost;
  let second: OpenHost;
  let info: PluginInfo;
  beforeAll(async () => {
    t = await testHost();
    await t.load("configured");
    info = t.host.runtime.get(ID)!;
    // A second host over the same database and data directory, as `host serve` twice would be.
    second = await openHost({
      paths: resolvePaths({}, t.home, { home: t.home }),
      installed: false,
    });
    await second.runtime.load(await signedFirstParty("configured", t.key), "test:configured");
  }, 120_000);
  afterAll(async () => {
    await second?.close();
    await t?.close();
  });

  const greetOn = async (host: OpenHost, name = "Ada") => {
    const result = await host.runtime.invoke({
      pluginId: ID,
      capability: "greet",
      input: json({ name }),
      trigger: "cli",
      durable: true,
    });
    return { result, output: outputOf(result) as { message: string } };
  };
  const set = (key: string, value: unknown, env?: string) =>
    t.host.runtime.configs.change(info.manifest, {
      by: "test",
      env,
      edit: (current) => setPath(current, key.split("."), value),
    });

  it("the plugin reads its config: the manifest default before anyone sets a value", async () => {
    expect((await greetOn(t.host)).output.message).toBe("Hello, Ada!");
    expect(outputOf(await t.call(ID, "config", { key: "smtp.port" }))).toEqual({ value: 25 });
    expect(outputOf(await t.call(ID, "config", {}))).toEqual({
      value: { greeting: "Hello", smtp: { host: "localhost", port: 25 } },
    });
    const missing = await t.call(ID, "config", { key: "nope" });
    expect(missing.ok).toBe(false);
    if (!missing.ok) expect(missing.error.message).toContain("not_found");
    expect((await greetOn(second)).output.message).toBe("Hello, Ada!");
  });

  it("a change applies to the next run on this host and on a second host, and runs onConfigChange", async () => {
    const before = await greetOn(t.host);
    const otherBefore = await greetOn(second);
    const changed = await set("greeting", "Hi");
    expect(changed).toMatchObject({ version: 1, changed: ["greeting"], env: null });
    await t.host.runtime.configChanged(ID);
    const after = await greetOn(t.host);
    expect(after.output.message).toBe("Hi, Ada!");
    // The second host never heard of the change: it sees it at its next run.
    const other = await greetOn(second);
    expect(other.output.message).toBe("Hi, Ada!");

    // The fingerprint is the effective config's (and the limits'): it moved with the greeting.
    const print = async (runId: string) => (await t.host.store.runs.get(runId))!.configFingerprint;
    expect(await print(after.result.runId)).not.toBe(await print(before.result.runId));
    expect(await print(other.result.runId)).toBe(await print(after.result.runId));
    expect(await print(otherBefore.result.runId)).toBe(await print(before.result.runId));

    // One hook run per host that saw the change (both share the plugin's KV).
    await t.host.store.flush();
    const hooks = (await t.host.store.runs.list({ pluginId: ID, limit: 100 })).runs
      .filter((r) => r.trigger === "hook");
    expect(hooks.map((r) => [r.export, r.status])).toEqual([
      ["on_config_change", "ok"],
      ["on_config_change", "ok"],
    ]);
    expect(outputOf(await t.call(ID, "changes"))).toBe(2);
    // No further hook without a further change.
    await greetOn(t.host);
    await greetOn(second);
    expect(outputOf(await t.call(ID, "changes"))).toBe(2);
  });

  it("refuses an invalid value naming the field by JSON Pointer, and stores nothing", async () => {
    const seq = await t.host.store.config.latestSeq(ID);
    const bad = await set("smtp.port", "twenty-five").catch((e) => e);
    expect(bad).toMatchObject({ code: "invalid_config", exitCode: 65, httpStatus: 422 });
    expect(bad.message).toContain("/smtp/port must be integer");
    expect(bad.extensions.errors).toEqual([{ path: "/smtp/port", message: "must be integer" }]);
    const unknown = await set("colour", "red").catch((e) => e);
    expect(unknown.extensions.errors).toEqual([
      { path: "/colour", message: "is not an allowed property" },
    ]);
    expect(await t.host.store.config.latestSeq(ID)).toBe(seq);
    expect((await greetOn(t.host)).output.message).toBe("Hi, Ada!");
  });

  it("versions every change; secret (writeOnly) fields are redacted in events, views and history", async () => {
    await set("apiKey", "sk-very-secret");
    const events = await t.events({ type: "plugin.config_changed" });
    const last = events.at(-1)!;
    expect(last.payload).toMatchObject({
      version: 2,
      changed: ["apiKey"],
      values: { greeting: "Hi", apiKey: "[redacted]" },
      by: "test",
    });
    expect(JSON.stringify(events)).not.toContain("sk-very-secret");
    const view = await t.host.runtime.configs.view(info.manifest);
    expect(view.effective).toMatchObject({ greeting: "Hi", apiKey: "[redacted]" });
    expect(view.base?.version).toBe(2);
    const history = await t.host.runtime.configs.history(info.manifest);
    expect(history.map((h) => h.version)).toEqual([2, 1]);
    expect(JSON.stringify(history)).not.toContain("sk-very-secret");
    // The plugin itself reads the value.
    expect(outputOf(await t.call(ID, "config", { key: "apiKey" }))).toEqual({
      value: "sk-very-secret",
    });
  });

  it("an environment overlay applies on a host of that environment; variables override both", async () => {
    await set("greeting", "Good day", "production");
    const prod = await openHost({
      paths: resolvePaths({}, t.home, { home: t.home }),
      installed: false,
      config: {
        env: "production",
        variables: {
          PLUGHOST_CONFIG__EXAMPLE_CONFIGURED__smtp__port: "2525",
          // Another plugin's (example.configured-x): never this plugin's `H_X.greeting`.
          PLUGHOST_CONFIG__EXAMPLE_CONFIGURED__H_X__greeting: "nope",
        },
      },
    });
    try {
      await prod.runtime.load(await signedFirstParty("configured", t.key), "test:configured");
      expect((await greetOn(prod)).output.message).toBe("Good day, Ada!");
      const port = await prod.runtime.invoke({
        pluginId: ID,
        capability: "config",
        input: json({ key: "smtp" }),
        trigger: "cli",
      });
      expect(outputOf(port)).toEqual({ value: { host: "localhost", port: 2525 } });
      const view = await prod.runtime.configs.view(info.manifest);
      expect(view.variables).toEqual(["PLUGHOST_CONFIG__EXAMPLE_CONFIGURED__smtp__port"]);
      // The base host keeps the base.
      expect((await greetOn(t.host)).output.message).toBe("Hi, Ada!");
    } finally {
      await prod.close();
    }
    // A variable off the schema refuses the run, naming the variable and the field.
    const wrong = await openHost({
      paths: resolvePaths({}, t.home, { home: t.home }),
      installed: false,
      config: { variables: { PLUGHOST_CONFIG__EXAMPLE_CONFIGURED__smtp__port: "high" } },
    });
    try {
      await wrong.runtime.load(await signedFirstParty("configured", t.key), "test:configured");
      const refused = await greetOn(wrong).catch((e) => e);
      expect(refused.code).toBe("invalid_config");
      expect(refused.message).toContain("PLUGHOST_CONFIG__EXAMPLE_CONFIGURED__smtp__port");
      expect(refused.message).toContain("/smtp/port must be integer");
    } finally {
      await wrong.close();
    }
  });

  it("verification reports a default that fails its own schema, naming the field", async () => {
    const { wasm, manifest } = firstPartyPlugin("configured");
    const parsed = JSON.parse(manifest);
    parsed.config.default.greeting = 42;
    // Signing refuses such a manifest, so the file is built by hand (and left unsigned).
    const file = setCustomSection(
      wasm,
      MANIFEST_SECTION,
      new TextEncoder().encode(JSON.stringify(parsed)),
    );
    const report = await checkPlugin(file, emptyTrustStore("(none)"), { allowUnsigned: true });
    expect(report).toMatchObject({ ok: false, reason: "invalid_manifest" });
    expect(report.message).toContain("config.default/greeting: must be string");
    const refused = await verifyPlugin(file, emptyTrustStore("(none)"), { allowUnsigned: true })
      .catch((e) => e);
    expect(refused.message).toContain("config.default/greeting: must be string");
  });

  it("signing refuses a default that fails its own schema, naming the field", async () => {
    const { wasm, manifest } = firstPartyPlugin("configured");
    const parsed = JSON.parse(manifest);
    parsed.config.default.smtp.port = 0;
    const refused = await signPlugin(wasm, t.key, { manifest: JSON.stringify(parsed) })
      .catch((e) => e);
    expect(refused).toMatchObject({ code: "invalid_manifest", exitCode: 65 });
    expect(refused.message).toContain("config.default/smtp/port: must be >= 1");
  });
});
