/**
 * Ed25519 through two engines: @noble/ed25519 (the portable reference, used
 * to sign) and the runtime's WebCrypto Ed25519 (Node 20, Deno), used to
 * verify where present because it is several times faster. Both check
 * signatures by RFC 8032 rules (noble with `zip215: false`), so they agree;
 * a test holds them to it.
 * @module
 */
import * as ed from "@noble/ed25519";
import { toHex } from "../artifact/digest.ts";

/** A new random secret key (32-byte seed) and its public key. */
export async function generateKeyPair(): Promise<{ secretKey: Uint8Array; publicKey: Uint8Array }> {
  const secretKey = ed.utils.randomSecretKey();
  return { secretKey, publicKey: await ed.getPublicKeyAsync(secretKey) };
}

/** The public key of a 32-byte secret key. */
export async function publicKeyOf(secretKey: Uint8Array): Promise<Uint8Array> {
  return await ed.getPublicKeyAsync(secretKey);
}

/** Signs `message` with a 32-byte secret key (noble). */
export async function sign(message: Uint8Array, secretKey: Uint8Array): Promise<Uint8Array> {
  return await ed.signAsync(message, secretKey);
}

/** Verifies with @noble/ed25519 under RFC 8032 rules; false for any malformed input. */
export async function verifyNoble(
  signature: Uint8Array,
  message: Uint8Array,
  publicKey: Uint8Array,
): Promise<boolean> {
  try {
    return await ed.verifyAsync(signature, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
}

const algorithm = { name: "Ed25519" } as const;
type Bytes = Uint8Array<ArrayBuffer>;

/** Verifies with WebCrypto Ed25519; throws if the runtime has none, false for malformed input. */
export async function verifyWebCrypto(
  signature: Uint8Array,
  message: Uint8Array,
  publicKey: Uint8Array,
): Promise<boolean> {
  if (signature.length !== 64 || publicKey.length !== 32) return false;
  const key = await importedKey(publicKey);
  if (key === null) return false; // not a valid point
  return await crypto.subtle.verify(algorithm, key, signature as Bytes, message as Bytes);
}

/**
 * Public keys imported into WebCrypto, by their bytes in hex (null: not a
 * valid point). A host start verifies every installed plugin against the few
 * keys of its trust store; importing the key each time was ~3% of a restart.
 */
const importedKeys = new Map<string, Promise<CryptoKey | null>>();
/** Keys kept at most (a trust store holds a handful; the oldest goes first). */
const MAX_IMPORTED_KEYS = 256;

function importedKey(publicKey: Uint8Array): Promise<CryptoKey | null> {
  const id = toHex(publicKey);
  let key = importedKeys.get(id);
  if (key === undefined) {
    key = crypto.subtle.importKey("raw", publicKey.slice() as Bytes, algorithm, false, ["verify"])
      .catch((error: unknown) => {
        if (!isUnsupported(error)) return null;
        importedKeys.delete(id); // no Ed25519 here: nothing to keep
        throw error;
      });
    if (importedKeys.size >= MAX_IMPORTED_KEYS) {
      importedKeys.delete(importedKeys.keys().next().value as string);
    }
    importedKeys.set(id, key);
  }
  return key;
}

/**
 * RFC 8032 section 7.1, TEST 1 (an empty message): what the probe verifies.
 * A fixed vector, not a key made and a message signed with noble: noble's
 * first key and signature build its base-point table (~45 ms), which was
 * most of what a `host verify` of one plugin spent on signatures.
 */
export const PROBE_VECTOR = {
  publicKey: "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
  message: "",
  signature:
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
} as const;

let webCryptoProbe: Promise<boolean> | undefined;

/** Whether this runtime's WebCrypto verifies Ed25519 (probed once). */
export function hasWebCryptoEd25519(): Promise<boolean> {
  webCryptoProbe ??= (async () => {
    try {
      const bytes = (hex: string) =>
        Uint8Array.from(hex.match(/../g) ?? [], (h) => parseInt(h, 16));
      return await verifyWebCrypto(
        bytes(PROBE_VECTOR.signature),
        bytes(PROBE_VECTOR.message),
        bytes(PROBE_VECTOR.publicKey),
      );
    } catch {
      return false;
    }
  })();
  return webCryptoProbe;
}

/** Verifies a signature with the fastest engine available. */
export async function verify(
  signature: Uint8Array,
  message: Uint8Array,
  publicKey: Uint8Array,
): Promise<boolean> {
  return (await hasWebCryptoEd25519())
    ? await verifyWebCrypto(signature, message, publicKey)
    : await verifyNoble(signature, message, publicKey);
}

function isUnsupported(error: unknown): boolean {
  return error instanceof Error && error.name === "NotSupportedError";
}
