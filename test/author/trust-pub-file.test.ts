// `--trust NAME.pub`: a trust store of that one key (a plugin author's dev key on a dev server).
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createKeyFiles, loadTrustStore } from "../../host/trust/mod.ts";

const dir = await mkdtemp(join(tmpdir(), "plughost-pubfile-"));
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("loadTrustStore with a .pub file", () => {
  it("trusts exactly that key", async () => {
    const { keyId, pubPath } = await createKeyFiles(join(dir, "dev"), "dev key");
    await createKeyFiles(join(dir, "other"), "not trusted");
    const store = await loadTrustStore(pubPath);
    expect([...store.keys.keys()]).toEqual([keyId]);
    expect(store.keys.get(keyId)?.label).toBe("dev key");
    expect(store.revoked.size).toBe(0);
  });

  it("still refuses any other file", async () => {
    await writeFile(join(dir, "notes.txt"), "hello");
    await expect(loadTrustStore(join(dir, "notes.txt"))).rejects.toThrow(/is not a directory/);
  });
});
