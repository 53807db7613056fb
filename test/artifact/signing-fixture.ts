/**
 * Test setup for signing: real keys written by createKeyFiles into a temp
 * directory, and a trust store trusting "alice", with "revoked" listed as
 * revoked and "old" expired; "mallory" is not trusted.
 * @module
 */
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  createKeyFiles,
  loadTrustStore,
  readSigningKey,
  type SigningKey,
  trustKey,
  type TrustStore,
} from "../../host/trust/mod.ts";

/** Keys and a trust store for signing tests. */
export interface SigningSetup {
  dir: string;
  trustDir: string;
  keys: Record<"alice" | "bob" | "revoked" | "old" | "mallory", SigningKey>;
  trust: TrustStore;
}

/** Creates the keys and the trust store in a fresh temp directory. */
export async function signingSetup(): Promise<SigningSetup> {
  const dir = await mkdtemp(join(tmpdir(), "plughost-trust-"));
  const trustDir = join(dir, "trust");
  const names = ["alice", "bob", "revoked", "old", "mallory"] as const;
  const keys = {} as SigningSetup["keys"];
  for (const name of names) {
    const created = await createKeyFiles(join(dir, "keys", name), name);
    keys[name] = await readSigningKey(created.keyPath);
    if (name === "mallory") continue;
    await trustKey(trustDir, created.publicKey, {
      label: name,
      expires: name === "old" ? "2020-01-01T00:00:00Z" : undefined,
    });
  }
  await writeFile(
    join(trustDir, "revoked.txt"),
    `# compromised\n${keys.revoked.keyId} leaked 2026-11-01\n`,
  );
  return { dir, trustDir, keys, trust: await loadTrustStore(trustDir) };
}
