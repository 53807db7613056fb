import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { generateKeyPair } from "./ed25519.ts";
import { keyIdOf } from "./keys.ts";
import { loadTrustStore, parseRevoked, trustKey } from "./store.ts";

describe("trust store", () => {
  it("treats a missing directory as trusting nothing", async () => {
    const store = await loadTrustStore(join(tmpdir(), "plughost-no-such-dir-" + Date.now()));
    expect(store.keys.size).toBe(0);
  });

  it("reads keys with label and expiry, and the revocation list", async () => {
    const dir = await mkdtemp(join(tmpdir(), "plughost-store-"));
    const { publicKey } = await generateKeyPair();
    const { file } = await trustKey(dir, publicKey, {
      label: "ci",
      expires: "2030-01-01T00:00:00Z",
    });
    const keyId = await keyIdOf(publicKey);
    expect(file).toBe(join(dir, `${keyId}.pub`));
    await writeFile(join(dir, "revoked.txt"), "# old keys\n\n0123456789abcdef  lost laptop\n");
    const store = await loadTrustStore(dir);
    expect(store.keys.get(keyId)?.label).toBe("ci");
    expect(store.keys.get(keyId)?.expires?.toISOString()).toBe("2030-01-01T00:00:00.000Z");
    expect(store.revoked).toEqual(new Map([["0123456789abcdef", "lost laptop"]]));
  });

  it("fails loudly on a damaged key file or revocation line", async () => {
    const dir = await mkdtemp(join(tmpdir(), "plughost-store-"));
    const { publicKey } = await generateKeyPair();
    const { file, document } = await trustKey(dir, publicKey);
    await writeFile(file, JSON.stringify({ ...document, keyId: "0000000000000000" }));
    await expect(loadTrustStore(dir)).rejects.toThrow(/keyId does not match publicKey/);
    expect(() => parseRevoked("not-a-key-id\n", "revoked.txt")).toThrow(
      /revoked.txt:1: expected a 16-hex-digit key id/,
    );
  });
});
