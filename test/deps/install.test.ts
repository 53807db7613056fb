import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { uninstallPlugin } from "../../host/core/install.ts";
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
});
