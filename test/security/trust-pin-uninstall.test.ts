/**
 * A signer pin outlives uninstall (issue 13): after `uninstall`, `plugins
 * remove` or DELETE, the id stays pinned to the key(s) that first installed
 * it. Reinstalling by a pinned key works; by another key it needs the rekey
 * step (recorded as plugin.rekeyed). `host plugins unpin` forgets a pin on
 * purpose (plugin.unpinned), and only for an uninstalled id.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { main } from "../../host/cli/main.ts";
import { resolvePaths } from "../../host/config/paths.ts";
import {
  installPlugin,
  installSet,
  type OpenHost,
  openHost,
  uninstallPlugin,
} from "../../host/core/mod.ts";
import { admitter } from "../../host/policy/mod.ts";
import { LiveTrustStore, type SigningKey, trustKey } from "../../host/trust/mod.ts";
import { newKey, signedFirstParty } from "../helpers/signing.ts";

let home: string;
let host: OpenHost;
let a: SigningKey;
let b: SigningKey;

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
const cli = async (...args: string[]) => {
  await host.store.flush();
  const out: string[] = [];
  const code = await main([...args, "--home", home], {
    stdout: (t: string) => out.push(t),
    stderr: (t: string) => out.push(t),
    env: {},
    cwd: home,
  });
  return { code, out: out.join("") };
};

beforeEach(async () => {
  home = mkdtempSync(join(tmpdir(), "plughost-pin-uninstall-"));
  a = await newKey("alice");
  b = await newKey("bob");
  await trustKey(join(home, "trust"), a.publicKey, { label: "alice" });
  await trustKey(join(home, "trust"), b.publicKey, { label: "bob" });
  host = await openHost({ paths: paths(), trust: await LiveTrustStore.open(join(home, "trust")) });
});
afterEach(async () => {
  await host.close();
  rmSync(home, { recursive: true, force: true });
});

describe("a signer pin after uninstall", () => {
  it("refuses a reinstall by another trusted key without rekey; the pinned key reinstalls", async () => {
    await install(await hello(a, "2.0.0"));
    await uninstallPlugin(host.runtime, "example.hello");
    expect(await host.store.plugins.get("example.hello")).toBeUndefined();
    expect(await host.store.plugins.list()).toEqual([]);
    expect(await host.store.plugins.pin("example.hello")).toEqual([a.keyId]);

    const refused = install(await hello(b, "3.0.0"));
    await expect(refused).rejects.toMatchObject({ code: "conflict" });
    await expect(refused).rejects.toThrow(
      new RegExp(`pinned to key\\(s\\) ${a.keyId}.*signed by key\\(s\\) ${b.keyId}`),
    );
    expect(host.runtime.get("example.hello")).toBeUndefined();
    expect(await host.store.plugins.get("example.hello")).toBeUndefined();

    // The pinned key reinstalls, any version (nothing is installed to be higher than).
    expect((await install(await hello(a, "1.0.0"))).version).toBe("1.0.0");
    expect((await host.store.plugins.get("example.hello"))?.pinnedKeyIds).toEqual([a.keyId]);
    expect(await events("plugin.rekeyed")).toEqual([]);
  });

  it("reinstalls by another key with rekey, recorded as plugin.rekeyed", async () => {
    await install(await hello(a));
    await uninstallPlugin(host.runtime, "example.hello");
    expect((await install(await hello(b, "2.0.0"), { rekey: true })).version).toBe("2.0.0");
    expect((await host.store.plugins.get("example.hello"))?.pinnedKeyIds).toEqual([b.keyId]);
    expect((await events("plugin.rekeyed")).map((e) => e.payload)).toEqual([
      { from: [a.keyId], to: [b.keyId], via: "test" },
    ]);
  });

  it("keeps the pin after `host plugins remove`; `host plugins rekey` moves it", async () => {
    await install(await hello(a));
    expect((await cli("plugins", "remove", "example.hello")).code).toBe(0);
    expect((await cli("plugins", "--json")).out).not.toContain("example.hello");
    await expect(install(await hello(b, "2.0.0"))).rejects.toMatchObject({ code: "conflict" });
    const rekeyed = await cli("plugins", "rekey", "example.hello", "--key", b.keyId);
    expect(rekeyed).toMatchObject({ code: 0 });
    expect(rekeyed.out).toContain(`pinned example.hello to ${b.keyId} (was ${a.keyId})`);
    expect((await install(await hello(b, "2.0.0"))).version).toBe("2.0.0");
    expect((await events("plugin.rekeyed")).map((e) => e.payload)).toEqual([
      { from: [a.keyId], to: [b.keyId], via: "cli" },
    ]);
    // A second remove and a remove of an id never installed still say "not installed".
    expect((await cli("plugins", "remove", "example.hello")).code).toBe(0);
    expect((await cli("plugins", "remove", "example.hello")).code).toBe(1);
    expect((await cli("plugins", "rekey", "example.other", "--key", b.keyId)).code).toBe(1);
  });

  it("a --plugins folder file of an uninstalled id obeys its pin", async () => {
    await install(await hello(a));
    await uninstallPlugin(host.runtime, "example.hello");
    await host.store.flush();
    const dir = join(home, "served");
    mkdirSync(dir);
    writeFileSync(join(dir, "hello.wasm"), await hello(b, "9.0.0"));
    const second = await openHost({
      paths: paths(),
      trust: await LiveTrustStore.open(join(home, "trust")),
      pluginDirs: [dir],
    });
    try {
      expect(second.runtime.get("example.hello")).toBeUndefined();
      expect(second.failed).toEqual([{
        source: join(dir, "hello.wasm"),
        error: expect.stringMatching(new RegExp(`pinned to key\\(s\\) ${a.keyId}`)),
      }]);
    } finally {
      await second.close();
    }
  });
});

describe("an install set that fails part way", () => {
  it("leaves a new id's pin as it was: none, or the uninstalled id's", async () => {
    const trust = await LiveTrustStore.open(join(home, "trust"));
    const admit = admitter({ schemaVersion: 1, defaults: { memoryMaxPages: 32 } });
    const second = await openHost({ paths: paths(), trust, admit });
    try {
      // t.top needs example.hello, so hello is installed first; t.top is then refused by the policy.
      const top = await signedFirstParty("hello", b, (m) => {
        m.id = "t.top";
        m.dependencies = { "example.hello": "^1.0.0" };
        m.limits = { memoryMaxPages: 64 };
      });
      const set = async (by: SigningKey, rekey = false) =>
        installSet(second.runtime, paths().plugins, [
          { wasm: await hello(by), source: "hello.wasm" },
          { wasm: top, source: "top.wasm" },
        ], { trust, rekey });
      await expect(set(b)).rejects.toMatchObject({ code: "permission_denied" });
      expect(await second.store.plugins.get("example.hello")).toBeUndefined();
      expect(await second.store.plugins.pin("example.hello")).toBeUndefined();

      await installPlugin(second.runtime, paths().plugins, await hello(a));
      await uninstallPlugin(second.runtime, "example.hello");
      await expect(set(b)).rejects.toThrow(/pinned to key\(s\)/);
      await expect(set(a)).rejects.toMatchObject({ code: "permission_denied" });
      expect(await second.store.plugins.pin("example.hello")).toEqual([a.keyId]);
      // A rekey inside a set that fails is undone with the rest.
      await expect(set(b, true)).rejects.toMatchObject({ code: "permission_denied" });
      expect(await second.store.plugins.pin("example.hello")).toEqual([a.keyId]);
    } finally {
      await second.close();
    }
  });
});

describe("`host plugins unpin`", () => {
  it("forgets an uninstalled id's pin, recorded as plugin.unpinned; refused while installed", async () => {
    await install(await hello(a));
    const installed = await cli("plugins", "unpin", "example.hello");
    expect(installed.code).toBe(1);
    expect(installed.out).toContain("is installed");
    expect(await host.store.plugins.pin("example.hello")).toEqual([a.keyId]);

    await uninstallPlugin(host.runtime, "example.hello");
    const unpinned = await cli("plugins", "unpin", "example.hello", "--json");
    expect(unpinned.code).toBe(0);
    expect(JSON.parse(unpinned.out)).toEqual({
      id: "example.hello",
      action: "unpin",
      from: [a.keyId],
    });
    expect(await host.store.plugins.pin("example.hello")).toBeUndefined();
    expect((await events("plugin.unpinned")).map((e) => [e.level, e.payload])).toEqual([
      ["warn", { from: [a.keyId], via: "cli" }],
    ]);
    // The next install pins the id afresh, to its own signer, without a rekey.
    expect((await install(await hello(b, "2.0.0"))).version).toBe("2.0.0");
    expect((await host.store.plugins.get("example.hello"))?.pinnedKeyIds).toEqual([b.keyId]);
    expect(await events("plugin.rekeyed")).toEqual([]);

    await uninstallPlugin(host.runtime, "example.hello");
    expect((await cli("plugins", "unpin", "example.hello")).code).toBe(0);
    const again = await cli("plugins", "unpin", "example.hello");
    expect(again.code).toBe(1);
    expect(again.out).toContain("No pin is kept for 'example.hello'");
    expect((await cli("plugins", "unpin", "example.hello", "--key", a.keyId)).code).toBe(64);
  });
});
