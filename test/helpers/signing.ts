/**
 * Test helpers that make real keys, trust stores and signed plugins (no mocks).
 * @module
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  generateKeyPair,
  keyIdOf,
  type SigningKey,
  signPlugin,
  type TrustStore,
} from "../../host/trust/mod.ts";
import { repoRoot } from "./cli.ts";

/** A fresh ed25519 signing key. */
export async function newKey(label = "test"): Promise<SigningKey> {
  const { secretKey, publicKey } = await generateKeyPair();
  return { keyId: await keyIdOf(publicKey), label, secretKey, publicKey };
}

/** An in-memory trust store trusting `keys`. */
export function trustStoreOf(...keys: SigningKey[]): TrustStore {
  return {
    path: "(memory)",
    keys: new Map(keys.map((k) => [k.keyId, {
      keyId: k.keyId,
      publicKey: k.publicKey,
      label: k.label,
      expires: undefined,
      file: "(memory)",
    }])),
    revoked: new Map(),
  };
}

/** The built (unsigned) module of a first-party plugin and its plugin.json text. */
export function firstPartyPlugin(name: string): { wasm: Uint8Array; manifest: string } {
  return {
    wasm: new Uint8Array(readFileSync(join(repoRoot, "build", "plugins", `${name}.raw.wasm`))),
    manifest: readFileSync(join(repoRoot, "plugins", name, "plugin.json"), "utf8"),
  };
}

/** Signs a first-party plugin with `key`, embedding its manifest (optionally edited). */
export async function signedFirstParty(
  name: string,
  key: SigningKey,
  edit: (manifest: Record<string, unknown>) => void = () => {},
): Promise<Uint8Array> {
  const { wasm, manifest } = firstPartyPlugin(name);
  const parsed = JSON.parse(manifest) as Record<string, unknown>;
  edit(parsed);
  return (await signPlugin(wasm, key, { manifest: JSON.stringify(parsed) })).wasm;
}
