/**
 * Canonical base64 (RFC 4648, padded). Decoding refuses anything that does not
 * re-encode to the same text, so two different strings never mean the same bytes.
 * Both directions are node:buffer's native codec (Node and Deno): a host start
 * decodes two signatures a plugin, and the string-by-character form cost ~20 us
 * each before the JIT warmed up.
 * @module
 */
import { Buffer } from "node:buffer";

/** Encodes bytes as padded base64. */
export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}

/** Decodes canonical padded base64, or returns undefined for anything else. */
export function fromBase64(text: string): Uint8Array | undefined {
  // Buffer's decoder skips what is not base64 and takes missing padding: the checks are here.
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) return undefined;
  const decoded = Buffer.from(text, "base64");
  // Canonical only: other padding bits, or a "=" inside the text, re-encode differently.
  if (decoded.toString("base64") !== text) return undefined;
  // A plain Uint8Array of its own (not a view into Buffer's shared pool).
  return new Uint8Array(decoded);
}
