/**
 * The evidence bundle file format (docs/replay.md, "Evidence bundles"): one
 * UTF-8 file of two lines. Line 1 is the header, compact JSON
 * `{"type":"plughost-evidence-bundle","version":1,"alg":"ed25519","keyId":...,
 * "publicKey":...,"signature":...}`; line 2 is the body, compact JSON. The
 * signature is ed25519 over `plughost-evidence-bundle/1\n` + the body's exact
 * bytes. Verifying re-serializes the header and requires the very bytes read,
 * so any changed byte, in either line, fails.
 * @module
 */
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { fromBase64, toBase64 } from "./base64.ts";
import { sign, verify } from "./ed25519.ts";
import { createKeyFiles, keyIdOf, readSigningKey, type SigningKey } from "./keys.ts";

/** The first bytes of every bundle: how `host verify` recognises one. */
export const BUNDLE_MAGIC = '{"type":"plughost-evidence-bundle"';
const DOMAIN = "plughost-evidence-bundle/1\n";

const Header = z.strictObject({
  type: z.literal("plughost-evidence-bundle"),
  version: z.literal(1),
  alg: z.literal("ed25519"),
  keyId: z.string().regex(/^[0-9a-f]{16}$/),
  publicKey: z.string(),
  signature: z.string(),
});
type Header = z.infer<typeof Header>;

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** True when `bytes` start like a bundle. */
export function isEvidenceBundle(bytes: Uint8Array): boolean {
  const magic = encoder.encode(BUNDLE_MAGIC);
  if (bytes.length < magic.length) return false;
  return magic.every((b, i) => bytes[i] === b);
}

/** Signs `body` (any JSON value) with `key` into bundle bytes. */
export async function writeBundle(body: unknown, key: SigningKey): Promise<Uint8Array> {
  const bodyText = JSON.stringify(body);
  const signature = await sign(encoder.encode(DOMAIN + bodyText), key.secretKey);
  const header: Header = {
    type: "plughost-evidence-bundle",
    version: 1,
    alg: "ed25519",
    keyId: key.keyId,
    publicKey: toBase64(key.publicKey),
    signature: toBase64(signature),
  };
  return encoder.encode(JSON.stringify(header) + "\n" + bodyText + "\n");
}

/** How checking a bundle went: its signer and body when intact, else why not. */
export type BundleCheck =
  | { ok: true; keyId: string; publicKey: Uint8Array; body: unknown }
  | { ok: false; reason: string };

/** Checks a bundle's bytes offline: shape, exact encoding, key id, signature. */
export async function checkBundle(bytes: Uint8Array): Promise<BundleCheck> {
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch {
    return { ok: false, reason: "not UTF-8" };
  }
  const lines = text.split("\n");
  if (lines.length !== 3 || lines[2] !== "") {
    return { ok: false, reason: "not two lines (header, body) ending in a newline" };
  }
  const [headerText, bodyText] = lines as [string, string];
  let header: Header;
  try {
    header = Header.parse(JSON.parse(headerText));
  } catch (error) {
    return { ok: false, reason: `malformed header: ${(error as Error).message.split("\n")[0]}` };
  }
  if (JSON.stringify(header) !== headerText) {
    return { ok: false, reason: "the header is not in its canonical encoding" };
  }
  const publicKey = fromBase64(header.publicKey);
  const signature = fromBase64(header.signature);
  if (publicKey?.length !== 32 || signature?.length !== 64) {
    return { ok: false, reason: "malformed public key or signature" };
  }
  // Base64 has spare bits: only the one encoding of each value is accepted.
  if (toBase64(publicKey) !== header.publicKey || toBase64(signature) !== header.signature) {
    return { ok: false, reason: "the public key or signature is not in its canonical base64" };
  }
  if (await keyIdOf(publicKey) !== header.keyId) {
    return { ok: false, reason: "the key id does not match the public key" };
  }
  if (!await verify(signature, encoder.encode(DOMAIN + bodyText), publicKey)) {
    return { ok: false, reason: "the signature does not match the body (changed after signing)" };
  }
  let body: unknown;
  try {
    body = JSON.parse(bodyText);
  } catch {
    return { ok: false, reason: "the body is not JSON" };
  }
  if (JSON.stringify(body) !== bodyText) {
    return { ok: false, reason: "the body is not in its canonical encoding" };
  }
  return { ok: true, keyId: header.keyId, publicKey, body };
}

/** The file name (without extension) of the host's own key under the keys directory. */
export const HOST_KEY_NAME = "host";

/**
 * The host's signing key for evidence: `<keys>/host.key`, made (with
 * `host.pub` next to it) the first time it is needed. Verifiers trust it by
 * putting `host.pub` in their trust store.
 */
export async function hostSigningKey(
  keysDir: string,
): Promise<{ key: SigningKey; created: boolean }> {
  const base = join(keysDir, HOST_KEY_NAME);
  let created = false;
  if (!existsSync(`${base}.key`)) {
    await mkdir(keysDir, { recursive: true });
    await createKeyFiles(base, "plughost host key (evidence bundles)");
    created = true;
  }
  return { key: await readSigningKey(`${base}.key`), created };
}
