/**
 * `host config` against hosts that keep running: a served app over one host
 * and a second host on the same database both see `host config set` at their
 * next call, without a restart; a value off the schema exits 65 naming the
 * field; get, unset and history read back what was stored.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHost, type Host } from "../../host/host.ts";
import { createApp } from "../../host/server/app.ts";
import type { ServerApp } from "../../host/server/context.ts";
import { trustKey } from "../../host/trust/mod.ts";
import { runCli } from "../helpers/cli.ts";
import { newKey, signedFirstParty } from "../helpers/signing.ts";

const ID = "example.configured";

describe("host config", () => {
  let home: string;
  let served: Host;
  let second: Host;
  let app: ServerApp;
  let token: string;
  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), "plughost-config-cli-"));
    const key = await newKey("operator");
    await trustKey(join(home, "trust"), key.publicKey, { label: "operator" });
    served = await createHost({ home, cache: false });
    await served.install(await signedFirstParty("configured", key));
    token = (await served.store.tokens.create({ name: "t", scopes: ["invoke"] })).token;
    app = createApp({
      host: served,
      options: { rateLimitPerSecond: 0 },
    }).app;
    second = await createHost({ home, cache: false });
  }, 120_000);
  afterAll(async () => {
    await second?.close();
    await served?.close();
    rmSync(home, { recursive: true, force: true });
  });

  const cli = (...args: string[]) => runCli(["config", ...args, "--home", home]);
  const overHttp = async () => {
    const res = await app.request(`/v1/plugins/${ID}/capabilities/greet`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "Ada" }),
    });
    return ((await res.json()) as { message: string }).message;
  };
  const onSecond = async () => {
    const result = await second.invoke({
      pluginId: ID,
      capability: "greet",
      input: new TextEncoder().encode('{"name":"Ada"}'),
      trigger: "cli",
    });
    if (!result.ok) throw new Error(result.error.message);
    return (JSON.parse(new TextDecoder().decode(result.output)) as { message: string }).message;
  };

  it(
    "set changes the next call on a running server and on a second host, without restart",
    async () => {
      expect(await overHttp()).toBe("Hello, Ada!");
      expect(await onSecond()).toBe("Hello, Ada!");
      const set = await cli("set", ID, "greeting=Bonjour", "smtp.port=2525");
      expect(set.stderr).toBe("");
      expect(set.code).toBe(0);
      expect(set.stdout).toBe(`${ID}: version 1 (greeting, smtp.port)\n`);
      expect(await overHttp()).toBe("Bonjour, Ada!");
      expect(await onSecond()).toBe("Bonjour, Ada!");
    },
    60_000,
  );

  it(
    "refuses a value off the schema with exit 65 naming the field; nothing is stored",
    async () => {
      const bad = await cli("set", ID, "smtp.port=abc");
      expect(bad.code).toBe(65);
      expect(bad.stderr).toContain("/smtp/port must be integer");
      const file = join(home, "bad.json");
      writeFileSync(file, JSON.stringify({ greeting: "" }));
      const fromFile = await cli("set", ID, "--file", file);
      expect(fromFile.code).toBe(65);
      expect(fromFile.stderr).toContain("/greeting must NOT have fewer than 1 characters");
      expect((await cli("history", ID, "--json")).stdout).toContain('"version":1');
      expect(await overHttp()).toBe("Bonjour, Ada!");
    },
    60_000,
  );

  it("get, unset and history", async () => {
    const get = await cli("get", ID, "smtp", "--json");
    expect(JSON.parse(get.stdout)).toEqual({
      key: "smtp",
      value: { host: "localhost", port: 2525 },
    });
    const unset = await cli("unset", ID, "greeting");
    expect(unset.code).toBe(0);
    expect(await overHttp()).toBe("Hello, Ada!");
    const missing = await cli("unset", ID, "greeting");
    expect(missing.code).toBe(1);
    const history = JSON.parse((await cli("history", ID, "--json")).stdout) as {
      versions: { version: number; changedBy: string }[];
    };
    expect(history.versions.map((v) => [v.version, v.changedBy])).toEqual([[2, "cli"], [1, "cli"]]);
    expect((await cli("get", "no.such")).code).toBe(1);
    expect((await cli("set", ID)).code).toBe(64);
  }, 60_000);
});
