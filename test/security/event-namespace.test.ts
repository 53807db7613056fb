/**
 * A plugin's event namespace is `plugin.<id>.`: `t.pub` publishing `deep.x`
 * writes `plugin.t.pub.deep.x`, the type of plugin `t.pub.deep`'s `x`. The
 * publish is refused while `t.pub.deep` is installed, loaded or not (stopped,
 * failed to load), and an install nesting two ids needs a shared signer, so
 * what one wrote before the other came cannot pass for the other's events.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { installedPath } from "../../host/core/mod.ts";
import { INSTALLED_IDS_REFRESH_MS } from "../../host/store/plugins.ts";
import { createHost, type Host } from "../../host/host.ts";
import { resolvePaths } from "../../host/config/paths.ts";
import { type SigningKey, trustKey } from "../../host/trust/mod.ts";
import { newKey } from "../helpers/signing.ts";
import { outputOf } from "../capabilities/harness.ts";
import { ops, probeWasm, signedProbe } from "../capabilities/probe.ts";

let home: string;
let host: Host;
let a: SigningKey;
let b: SigningKey;

const open = async () => {
  host = await createHost({ home, paths: resolvePaths({}, home, { home }) });
};
const publish = async (topic: string) => {
  const result = await host.invoke({
    pluginId: "t.pub",
    capability: "run",
    input: new TextEncoder().encode(
      JSON.stringify(ops({ fn: "event_publish", req: { topic } })),
    ),
    trigger: "cli",
    durable: true,
  });
  return { runId: result.runId, answer: (outputOf(result) as unknown[])[0] };
};
const events = async (filter: { type?: string; runId?: string }) => {
  await host.store.flush();
  return (await host.store.events.query({ ...filter, limit: 100 })).events;
};
const publisher = async () =>
  await host.load(await signedProbe(a, "t.pub", { events: { publish: ["deep.**"] } }), "test");

beforeAll(async () => {
  await probeWasm();
  a = await newKey("alice");
  b = await newKey("bob");
}, 120_000);
beforeEach(async () => {
  home = mkdtempSync(join(tmpdir(), "plughost-event-ns-"));
  await trustKey(join(home, "trust"), a.publicKey, { label: "alice" });
  await trustKey(join(home, "trust"), b.publicKey, { label: "bob" });
  await open();
});
afterEach(async () => {
  await host.close();
  rmSync(home, { recursive: true, force: true });
});

describe("event_publish into an installed plugin's namespace", () => {
  it("is refused and audited while the plugin is installed but not loaded; uninstall frees it", async () => {
    await publisher();
    await host.install(await signedProbe(a, "t.pub.deep", {}));
    await host.runtime.unload("t.pub.deep"); // installed, not loaded: as when stopped or failed
    expect(host.get("t.pub.deep")).toBeUndefined();

    const refused = await publish("deep.x");
    expect(refused.answer).toMatchObject({ error: { code: "permission_denied" } });
    expect(JSON.stringify(refused.answer)).toContain("plugin 't.pub.deep'");
    const audit = await events({ type: "audit.denied", runId: refused.runId });
    expect(audit.map((e) => [e.pluginId, e.payload])).toEqual([
      ["t.pub", expect.objectContaining({ function: "event_publish", asked: { topic: "deep.x" } })],
    ]);
    expect(await events({ type: "plugin.t.pub.deep.x" })).toEqual([]);

    await host.uninstall("t.pub.deep");
    const allowed = await publish("deep.x");
    expect(allowed.answer).toMatchObject({ ok: { id: expect.any(String) } });
    expect((await events({ type: "plugin.t.pub.deep.x" })).map((e) => e.pluginId)).toEqual([
      "t.pub",
    ]);
  });

  it("is refused once another process installs the plugin on the same database", async () => {
    await publisher();
    // A second host on the same data directory: what `host install` beside `host serve` does.
    const other = await createHost({ home, paths: resolvePaths({}, home, { home }) });
    try {
      await other.install(await signedProbe(a, "t.pub.deep", {}));
    } finally {
      await other.close();
    }
    // This host hears of it within the refresh interval (INSTALLED_IDS_REFRESH_MS), not at once,
    // and without being asked meanwhile: the first publish after the wait is refused.
    await new Promise((resolve) => setTimeout(resolve, INSTALLED_IDS_REFRESH_MS * 1.5));
    const refused = await publish("deep.x");
    expect(refused.answer).toMatchObject({ error: { code: "permission_denied" } });
  });

  it("is refused after a restart where the installed plugin fails to load", async () => {
    const info = await host.install(await signedProbe(a, "t.pub.deep", {}));
    await host.close();
    rmSync(installedPath(resolvePaths({}, home, { home }).plugins, info.digest));
    await open();
    expect(host.failed.map((f) => f.source)).toEqual(["installed:t.pub.deep"]);
    await publisher();
    const refused = await publish("deep.x");
    expect(refused.answer).toMatchObject({ error: { code: "permission_denied" } });
  });
});

describe("installing nested plugin ids", () => {
  it("refuses an id inside an installed id's namespace signed by another key", async () => {
    await host.install(await signedProbe(a, "t.acme", {}));
    const refused = host.install(await signedProbe(b, "t.acme.hello", {}));
    await expect(refused).rejects.toMatchObject({ code: "conflict" });
    await expect(refused).rejects.toThrow(
      new RegExp(
        `share an event namespace with plugin 't\\.acme', pinned to key\\(s\\) ${a.keyId}`,
      ),
    );
    expect(await host.store.plugins.get("t.acme.hello")).toBeUndefined();
    expect(await host.store.plugins.pin("t.acme.hello")).toBeUndefined();
    // The same signer may nest ids; so may another key once the operator pins the outer id to both.
    await host.install(await signedProbe(a, "t.acme.one", {}));
    await host.store.plugins.setPinnedKeys("t.acme", [a.keyId, b.keyId]);
    await host.install(await signedProbe(b, "t.acme.hello", {}));
  });

  it("refuses the outer id too, and holds an uninstalled id's namespace by its pin", async () => {
    await host.install(await signedProbe(b, "t.acme.hello", {}));
    await expect(host.install(await signedProbe(a, "t.acme", {}))).rejects.toThrow(
      /share an event namespace with plugin 't\.acme\.hello'/,
    );
    await host.uninstall("t.acme.hello");
    // Its pin stays, and with it the claim: what t.acme wrote meanwhile would land there.
    await expect(host.install(await signedProbe(a, "t.acme", {}))).rejects.toThrow(
      /host plugins unpin t\.acme\.hello/,
    );
    expect(await host.store.plugins.forgetPin("t.acme.hello")).toBe(true);
    await host.install(await signedProbe(a, "t.acme", {}));
  });

  it("skips a --plugins folder file nested in another signer's namespace", async () => {
    await host.install(await signedProbe(a, "t.acme", {}));
    await host.close();
    const dir = join(home, "served");
    mkdirSync(dir);
    writeFileSync(join(dir, "hello.wasm"), await signedProbe(b, "t.acme.hello", {}));
    host = await createHost({ home, paths: resolvePaths({}, home, { home }), pluginDirs: [dir] });
    expect(host.get("t.acme.hello")).toBeUndefined();
    expect(host.failed).toEqual([
      { source: join(dir, "hello.wasm"), error: expect.stringMatching(/share an event namespace/) },
    ]);
  });
});
