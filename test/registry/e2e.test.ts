/**
 * The registry end to end, two hosts on loopback: one serving the registry,
 * one installing from it (issue 18's acceptance).
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readLockfile } from "../../host/core/mod.ts";
import { createHost, type Host } from "../../host/host.ts";
import {
  installFromRegistry,
  installLocked,
  RegistryClient,
  registryOf,
} from "../../host/registry/mod.ts";
import { createApp } from "../../host/server/app.ts";
import { type RunningServer, startServer } from "../../host/server/start.ts";
import { type SigningSetup, signingSetup } from "../artifact/signing-fixture.ts";
import { signedFirstParty } from "../helpers/signing.ts";

describe("registry end to end (two hosts on loopback)", () => {
  let setup: SigningSetup;
  let dirs: string[];
  let registryHost: Host;
  let server: RunningServer;
  let consumer: Host;
  let publisher: RegistryClient;
  let curator: RegistryClient;
  let reader: RegistryClient;

  const plugin = (
    id: string,
    version: string,
    dependencies?: Record<string, unknown>,
    edit: (m: Record<string, unknown>) => void = () => {},
    key: "alice" | "mallory" = "alice",
  ) =>
    signedFirstParty("hello", setup.keys[key], (m) => {
      m.id = id;
      m.version = version;
      m.name = `Plugin ${id}`;
      if (dependencies) m.dependencies = dependencies;
      edit(m);
    });
  const home = async () => {
    const dir = await mkdtemp(join(tmpdir(), "plughost-registry-"));
    dirs.push(dir);
    return dir;
  };
  const open = async (): Promise<Host> =>
    createHost({ home: await home(), paths: { trust: setup.trustDir }, cache: false });
  const digests = async (host: Host) =>
    Object.fromEntries((await host.store.plugins.list()).map((p) => [p.id, p.digest]));

  beforeAll(async () => {
    setup = await signingSetup();
    dirs = [setup.dir];
    registryHost = await open();
    server = await startServer({
      host: registryHost,
      port: 0,
      options: { rateLimitPerSecond: 0 },
      registry: registryOf(registryHost),
    });
    const tokens = registryHost.store.tokens;
    const pub = await tokens.create({ name: "ci", scopes: ["registry:publish"] });
    const adm = await tokens.create({ name: "curator", scopes: ["registry:admin"] });
    publisher = new RegistryClient(server.url, { token: pub.token });
    curator = new RegistryClient(server.url, { token: adm.token });
    reader = new RegistryClient(server.url);
    consumer = await open();
  });

  afterAll(async () => {
    await consumer?.close();
    await server?.close();
    for (const dir of dirs ?? []) await rm(dir, { recursive: true, force: true });
  });

  it("publishes a diamond to beta, promotes to ga, installs, updates with consent, rolls back, reinstalls from the lockfile", async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const diamond = [
      await plugin("e.base", "1.0.0"),
      await plugin("e.left", "1.0.0", { "e.base": "^1.0.0" }),
      await plugin("e.right", "1.0.0", { "e.base": "~1.0.0" }),
      await plugin("e.top", "1.0.0", { "e.left": "^1.0.0", "e.right": "^1.0.0" }),
    ];
    for (const wasm of diamond) {
      const v = await publisher.publish(wasm, { channel: "beta", changelog: "first release" });
      expect(v).toMatchObject({ channel: "beta", verified: true, publisher: "ci" });
      expect(v.signerKeyIds).toEqual([setup.keys.alice.keyId]);
    }
    // Only on beta: a ga install finds nothing, and says so.
    const early = await installFromRegistry(consumer, [{ id: "e.top", range: "^1.0.0" }], {
      client: reader,
    }).catch((e) => e);
    expect(early).toMatchObject({
      code: "dependency_error",
      details: { kind: "missing", id: "e.top" },
    });
    // A publisher cannot promote; the curator can.
    await expect(publisher.promote("e.base", "1.0.0", "ga")).rejects.toMatchObject({
      code: "forbidden",
    });
    for (const id of ["e.base", "e.left", "e.right", "e.top"]) {
      expect((await curator.promote(id, "1.0.0", "ga")).channel).toBe("ga");
    }

    // Search: filters, sorting and cursor pagination.
    const first = await reader.search({
      q: "plugin",
      capability: "greet",
      host: "0.1.0",
      limit: 3,
    });
    expect(first.plugins.map((p) => p.id)).toEqual(["e.base", "e.left", "e.right"]);
    const second = await reader.search({
      q: "plugin",
      capability: "greet",
      limit: 3,
      cursor: first.nextCursor!,
    });
    expect(second).toEqual({
      plugins: [expect.objectContaining({ id: "e.top" })],
      nextCursor: null,
    });
    expect((await reader.search({ capability: "nope" })).plugins).toEqual([]);
    expect((await reader.search({ host: "9.0.0" })).plugins).toEqual([]);
    expect((await reader.search({ verified: true })).plugins).toHaveLength(4);

    // Install the top one: all four land, the lockfile is written, calls work.
    const { planned } = await installFromRegistry(consumer, [{ id: "e.top", range: "^1.0.0" }], {
      client: reader,
    });
    expect(planned.map((p) => p.id)).toEqual(["e.base", "e.left", "e.right", "e.top"]);
    expect(consumer.list().map((p) => p.id)).toEqual(["e.base", "e.left", "e.right", "e.top"]);
    const lock = await readLockfile(consumer.lockfile);
    expect(lock.plugins["e.top"]).toMatchObject({
      version: "1.0.0",
      resolved: { "e.left": "1.0.0", "e.right": "1.0.0" },
      registry: server.url,
      signers: [setup.keys.alice.keyId],
    });
    const result = await consumer.invoke({
      pluginId: "e.top",
      capability: "greet",
      input: new TextEncoder().encode('{"name":"Ada"}'),
      trigger: "cli",
    });
    expect(result.ok).toBe(true);

    // An update that adds a permission: refused without consent, accepted with it.
    await curator.publish(
      await plugin("e.base", "1.0.1", undefined, (m) => {
        m.permissions = { http: { allowedHosts: ["api.example.com"] } };
      }),
      { channel: "ga", changelog: "talks to api.example.com" },
    );
    const lockBefore = await readFile(consumer.lockfile, "utf8");
    const refused = await installFromRegistry(consumer, [], { client: reader, update: ["e.base"] })
      .catch((e) => e);
    expect(refused).toMatchObject({
      code: "consent_required",
      details: {
        changes: [{
          id: "e.base",
          from: "1.0.0",
          permissions: { added: ["http:api.example.com"] },
        }],
      },
    });
    expect(consumer.get("e.base")?.version).toBe("1.0.0");
    expect(await readFile(consumer.lockfile, "utf8")).toBe(lockBefore);
    const update = await installFromRegistry(consumer, [], {
      client: reader,
      update: ["e.base"],
      acceptPermissions: true,
    });
    expect(update.planned).toEqual([expect.objectContaining({
      id: "e.base",
      version: "1.0.1",
      from: "1.0.0",
      changelog: "talks to api.example.com",
    })]);
    expect(consumer.get("e.base")?.version).toBe("1.0.1");

    // Roll back to the previous digest.
    expect(await consumer.rollback("e.base")).toMatchObject({ version: "1.0.0", from: "1.0.1" });
    expect(consumer.get("e.base")?.version).toBe("1.0.0");
    const locked = await readLockfile(consumer.lockfile);
    expect(locked.plugins["e.base"]?.version).toBe("1.0.0");

    // Reinstall from the lockfile on a clean data directory: identical digests.
    const clean = await open();
    try {
      await installLocked(clean, locked, { client: (url) => new RegistryClient(url) });
      const expected = Object.fromEntries(
        Object.entries(locked.plugins).map(([id, p]) => [id, p.digest]),
      );
      expect(await digests(clean)).toEqual(expected);
      expect(await digests(clean)).toEqual(await digests(consumer));
      expect(await readLockfile(clean.lockfile)).toEqual(locked);
      // A lockfile naming a digest the registry does not have fails and changes nothing.
      const other = await open();
      try {
        const bad = structuredClone(locked);
        bad.plugins["e.base"]!.digest = "0".repeat(64);
        await expect(installLocked(other, bad, { client: (url) => new RegistryClient(url) }))
          .rejects.toMatchObject({ code: "not_found" });
        expect(await other.store.plugins.list()).toEqual([]);
      } finally {
        await other.close();
      }
    } finally {
      await clean.close();
    }
  });

  it("a cycle and a conflict each give an actionable error and change nothing", async () => {
    await publisher.publish(await plugin("e.c1", "1.0.0", { "e.c2": "^1.0.0" }), {
      channel: "beta",
    });
    await publisher.publish(await plugin("e.c2", "1.0.0", { "e.c1": "^1.0.0" }), {
      channel: "beta",
    });
    await publisher.publish(await plugin("e.far", "1.0.0", { "e.base": "^2.0.0" }), {
      channel: "beta",
    });
    const before = {
      lock: await readFile(consumer.lockfile, "utf8"),
      digests: await digests(consumer),
    };

    const cycle = await installFromRegistry(consumer, [{ id: "e.c1", range: "*" }], {
      client: reader,
      channel: "beta",
    }).catch((e) => e);
    expect(cycle).toMatchObject({ code: "dependency_error", details: { kind: "cycle" } });
    expect(cycle.message).toContain("e.c1 -> e.c2 -> e.c1");

    const conflict = await installFromRegistry(consumer, [{ id: "e.far", range: "*" }], {
      client: reader,
      channel: "beta",
    }).catch((e) => e);
    expect(conflict).toMatchObject({
      code: "dependency_error",
      details: { kind: "conflict", id: "e.base" },
    });
    expect(conflict.message).toContain("e.far@1.0.0 wants ^2.0.0 (no available version)");
    expect(conflict.message).toContain("accepts 1.0.0, 1.0.1");

    expect(await readFile(consumer.lockfile, "utf8")).toBe(before.lock);
    expect(await digests(consumer)).toEqual(before.digests);
  });

  it("refuses a tampered or untrusted upload, a ga publish without registry:admin, and a changed version", async () => {
    const good = await plugin("e.tamper", "1.0.0");
    const tampered = good.slice();
    const at = new TextDecoder("latin1").decode(tampered).indexOf("Plugin e.tamper");
    expect(at).toBeGreaterThan(0);
    tampered[at] = "Q".charCodeAt(0);
    await expect(publisher.publish(tampered)).rejects.toMatchObject({
      code: "verification_failed",
      message: expect.stringContaining("tampered"),
    });
    await expect(publisher.publish(await plugin("e.evil", "1.0.0", undefined, () => {}, "mallory")))
      .rejects.toMatchObject({
        code: "verification_failed",
        message: expect.stringContaining("unknown_key"),
      });
    await expect(publisher.publish(good, { channel: "ga" })).rejects.toMatchObject({
      code: "forbidden",
    });
    // No token at all: 401.
    await expect(reader.publish(good)).rejects.toMatchObject({ code: "unauthorized" });
    await publisher.publish(good);
    const changed = await plugin("e.tamper", "1.0.0", undefined, (m) => {
      m.description = "other bytes, same version";
    });
    await expect(publisher.publish(changed)).rejects.toMatchObject({ code: "conflict" });
    // Drafts are invisible to anonymous readers, visible to the publisher.
    await expect(reader.versions("e.tamper", "draft")).rejects.toMatchObject({
      code: "unauthorized",
    });
    expect((await publisher.versions("e.tamper", "draft")).map((v) => v.channel)).toEqual([
      "draft",
    ]);
    expect(await reader.versions("e.tamper")).toEqual([]);
    // A yanked version is not chosen, but stays downloadable by digest.
    const yanked = await curator.yank("e.far", "1.0.0", "depends on a major that never shipped");
    expect(yanked.yanked).toBe(true);
    expect((await reader.download(yanked.digest)).byteLength).toBe(yanked.size);
  });

  it("a running host updates over HTTP: 409 consent_required with the diff, then confirmed", async () => {
    const { app } = createApp({ host: consumer, options: { rateLimitPerSecond: 0 } });
    const { token } = await consumer.store.tokens.create({ name: "op", scopes: ["admin"] });
    const post = (body: unknown) =>
      app.request("/v1/plugins/install", {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    expect(consumer.get("e.base")?.version).toBe("1.0.0");
    const asked = await post({ registry: server.url, update: ["e.base"] });
    expect(asked.status).toBe(409);
    const problem = await asked.json();
    expect(problem).toMatchObject({
      code: "consent_required",
      details: { changes: [{ id: "e.base", permissions: { added: ["http:api.example.com"] } }] },
    });
    expect(consumer.get("e.base")?.version).toBe("1.0.0");
    const confirmed = await post({
      registry: server.url,
      update: ["e.base"],
      acceptPermissions: true,
    });
    expect(confirmed.status).toBe(200);
    expect((await confirmed.json()).changes).toEqual([
      expect.objectContaining({ id: "e.base", version: "1.0.1", from: "1.0.0" }),
    ]);
    // Live: the running runtime serves the new version, and the lockfile says so.
    expect(consumer.get("e.base")?.version).toBe("1.0.1");
    expect((await readLockfile(consumer.lockfile)).plugins["e.base"]?.version).toBe("1.0.1");
  });
});
