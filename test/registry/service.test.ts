/**
 * The registry service in-process (the client's fetch is the Hono app's
 * request): plugins for other host versions, verification status after a
 * revocation, sorting, drafts, and promotion rules.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createHost, type Host } from "../../host/host.ts";
import {
  installFromRegistry,
  RegistryClient,
  RegistryService,
  sandboxProbe,
} from "../../host/registry/mod.ts";
import { createApp } from "../../host/server/app.ts";
import type { SigningKey, TrustStore } from "../../host/trust/mod.ts";
import { newKey, signedFirstParty, trustStoreOf } from "../helpers/signing.ts";

describe("registry service", () => {
  let dirs: string[];
  let key: SigningKey;
  let trust: TrustStore;
  let revoked: Map<string, string>;
  let registry: Host;
  let consumer: Host;
  let client: RegistryClient;
  let admin: RegistryClient;

  const plugin = (
    id: string,
    version: string,
    edit: (m: Record<string, unknown>) => void = () => {},
  ) =>
    signedFirstParty("hello", key, (m) => {
      m.id = id;
      m.version = version;
      edit(m);
    });
  const home = async () => {
    const dir = await mkdtemp(join(tmpdir(), "plughost-regsvc-"));
    dirs.push(dir);
    return dir;
  };

  beforeEach(async () => {
    dirs = [];
    key = await newKey("alice");
    revoked = new Map();
    trust = { ...trustStoreOf(key), revoked };
    registry = await createHost({ home: await home(), trust, cache: false });
    const service = new RegistryService({
      store: registry.store,
      trust,
      probe: sandboxProbe(registry.store),
    });
    const { app } = createApp({
      host: registry,
      options: { rateLimitPerSecond: 0 },
      registry: service,
    });
    const token =
      (await registry.store.tokens.create({ name: "cur", scopes: ["registry:admin"] })).token;
    const fetchApp = ((input: string | URL | Request, init?: RequestInit) =>
      app.request(String(input), init)) as typeof fetch;
    client = new RegistryClient("http://registry.test", { fetch: fetchApp });
    admin = new RegistryClient("http://registry.test", { fetch: fetchApp, token });
    consumer = await createHost({ home: await home(), trust, cache: false });
  });

  afterEach(async () => {
    await consumer.close();
    await registry.close();
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it("keeps versions for other host versions; search and installs pick what runs here", async () => {
    await admin.publish(await plugin("s.x", "1.0.0"), { channel: "ga" });
    const future = await admin.publish(
      await plugin("s.x", "2.0.0", (m) => {
        m.engines = { host: ">=9.0.0", abi: 1 };
      }),
      { channel: "ga" },
    );
    expect(future.version).toBe("2.0.0");
    expect((await client.search({})).plugins[0]?.version).toBe("2.0.0");
    expect((await client.search({ host: "0.1.0" })).plugins[0]?.version).toBe("1.0.0");
    expect((await client.search({ host: "9.1.0" })).plugins[0]?.version).toBe("2.0.0");
    // Another ABI is refused at publish.
    await expect(admin.publish(
      await plugin("s.abi", "1.0.0", (m) => {
        m.engines = { host: "*", abi: 99 };
      }),
    )).rejects.toMatchObject({ code: "verification_failed" });
    const { planned } = await installFromRegistry(consumer, [{ id: "s.x", range: "*" }], {
      client,
    });
    expect(planned.map((p) => `${p.id}@${p.version}`)).toEqual(["s.x@1.0.0"]);
  });

  it("verified follows the registry's trust store after publishing", async () => {
    await admin.publish(await plugin("s.v", "1.0.0"), { channel: "ga" });
    expect((await client.search({ verified: true })).plugins.map((p) => p.id)).toEqual(["s.v"]);
    revoked.set(key.keyId, "leaked");
    expect((await client.search({ verified: true })).plugins).toEqual([]);
    expect((await client.search({ verified: false })).plugins.map((p) => p.id)).toEqual(["s.v"]);
    expect((await client.versions("s.v"))[0]?.verified).toBe(false);
    // And a revoked signer can no longer publish.
    await expect(admin.publish(await plugin("s.v", "1.0.1"))).rejects.toMatchObject({
      code: "verification_failed",
      message: expect.stringContaining("revoked"),
    });
  });

  it("sorts by name and by update, pages with cursors, and promotes forward only", async () => {
    for (const [id, name] of [["s.a", "Zeta"], ["s.b", "Alpha"], ["s.c", "Mid"]] as const) {
      await admin.publish(await plugin(id, "1.0.0", (m) => void (m.name = name)), {
        channel: "beta",
      });
    }
    expect((await client.search({})).plugins).toEqual([]); // ga by default
    const byName = await client.search({ channel: "beta", sort: "name" });
    expect(byName.plugins.map((p) => p.name)).toEqual(["Alpha", "Mid", "Zeta"]);
    await admin.promote("s.a", "1.0.0", "ga");
    const updated = await client.search({ channel: "beta", sort: "updated", limit: 1 });
    expect(updated.plugins.map((p) => p.id)).toEqual(["s.a"]);
    const rest = await client.search({
      channel: "beta",
      sort: "updated",
      cursor: updated.nextCursor!,
    });
    expect(rest.plugins.map((p) => p.id).sort()).toEqual(["s.b", "s.c"]);
    await expect(client.search({ channel: "beta", sort: "name", cursor: updated.nextCursor! }))
      .rejects.toMatchObject({ code: "invalid_input" });
    await expect(admin.promote("s.a", "1.0.0", "beta")).rejects.toMatchObject({ code: "conflict" });
    await admin.yank("s.b", "1.0.0", "broken");
    await expect(admin.promote("s.b", "1.0.0", "ga")).rejects.toMatchObject({ code: "conflict" });
    expect((await client.search({ channel: "beta" })).plugins.map((p) => p.id)).toEqual([
      "s.a",
      "s.c",
    ]);
  });
});
