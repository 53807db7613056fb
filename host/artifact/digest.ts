/**
 * Digests of plugin files. The signed message of a plugin is the SHA-256 of
 * the module with every `plughost.signature` section removed; the module
 * digest leaves out every `plughost.*` section, so it names the code alone.
 * @module
 */
import { filterSections } from "./custom-sections.ts";
import { parseModule } from "./module.ts";
import { SIGNATURE_SECTION } from "./names.ts";

/** SHA-256 of `bytes` (WebCrypto, so it runs on Node and Deno). */
export async function sha256(bytes: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
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
