// A plugin folder (`host serve --plugins DIR`, `createHost({ pluginDirs })`) loads like the
// installed plugins: dependencies first, several at a time; the files of one id still load in
// file order, so the last replaces the others; outcomes come back in file order.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createHost } from "../../host/host.ts";
import { type SigningSetup, signingSetup } from "../artifact/signing-fixture.ts";
import { signedFirstParty } from "../helpers/signing.ts";

/** The hello plugin signed by alice as `id` at `version`, needing `dependencies`. */
function helloAs(
  setup: SigningSetup,
  id: string,
  version: string,
  dependencies?: Record<string, string>,
): Promise<Uint8Array> {
  return signedFirstParty("hello", setup.keys.alice, (m) => {
    m.id = id;
    m.version = version;
    if (dependencies) m.dependencies = dependencies;
  });
}

describe("a plugin folder at a host's start", () => {
  let setup: SigningSetup;
  let home: string;
  let folder: string;

  beforeEach(async () => {
    setup = await signingSetup();
    home = await mkdtemp(join(tmpdir(), "plughost-folder-"));
    folder = await mkdtemp(join(tmpdir(), "plughost-folder-files-"));
  });
  afterEach(async () => {
    await rm(home, { recursive: true, force: true });
    await rm(folder, { recursive: true, force: true });
    await rm(setup.dir, { recursive: true, force: true });
  });

  it("loads a dependency before its dependent, whatever the file order", async () => {
    // a.wasm needs b.wasm's plugin: in file order the dependent came first.
    await writeFile(
      join(folder, "a.wasm"),
      await helloAs(setup, "f.top", "1.0.0", { "f.base": "^1.0.0" }),
    );
    await writeFile(join(folder, "b.wasm"), await helloAs(setup, "f.base", "1.0.0"));
    const host = await createHost({ home, paths: { trust: setup.trustDir }, pluginDirs: [folder] });
    try {
      const loadedEvents = await host.events.query({ type: "plugin.loaded" });
      expect(loadedEvents.events.map((e) => e.pluginId)).toEqual(["f.base", "f.top"]);
      // Reported in file order all the same.
      expect(host.loaded.map((p) => p.id)).toEqual(["f.top", "f.base"]);
      expect(host.failed).toEqual([]);
    } finally {
      await host.close();
    }
  });

  it("holds a plugin id back until the dependencies of every one of its files have loaded", async () => {
    // f.wasm (a.same 1.0.0) needs z.dep; h.wasm (a.same 2.0.0, the one that stays) does not.
    await writeFile(
      join(folder, "f.wasm"),
      await helloAs(setup, "a.same", "1.0.0", { "z.dep": "^1.0.0" }),
    );
    await writeFile(join(folder, "h.wasm"), await helloAs(setup, "a.same", "2.0.0"));
    await writeFile(join(folder, "z.wasm"), await helloAs(setup, "z.dep", "1.0.0"));
    const host = await createHost({ home, paths: { trust: setup.trustDir }, pluginDirs: [folder] });
    try {
      const loadedEvents = await host.events.query({ type: "plugin.loaded" });
      expect(loadedEvents.events.map((e) => e.pluginId)).toEqual(["z.dep", "a.same", "a.same"]);
      expect(host.get("a.same")?.version).toBe("2.0.0");
    } finally {
      await host.close();
    }
  });

  it("loads the files of one id in file order, the last replacing the others, and reports each", async () => {
    await writeFile(join(folder, "1.wasm"), await helloAs(setup, "f.same", "1.0.0"));
    await writeFile(join(folder, "2.wasm"), new TextEncoder().encode("not a module"));
    await writeFile(join(folder, "3.wasm"), await helloAs(setup, "f.other", "1.0.0"));
    await writeFile(join(folder, "4.wasm"), await helloAs(setup, "f.same", "2.0.0"));
    const host = await createHost({ home, paths: { trust: setup.trustDir }, pluginDirs: [folder] });
    try {
      expect(host.loaded.map((p) => `${p.id}@${p.version}`)).toEqual([
        "f.same@1.0.0",
        "f.other@1.0.0",
        "f.same@2.0.0",
      ]);
      expect(host.get("f.same")?.version).toBe("2.0.0");
      expect(host.failed).toEqual([{ source: join(folder, "2.wasm"), error: expect.any(String) }]);
      const failedEvents = await host.events.query({ type: "plugin.load_failed" });
      expect(failedEvents.events.map((e) => (e.payload as { source?: string }).source)).toEqual([
        join(folder, "2.wasm"),
      ]);
    } finally {
      await host.close();
    }
  });
});
