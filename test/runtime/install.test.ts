import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { resolvePaths } from "../../host/config/paths.ts";
import {
  installedPath,
  installPlugin,
  openHost,
  setPluginState,
  uninstallPlugin,
} from "../../host/core/mod.ts";
import { trustKey } from "../../host/trust/mod.ts";
import type { SigningKey } from "../../host/trust/mod.ts";
import { newKey, signedFirstParty } from "../helpers/signing.ts";

describe("installing plugins", () => {
  let home: string;
  let key: SigningKey;

  beforeEach(async () => {
    home = mkdtempSync(join(tmpdir(), "plughost-install-"));
    key = await newKey("operator");
    await trustKey(join(home, "trust"), key.publicKey, { label: "operator" });
  });
  afterEach(() => rmSync(home, { recursive: true, force: true }));

  const paths = () => resolvePaths({}, home, { home });

  it("keeps an installed plugin across restarts, with its state", async () => {
    const first = await openHost({ paths: paths() });
    const info = await installPlugin(
      first.runtime,
      paths().plugins,
      await signedFirstParty("hello", key),
    );
    expect(info.id).toBe("example.hello");
    await setPluginState(first.runtime, "example.hello", "disabled");
    await first.close();

    const second = await openHost({ paths: paths() });
    try {
      expect(second.failed).toEqual([]);
      expect(second.runtime.get("example.hello")).toMatchObject({
        version: "1.0.0",
        state: "disabled",
      });
    } finally {
      await second.close();
    }
  });

  it("refuses the same or a lower version unless forced, and upgrades to a higher one", async () => {
    const host = await openHost({ paths: paths() });
    try {
      const v1 = await signedFirstParty("hello", key);
      await installPlugin(host.runtime, paths().plugins, v1);
      await expect(installPlugin(host.runtime, paths().plugins, v1)).rejects.toThrow(
        /1.0.0 is installed; 1.0.0 is not higher/,
      );
      await installPlugin(host.runtime, paths().plugins, v1, { force: true });
      const v2 = await signedFirstParty("hello", key, (m) => (m.version = "1.1.0"));
      expect((await installPlugin(host.runtime, paths().plugins, v2)).version).toBe("1.1.0");
      expect((await host.store.plugins.get("example.hello"))?.version).toBe("1.1.0");
    } finally {
      await host.close();
    }
  });

  it("uninstalls a plugin", async () => {
    const host = await openHost({ paths: paths() });
    await installPlugin(host.runtime, paths().plugins, await signedFirstParty("hello", key));
    await uninstallPlugin(host.runtime, "example.hello");
    expect(host.runtime.list()).toEqual([]);
    expect(await host.store.plugins.get("example.hello")).toBeUndefined();
    await expect(uninstallPlugin(host.runtime, "example.hello")).rejects.toThrow(/No plugin/);
    await host.close();
  });

  it("reports an installed module that was tampered with at start, and starts the rest", async () => {
    const first = await openHost({ paths: paths() });
    const info = await installPlugin(
      first.runtime,
      paths().plugins,
      await signedFirstParty("hello", key),
    );
    await first.close();
    const file = installedPath(paths().plugins, info.digest);
    const bytes = readFileSync(file);
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 1) ^ 0xff, bytes.length - 1);
    writeFileSync(file, bytes);

    const second = await openHost({ paths: paths() });
    try {
      expect(second.loaded).toEqual([]);
      expect(second.failed).toHaveLength(1);
      expect(second.failed[0]?.source).toBe("installed:example.hello");
      expect(second.failed[0]?.error).toMatch(/tampered|malformed/);
    } finally {
      await second.close();
    }
  });
});
