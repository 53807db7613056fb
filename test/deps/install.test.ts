import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { appendFile, readFile } from "node:fs/promises";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { uninstallPlugin } from "../../host/core/install.ts";
import { stopUntrusted } from "../../host/core/trust-watch.ts";
import { LiveTrustStore } from "../../host/trust/mod.ts";
import { createApp } from "../../host/server/app.ts";
import { createHost, type Host } from "../../host/host.ts";
import { signedFirstParty } from "../helpers/signing.ts";
import { type SigningSetup, signingSetup } from "../artifact/signing-fixture.ts";

/** A hello plugin renamed `id`, at `version`, needing `dependencies`. */
export function helloAs(
  setup: SigningSetup,
  id: string,
  version: string,
  dependencies?: Record<string, unknown>,
  edit: (m: Record<string, unknown>) => void = () => {},
): Promise<Uint8Array> {
  return signedFirstParty("hello", setup.keys.alice, (m) => {
    m.id = id;
    m.version = version;
    if (dependencies) m.dependencies = dependencies;
    edit(m);
  });
}

describe("dependencies at install and activation", () => {
  let setup: SigningSetup;
  let home: string;
  const open = (): Promise<Host> =>
    createHost({ home, paths: { trust: setup.trustDir }, cache: false });

  beforeEach(async () => {
    setup = await signingSetup();
    home = await mkdtemp(join(tmpdir(), "plughost-deps-"));
  });
  afterEach(async () => {
    await rm(home, { recursive: true, force: true });
    await rm(setup.dir, { recursive: true, force: true });
  });

  it("refuses a plugin whose required dependency is missing, and installs it once present", async () => {
    const host = await open();
    try {
      const top = await helloAs(setup, "t.top", "1.0.0", { "t.base": "^1.0.0" });
      const refused = await host.install(top).catch((e: unknown) => e);
      expect(refused).toMatchObject({ code: "dependency_error", details: { kind: "unmet" } });
      expect(String((refused as Error).message)).toContain("'t.base' ^1.0.0 (not installed)");
      expect(await host.store.plugins.list()).toEqual([]);
      expect(host.get("t.top")).toBeUndefined();

      await host.install(await helloAs(setup, "t.base", "1.2.0"));
      await host.install(top);
      expect(host.list().map((p) => p.id)).toEqual(["t.base", "t.top"]);
      // An update of the dependency outside the dependent's range is refused.
      const major = await host.install(await helloAs(setup, "t.base", "2.0.0")).catch((e) => e);
      expect(major).toMatchObject({ code: "dependency_error", details: { kind: "dependents" } });
      expect(major.message).toContain("t.top@1.0.0 needs ^1.0.0");
      // Uninstalling it is refused while t.top needs it, unless forced.
      const removal = await uninstallPlugin(host.runtime, "t.base", {
        pluginsDir: host.paths.plugins,
      })
        .catch((e) => e);
      expect(removal).toMatchObject({ code: "dependency_error" });
      await uninstallPlugin(host.runtime, "t.base", { force: true });
    } finally {
      await host.close();
    }
    // Next start: t.top is not activated, and says why.
    const again = await open();
    try {
      expect(again.list().map((p) => p.id)).toEqual([]);
      expect(again.failed).toEqual([{
        source: "installed:t.top",
        error: expect.stringContaining("'t.base' ^1.0.0 (not installed)"),
      }]);
      await again.store.flush();
      const events = await again.events.query({ type: "plugin.load_failed" });
      expect(events.events[0]?.payload).toMatchObject({ reason: "dependency_missing" });
    } finally {
      await again.close();
    }
  });

  it("loads installed plugins dependencies first, whatever their ids", async () => {
    const host = await open();
    try {
      await host.install(await helloAs(setup, "t.z", "1.0.0"));
      await host.install(await helloAs(setup, "t.a", "1.0.0", { "t.z": "^1.0.0" }));
    } finally {
      await host.close();
    }
    const again = await open();
    try {
      expect(again.loaded.map((p) => p.id)).toEqual(["t.z", "t.a"]);
    } finally {
      await again.close();
    }
  });

  it("loads installed plugins several at a time, each level after the one it needs has settled", async () => {
    const host = await open();
    const digests = new Map<string, string>();
    try {
      const install = async (id: string, deps?: Record<string, string>) =>
        digests.set(id, (await host.install(await helloAs(setup, id, "1.0.0", deps))).digest);
      await install("l.base");
      await install("l.mid", { "l.base": "^1.0.0" });
      await install("l.top", { "l.mid": "^1.0.0" });
      for (const i of [1, 2, 3, 4, 5, 6]) await install(`l.free${i}`);
      await install("l.side", { "l.free3": "^1.0.0" });
    } finally {
      await host.close();
    }
    // l.mid's module is damaged on disk: it fails its load, and l.top, a level later, must see it
    // missing (it would load if it ran beside l.mid, before l.mid had failed).
    await appendFile(join(home, "plugins", `${digests.get("l.mid")}.wasm`), "x");
    const again = await open();
    try {
      const ids = again.loaded.map((p) => p.id);
      expect([...ids].sort()).toEqual(
        ["l.base", "l.free1", "l.free2", "l.free3", "l.free4", "l.free5", "l.free6", "l.side"],
      );
      // Returned in dependency order.
      expect(ids.indexOf("l.free3")).toBeLessThan(ids.indexOf("l.side"));
      expect(again.failed.map((f) => f.source)).toEqual(["installed:l.mid", "installed:l.top"]);
      expect(again.failed[1]!.error).toContain("'l.mid' ^1.0.0 (not installed)");
    } finally {
      await again.close();
    }
  });

  it("an optional dependency that is absent does not block activation", async () => {
    const host = await open();
    try {
      await host.install(
        await helloAs(setup, "t.opt", "1.0.0", { "t.none": { range: "^1.0.0", optional: true } }),
      );
      expect(host.get("t.opt")?.state).toBe("enabled");
    } finally {
      await host.close();
    }
  });

  it("asks consent for an injected secret and for a public route an update adds", async () => {
    const host = await open();
    try {
      const http = { allowedHosts: ["api.example.com"] };
      await host.installSet([{
        wasm: await helloAs(setup, "d.inj", "1.0.0", undefined, (m) => {
          m.permissions = { http };
        }),
        source: "test",
      }]);
      // The host sends the secret to that host on every request: like a secret the plugin reads.
      const inject = await helloAs(setup, "d.inj", "1.0.1", undefined, (m) => {
        m.permissions = {
          http: {
            ...http,
            inject: { "api.example.com": { header: "X-Key", secret: "DB_PASSWORD" } },
          },
        };
      });
      const publicRoute = await helloAs(setup, "d.inj", "1.0.2", undefined, (m) => {
        m.permissions = { http };
        m.routes = [{ method: "POST", path: "/hook", capability: "greet", auth: "public" }];
      });
      for (
        const [wasm, added] of [
          [inject, "http.inject:api.example.com:x-key=secret:DB_PASSWORD"],
          [publicRoute, "route.public:POST /hook"],
        ] as const
      ) {
        const refused = await host.installSet([{ wasm, source: "test" }], { requireConsent: true })
          .catch((e) => e);
        expect(refused).toMatchObject({
          code: "consent_required",
          details: { changes: [{ id: "d.inj", permissions: { added: [added] } }] },
        });
        expect(host.get("d.inj")?.version).toBe("1.0.0");
      }
    } finally {
      await host.close();
    }
  });

  it("installs a set as one change: diamond in any order, lockfile, consent, rollback", async () => {
    const host = await open();
    try {
      const base = await helloAs(setup, "d.base", "1.0.0");
      const left = await helloAs(setup, "d.left", "1.0.0", { "d.base": "^1.0.0" });
      const right = await helloAs(setup, "d.right", "1.0.0", { "d.base": "~1.0.0" });
      const top = await helloAs(setup, "d.top", "1.0.0", { "d.left": "^1", "d.right": "^1" });
      const files = [top, right, base, left].map((wasm) => ({ wasm, source: "test" }));
      const { changes } = await host.installSet(files);
      expect(changes.map((c) => c.id)).toEqual(["d.base", "d.left", "d.right", "d.top"]);
      const lock = JSON.parse(await readFile(host.lockfile, "utf8"));
      expect(Object.keys(lock.plugins)).toEqual(["d.base", "d.left", "d.right", "d.top"]);
      expect(lock.plugins["d.top"]).toMatchObject({
        version: "1.0.0",
        dependencies: { "d.left": "^1", "d.right": "^1" },
        resolved: { "d.left": "1.0.0", "d.right": "1.0.0" },
        signers: [setup.keys.alice.keyId],
      });

      // An update adding a permission needs consent; refused, nothing changes.
      const withHttp = await helloAs(setup, "d.base", "1.0.1", undefined, (m) => {
        m.permissions = { http: { allowedHosts: ["api.example.com"] } };
      });
      const refused = await host.installSet([{ wasm: withHttp, source: "test" }], {
        requireConsent: true,
      }).catch((e) => e);
      expect(refused).toMatchObject({
        code: "consent_required",
        details: { changes: [{ id: "d.base", permissions: { added: ["http:api.example.com"] } }] },
      });
      expect(host.get("d.base")?.version).toBe("1.0.0");
      await host.installSet([{ wasm: withHttp, source: "test" }], {
        requireConsent: true,
        acceptPermissions: true,
      });
      expect(host.get("d.base")?.version).toBe("1.0.1");
      const back = await host.rollback("d.base");
      expect(back).toMatchObject({ id: "d.base", version: "1.0.0", from: "1.0.1" });
      expect(host.get("d.base")?.version).toBe("1.0.0");

      // A cycle and a conflict in a set change nothing.
      const before = await readFile(host.lockfile, "utf8");
      const c1 = await helloAs(setup, "d.c1", "1.0.0", { "d.c2": "^1.0.0" });
      const c2 = await helloAs(setup, "d.c2", "1.0.0", { "d.c1": "^1.0.0" });
      const cycle = await host.installSet([{ wasm: c1, source: "t" }, { wasm: c2, source: "t" }])
        .catch((e) => e);
      expect(cycle).toMatchObject({ code: "dependency_error", details: { kind: "cycle" } });
      expect(cycle.message).toContain("d.c1 -> d.c2 -> d.c1");
      const far = await helloAs(setup, "d.far", "1.0.0", { "d.base": "^2.0.0" });
      const conflict = await host.installSet([{ wasm: far, source: "t" }]).catch((e) => e);
      expect(conflict).toMatchObject({ code: "dependency_error", details: { kind: "conflict" } });
      expect(conflict.message).toContain("d.far@1.0.0 wants ^2.0.0");
      expect(await readFile(host.lockfile, "utf8")).toBe(before);
      expect((await host.store.plugins.list()).map((p) => p.id)).toEqual([
        "d.base",
        "d.left",
        "d.right",
        "d.top",
      ]);
    } finally {
      await host.close();
    }
  });

  it("HTTP: an upload with a missing dependency and a DELETE of a needed plugin are 409, in HTTP words", async () => {
    const host = await open();
    try {
      const { app } = createApp({
        host,
        options: { rateLimitPerSecond: 0 },
      });
      const { token } = await host.store.tokens.create({ name: "op", scopes: ["admin"] });
      const headers = { authorization: `Bearer ${token}`, "content-type": "application/wasm" };
      const top = await helloAs(setup, "h.top", "1.0.0", { "h.base": "^1.0.0" });
      const refused = await app.request("/v1/plugins", {
        method: "POST",
        headers,
        body: top as Uint8Array<ArrayBuffer>,
      });
      expect(refused.status).toBe(409);
      expect(await refused.json()).toMatchObject({ code: "dependency_error" });
      const base = await helloAs(setup, "h.base", "1.0.0");
      expect(
        (await app.request("/v1/plugins", {
          method: "POST",
          headers,
          body: base as Uint8Array<ArrayBuffer>,
        })).status,
      )
        .toBe(201);
      expect(
        (await app.request("/v1/plugins", {
          method: "POST",
          headers,
          body: top as Uint8Array<ArrayBuffer>,
        })).status,
      )
        .toBe(201);
      const removal = await app.request("/v1/plugins/h.base", { method: "DELETE", headers });
      expect(removal.status).toBe(409);
      const problem = await removal.json();
      expect(problem.detail).toBe(
        "Plugin 'h.base' is needed by installed plugins (h.top@1.0.0 needs ^1.0.0): uninstall them first",
      );
      expect((await app.request("/v1/plugins/h.top", { method: "DELETE", headers })).status).toBe(
        204,
      );
      expect((await app.request("/v1/plugins/h.base", { method: "DELETE", headers })).status).toBe(
        204,
      );
    } finally {
      await host.close();
    }
  });

  it("a plugin stopped by a revocation takes its dependents with it (dependency_stopped)", async () => {
    const live = await LiveTrustStore.open(setup.trustDir);
    const host = await createHost({ home, trust: live, cache: false });
    try {
      const base = await signedFirstParty("hello", setup.keys.bob, (m) => {
        m.id = "r.base";
      });
      await host.install(base);
      await host.install(await helloAs(setup, "r.top", "1.0.0", { "r.base": "^1.0.0" }));
      await host.install(await helloAs(setup, "r.other", "1.0.0"));
      await appendFile(join(setup.trustDir, "revoked.txt"), `${setup.keys.bob.keyId} test\n`);
      const change = await live.refresh(true);
      const stopped = await stopUntrusted(host.runtime, live, change!);
      expect(stopped.map((s) => s.id)).toEqual(["r.base"]);
      expect(host.list().map((p) => p.id)).toEqual(["r.other"]);
      await host.store.flush();
      const events = (await host.events.query({ type: "plugin.stopped" })).events;
      expect(events.map((e) => [e.pluginId, (e.payload as { reason: string }).reason])).toEqual([
        ["r.base", "key_revoked"],
        ["r.top", "dependency_stopped"],
      ]);
    } finally {
      await host.close();
      live.close();
    }
  });
});
