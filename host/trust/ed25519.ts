/**
 * Ed25519 through two engines: @noble/ed25519 (the portable reference, used
 * to sign) and the runtime's WebCrypto Ed25519 (Node 20, Deno), used to
 * verify where present because it is several times faster. Both check
 * signatures by RFC 8032 rules (noble with `zip215: false`), so they agree;
 * a test holds them to it.
 * @module
 */
import * as ed from "@noble/ed25519";

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
  let key: CryptoKey;
  try {
    key = await crypto.subtle.importKey("raw", publicKey as Bytes, algorithm, false, ["verify"]);
  } catch (error) {
    if (isUnsupported(error)) throw error;
    return false; // not a valid point
  }
  return await crypto.subtle.verify(algorithm, key, signature as Bytes, message as Bytes);
}

let webCryptoProbe: Promise<boolean> | undefined;

/** Whether this runtime's WebCrypto verifies Ed25519 (probed once). */
export function hasWebCryptoEd25519(): Promise<boolean> {
  webCryptoProbe ??= (async () => {
    try {
      const { publicKey, secretKey } = await generateKeyPair();
      const message = Uint8Array.of(1, 2, 3);
      return await verifyWebCrypto(await sign(message, secretKey), message, publicKey);
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
