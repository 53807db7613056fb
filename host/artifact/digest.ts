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
import { parseModule, type Section, type WasmModule } from "./module.ts";
import { SIGNATURE_SECTION } from "./names.ts";

const encoder = new TextEncoder();

/**
 * Inputs at least this long are hashed by WebCrypto, off the event loop's
 * thread; shorter ones right away: WebCrypto's job costs more than hashing a
 * small plugin (0.07-0.17 ms against 0.035 ms for a 37 KB module here), and a
 * host restart hashes each plugin several times.
 */
const OFF_LOOP_BYTES = 1 << 20;

/**
 * SHA-256 of bytes or UTF-8 text; a megabyte or more (module bytes can be
 * many) is hashed off the event loop's thread.
 */
export async function sha256(data: Uint8Array | string): Promise<Uint8Array> {
  const bytes = typeof data === "string" ? encoder.encode(data) : data;
  if (bytes.byteLength < OFF_LOOP_BYTES) return sha256Sync(bytes);
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
}

/** Lower-case hex SHA-256 of bytes or UTF-8 text (see sha256). */
export async function sha256Hex(data: Uint8Array | string): Promise<string> {
  const bytes = typeof data === "string" ? encoder.encode(data) : data;
  if (bytes.byteLength < OFF_LOOP_BYTES) return sha256HexSync(bytes);
  return toHex(await sha256(bytes));
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

const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, "0"));

/** Lower-case hex of `bytes`. */
export function toHex(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += HEX[b]!;
  return out;
}

const isSignature = (s: Section) => s.id === 0 && s.name === SIGNATURE_SECTION;
const isPlughost = (s: Section) =>
  s.id === 0 && s.name !== undefined && s.name.startsWith("plughost.");

/** The module bytes that signatures cover: everything but `plughost.signature` sections. */
export function signedContent(wasm: Uint8Array): Uint8Array {
  return filterSections(parseModule(wasm), (s) => !isSignature(s));
}

/** The 32-byte message every signature signs: SHA-256 of {@link signedContent}. */
export async function signedDigest(wasm: Uint8Array): Promise<Uint8Array> {
  return await sha256(signedContent(wasm));
}

/** Hex SHA-256 of the module without any `plughost.*` custom section: the code's identity. */
export async function moduleDigest(wasm: Uint8Array): Promise<string> {
  return toHex(await sha256(filterSections(parseModule(wasm), (s) => !isPlughost(s))));
}

/**
 * {@link signedDigest} and {@link moduleDigest} of a parsed module, reading
 * its bytes once: both hashes share the sections before the first
 * `plughost.*` one (the code, as `host sign` appends its sections), then go
 * on apart; no copy of the module is made. Large modules are hashed off the
 * event loop's thread, as {@link sha256} does.
 */
export async function pluginDigests(
  module: WasmModule,
): Promise<{ signed: Uint8Array; module: string }> {
  const bytes = module.bytes;
  if (bytes.byteLength >= OFF_LOOP_BYTES) {
    return {
      signed: await sha256(filterSections(module, (s) => !isSignature(s))),
      module: toHex(await sha256(filterSections(module, (s) => !isPlughost(s)))),
    };
  }
  const shared = nodeCrypto.createHash("sha256").update(bytes.subarray(0, 8));
  let signed: nodeCrypto.Hash | undefined;
  for (const section of module.sections) {
    const part = bytes.subarray(section.start, section.end);
    if (signed === undefined) {
      if (!isPlughost(section)) {
        shared.update(part);
        continue;
      }
      signed = shared.copy(); // from here on, `shared` is the module digest's alone
    }
    if (!isSignature(section)) signed.update(part);
    if (!isPlughost(section)) shared.update(part);
  }
  if (signed === undefined) {
    // No plughost.* section: one hash is both.
    const digest = new Uint8Array(shared.digest());
    return { signed: digest, module: toHex(digest) };
  }
  return { signed: new Uint8Array(signed.digest()), module: shared.digest("hex") };
}
