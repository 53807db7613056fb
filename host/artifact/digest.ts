/**
 * Digests of plugin files. The signed message of a plugin is the SHA-256 of
 * the module with every `plughost.signature` section removed; the module
 * digest leaves out every `plughost.*` section, so it names the code alone.
 * The host's one SHA-256 helper lives here too, in its three forms: bytes,
 * hex, and `sha256:<hex>`.
 * @module
 */
import * as nodeCrypto from "node:crypto";
import { filterSections } from "./custom-sections.ts";
import { parseModule } from "./module.ts";
import { SIGNATURE_SECTION } from "./names.ts";

const encoder = new TextEncoder();

/**
 * SHA-256 of bytes or UTF-8 text (WebCrypto, off the event loop's thread;
 * for module bytes, which can be megabytes).
 */
export async function sha256(data: Uint8Array | string): Promise<Uint8Array> {
  const bytes = typeof data === "string" ? encoder.encode(data) : data;
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
}

/** Lower-case hex SHA-256 of bytes or UTF-8 text, off the loop (see sha256). */
export async function sha256Hex(data: Uint8Array | string): Promise<string> {
  return toHex(await sha256(data));
}

/** SHA-256 right away, for small inputs on synchronous paths (tokens, run inputs, configs). */
export function sha256Sync(data: Uint8Array | string): Uint8Array {
  return new Uint8Array(nodeCrypto.createHash("sha256").update(data).digest());
}

/**
 * node:crypto's one-shot `hash` (Node >= 20.12, Deno 2): no Hash object per
 * digest, about half the cost of createHash for a run's small inputs.
 */
const oneShot =
  (nodeCrypto as { hash?: (alg: string, data: Uint8Array | string, enc: "hex") => string })
    .hash;

/** Lower-case hex SHA-256 right away (see sha256Sync). */
export function sha256HexSync(data: Uint8Array | string): string {
  // Hex straight from node:crypto: half the cost of a copy plus toHex on every run's digests.
  return oneShot
    ? oneShot("sha256", data, "hex")
    : nodeCrypto.createHash("sha256").update(data).digest("hex");
}

/** The digest as records and the CLI write it: `sha256:<hex>` (see sha256Sync). */
export function sha256Id(data: Uint8Array | string): string {
  return `sha256:${sha256HexSync(data)}`;
}

/** Lower-case hex of `bytes`. */
export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The module bytes that signatures cover: everything but `plughost.signature` sections. */
export function signedContent(wasm: Uint8Array): Uint8Array {
  return filterSections(parseModule(wasm), (s) => !(s.id === 0 && s.name === SIGNATURE_SECTION));
}

/** The 32-byte message every signature signs: SHA-256 of {@link signedContent}. */
export async function signedDigest(wasm: Uint8Array): Promise<Uint8Array> {
  return await sha256(signedContent(wasm));
}

/** Hex SHA-256 of the module without any `plughost.*` custom section: the code's identity. */
export async function moduleDigest(wasm: Uint8Array): Promise<string> {
  const code = filterSections(
    parseModule(wasm),
    (s) => !(s.id === 0 && s.name !== undefined && s.name.startsWith("plughost.")),
  );
  return toHex(await sha256(code));
}
