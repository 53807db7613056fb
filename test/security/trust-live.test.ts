/**
 * Live trust (issue 13): a key revoked or removed while the host runs stops
 * its plugins (event plugin.stopped, reason key_revoked) within 5 s; uploads
 * re-check the current store; a plugin id is pinned to the key that first
 * installed it, and only an explicit rekey (flag or `host plugins rekey`)
 * lets another signer replace it.
 */
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { main } from "../../host/cli/main.ts";
import { resolvePaths } from "../../host/config/paths.ts";
import { installPlugin, type OpenHost, openHost, watchTrust } from "../../host/core/mod.ts";
import { LiveTrustStore, type SigningKey, trustKey } from "../../host/trust/mod.ts";
import { newKey, signedFirstParty } from "../helpers/signing.ts";

let home: string;
let host: OpenHost;
let trust: LiveTrustStore;
let a: SigningKey;
let b: SigningKey;
let unwatch: () => void = () => {};

const paths = () => resolvePaths({}, home, { home });
const hello = (key: SigningKey, version = "1.0.0") =>
  signedFirstParty("hello", key, (m) => {
    m.version = version;
  });
const install = (wasm: Uint8Array, options: { rekey?: boolean } = {}) =>
  installPlugin(host.runtime, paths().plugins, wasm, { ...options, via: "test" });
const events = async (type: string) => {
  await host.store.flush();
  return (await host.store.events.query({ type, limit: 100 })).events;
};

beforeEach(async () => {
  home = mkdtempSync(join(tmpdir(), "plughost-trust-live-"));
  a = await newKey("alice");
  b = await newKey("bob");
  await trustKey(join(home, "trust"), a.publicKey, { label: "alice" });
  trust = await LiveTrustStore.open(join(home, "trust"));
  host = await openHost({ paths: paths(), trust });
});
afterEach(async () => {
  unwatch();
  await host.close();
  rmSync(home, { recursive: true, force: true });
});

describe("a trust store that changes while the host runs", () => {
  it("stops a revoked key's plugins within 5 s, with plugin.stopped reason key_revoked", async () => {
    unwatch = watchTrust(host.runtime, trust, { intervalMs: 200 });
    await install(await hello(a));
    expect(host.runtime.get("example.hello")?.state).toBe("enabled");
    appendFileSync(join(home, "trust", "revoked.txt"), `${a.keyId} leaked\n`);
    await vi.waitFor(() => expect(host.runtime.get("example.hello")).toBeUndefined(), {
      timeout: 5000,
      interval: 50,
    });
    const stopped = await events("plugin.stopped");
    expect(stopped.map((e) => [e.pluginId, e.payload])).toEqual([
      ["example.hello", expect.objectContaining({ reason: "key_revoked", revoked: [a.keyId] })],
    ]);
    await expect(host.runtime.invoke({
      pluginId: "example.hello",
      capability: "greet",
      input: new TextEncoder().encode('{"name":"x"}'),
      trigger: "cli",
    })).rejects.toThrow(/No plugin 'example.hello' is loaded/);
  });

  it("stops a plugin when its signer's expiry passes while the host runs, reason key_expired", async () => {
    // Nothing on disk changes: the watcher notices the time. Bob's key expires 2 s from now.
    await trustKey(join(home, "trust"), b.publicKey, {
      label: "bob",
      expires: new Date(Date.now() + 2000).toISOString(),
    });
    await trust.reloadNow();
    unwatch = watchTrust(host.runtime, trust, { intervalMs: 200 });
    await install(await hello(b));
    expect(host.runtime.get("example.hello")?.state).toBe("enabled");
    await vi.waitFor(() => expect(host.runtime.get("example.hello")).toBeUndefined(), {
      timeout: 15_000,
      interval: 100,
    });
    const stopped = await events("plugin.stopped");
    expect(stopped.map((e) => [e.pluginId, e.payload])).toEqual([
      ["example.hello", expect.objectContaining({ reason: "key_expired", keyIds: [b.keyId] })],
    ]);
  });

  it("stops plugins whose key file is removed, on SIGHUP's reload (reloadNow)", async () => {
    unwatch = watchTrust(host.runtime, trust, { intervalMs: 60_000 });
    await install(await hello(a));
    unlinkSync(join(home, "trust", `${a.keyId}.pub`));
    await trust.reloadNow();
    expect(host.runtime.get("example.hello")).toBeUndefined();
    expect((await events("plugin.stopped")).length).toBe(1);
  });

  it("checks an upload against the store as it is now, without waiting for the watcher", async () => {
    unwatch = watchTrust(host.runtime, trust, { intervalMs: 60_000 });
    await expect(install(await hello(b))).rejects.toThrow(/none of them in the trust store/);
    await trustKey(join(home, "trust"), b.publicKey, { label: "bob" });
    expect((await install(await hello(b))).signers.map((s) => s.keyId)).toEqual([b.keyId]);
    appendFileSync(join(home, "trust", "revoked.txt"), `${a.keyId}\n`);
    await expect(install(await hello(a, "2.0.0"))).rejects.toThrow(/revoked/);
  });

  it("keeps the last good store when a file is damaged, and reports it", async () => {
    unwatch = watchTrust(host.runtime, trust, { intervalMs: 100 });
    await install(await hello(a));
    appendFileSync(join(home, "trust", "revoked.txt"), "not a key id\n");
    await vi.waitFor(async () => expect(await events("host.trust_reload_failed")).toHaveLength(1), {
      timeout: 5000,
      interval: 50,
    });
    expect(trust.trusts(a.keyId)).toBe(true);
    expect(host.runtime.get("example.hello")).toBeDefined();
  });
});

describe("a plugin id pinned to its first signer", () => {
  beforeEach(async () => {
    unwatch = watchTrust(host.runtime, trust, { intervalMs: 60_000 });
    await trustKey(join(home, "trust"), b.publicKey, { label: "bob" });
  });

  it("refuses a higher version signed by another trusted key, naming both keys and the fix", async () => {
    await install(await hello(a));
    const refused = install(await hello(b, "2.0.0"));
    await expect(refused).rejects.toMatchObject({ code: "conflict" });
    await expect(refused).rejects.toThrow(
      new RegExp(
        `pinned to key\\(s\\) ${a.keyId}.*signed by key\\(s\\) ${b.keyId}.*host plugins rekey example.hello --key ${b.keyId}`,
      ),
    );
    expect(host.runtime.get("example.hello")?.version).toBe("1.0.0");
    expect((await host.store.plugins.get("example.hello"))?.pinnedKeyIds).toEqual([a.keyId]);
    // The pinned key itself still upgrades it.
    expect((await install(await hello(a, "1.1.0"))).version).toBe("1.1.0");
  });

  it("a file in a --plugins folder signed by another key does not shadow the pinned plugin", async () => {
    await install(await hello(a));
    await host.store.flush();
    const dir = join(home, "served");
    mkdirSync(dir);
    writeFileSync(join(dir, "hello.wasm"), await hello(b, "9.0.0"));
    const second = await openHost({ paths: paths(), trust, pluginDirs: [dir] });
    try {
      expect(second.runtime.get("example.hello")?.version).toBe("1.0.0");
      expect(second.failed).toEqual([
        {
          source: join(dir, "hello.wasm"),
          error: expect.stringMatching(new RegExp(`pinned to key\\(s\\) ${a.keyId}`)),
        },
      ]);
    } finally {
      await second.close();
    }
  });

  it("accepts another signer with rekey, pins the id to it and records plugin.rekeyed", async () => {
    await install(await hello(a));
    await install(await hello(b, "2.0.0"), { rekey: true });
    expect((await host.store.plugins.get("example.hello"))?.pinnedKeyIds).toEqual([b.keyId]);
    expect((await events("plugin.rekeyed")).map((e) => e.payload)).toEqual([
      { from: [a.keyId], to: [b.keyId], via: "test" },
    ]);
    await expect(install(await hello(a, "3.0.0"))).rejects.toThrow(/pinned to key\(s\) /);
  });

  it("`host plugins rekey ID --key KEYID` re-pins the id for the next install", async () => {
    await install(await hello(a));
    await host.store.flush();
    const out: string[] = [];
    const io = {
      stdout: (t: string) => out.push(t),
      stderr: (t: string) => out.push(t),
      env: {},
      cwd: home,
    };
    expect(await main(["plugins", "rekey", "example.hello", "--key", b.keyId, "--home", home], io))
      .toBe(0);
    expect(out.join("")).toContain(`pinned example.hello to ${b.keyId}`);
    expect(await main(["plugins", "rekey", "example.hello", "--key", "nothex", "--home", home], io))
      .toBe(64);
    expect((await install(await hello(b, "2.0.0"))).version).toBe("2.0.0");
    expect((await events("plugin.rekeyed")).map((e) => e.payload)).toEqual([
      { from: [a.keyId], to: [b.keyId], via: "cli" },
    ]);
  });
});
