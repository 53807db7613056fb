/**
 * Plugin config as data: layering, dotted keys, text values, the
 * PLUGHOST_CONFIG__ mapping (ids with dots, dashes and underscores never share
 * a variable), redaction of writeOnly fields, changed keys and merge patches.
 */
import { describe, expect, it } from "vitest";
import { changedKeys } from "../../host/core/mod.ts";
import {
  configEnvName,
  envConfig,
  keyPath,
  mergeConfig,
  parseValue,
  redactConfig,
  setPath,
  unsetPath,
} from "../../host/plugin-config/mod.ts";
import { mergePatch } from "../../host/server/routes/plugin-config.ts";

describe("config values", () => {
  it("layers objects key by key; arrays and scalars replace", () => {
    expect(mergeConfig(
      { a: { b: 1, c: 2 }, list: [1, 2], s: "x" },
      undefined,
      { a: { c: 3 }, list: [9] },
      { s: "y" },
    )).toEqual({ a: { b: 1, c: 3 }, list: [9], s: "y" });
  });

  it("keeps a __proto__ key as data, never as the prototype", () => {
    const merged = mergeConfig({}, JSON.parse('{"__proto__": {"polluted": true}}'));
    expect(Object.getPrototypeOf(merged)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const patched = mergePatch({}, JSON.parse('{"__proto__": {"polluted": true}}'));
    expect(Object.getPrototypeOf(patched)).toBe(Object.prototype);
    expect(() => keyPath("__proto__.x")).toThrow(/not a usable key/);
  });

  it("dotted keys set and unset nested fields", () => {
    expect(keyPath("smtp.port")).toEqual(["smtp", "port"]);
    expect(() => keyPath("a..b")).toThrow(/not a config key/);
    expect(setPath({ smtp: { host: "h" } }, ["smtp", "port"], 25)).toEqual({
      smtp: { host: "h", port: 25 },
    });
    expect(unsetPath({ smtp: { host: "h", port: 25 } }, ["smtp", "port"])).toEqual({
      values: { smtp: { host: "h" } },
      removed: true,
    });
    expect(unsetPath({ a: 1 }, ["b"]).removed).toBe(false);
  });

  it("text is JSON when it parses, else a string; a string-typed field keeps the text", () => {
    expect(parseValue("8080", undefined)).toBe(8080);
    expect(parseValue("true", undefined)).toBe(true);
    expect(parseValue('["a"]', undefined)).toEqual(["a"]);
    expect(parseValue("hello", undefined)).toBe("hello");
    expect(parseValue("8080", { type: "string" })).toBe("8080");
  });

  it("maps plugin ids to variables one to one, and never reads another plugin's", () => {
    expect(configEnvName("example.configured", ["smtp", "port"])).toBe(
      "PLUGHOST_CONFIG__EXAMPLE_CONFIGURED__smtp__port",
    );
    const names = ["acme-billing", "acme_billing", "acme.billing"].map((id) =>
      configEnvName(id, ["k"])
    );
    expect(new Set(names).size).toBe(3);
    const env = {
      [configEnvName("a", ["x"])]: "1",
      [configEnvName("a-b", ["x"])]: "2",
      [configEnvName("a_b", ["x"])]: "3",
      [configEnvName("a.b", ["x"])]: "4",
      PLUGHOST_CONFIG__A__X5_y: "5", // escapes a character: not plugin a's
    };
    expect(envConfig("a", undefined, env).values).toEqual({ x: 1 });
    expect(envConfig("a-b", undefined, env).values).toEqual({ x: 2 });
    expect(envConfig("a_b", undefined, env).values).toEqual({ x: 3 });
    expect(envConfig("a.b", undefined, env).values).toEqual({ x: 4 });
  });

  it("redacts writeOnly fields, nested ones included", () => {
    const schema = {
      type: "object",
      properties: {
        token: { type: "string", writeOnly: true },
        db: { type: "object", properties: { password: { writeOnly: true }, host: {} } },
      },
    };
    expect(redactConfig({ token: "t", db: { password: "p", host: "h" }, x: 1 }, schema)).toEqual({
      token: "[redacted]",
      db: { password: "[redacted]", host: "h" },
      x: 1,
    });
    expect(redactConfig({ x: 1 }, schema)).toEqual({ x: 1 });
  });

  it("names the changed leaves; a merge patch merges objects and removes nulls", () => {
    expect(changedKeys({ a: 1, b: { c: 1 } }, { a: 1, b: { c: 2 }, d: { e: 1 } })).toEqual([
      "b.c",
      "d.e",
    ]);
    expect(mergePatch({ a: { b: 1, c: 2 }, d: 1 }, { a: { c: null }, d: null, e: [1] })).toEqual({
      a: { b: 1 },
      e: [1],
    });
  });
});
