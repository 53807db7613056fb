/**
 * How coldstart.bench.ts hands its signed plugins and the public half of its
 * key to the restart child (_coldload.ts): files in one directory.
 * @module
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import type { SigningKey } from "../../host/trust/mod.ts";

const KeyFile = z.object({
  keyId: z.string().min(1),
  label: z.string().optional(),
  publicKey: z.array(z.int().min(0).max(255)).length(32),
});

/** Writes the key's public half to DIR/key.json. */
export function writeKey(dir: string, key: SigningKey): void {
  const file = { keyId: key.keyId, label: key.label, publicKey: Array.from(key.publicKey) };
  writeFileSync(join(dir, "key.json"), JSON.stringify(file));
}

/** Reads DIR/key.json back as a key with no secret half (the child only verifies). */
export function readKey(dir: string): SigningKey {
  const raw = KeyFile.parse(JSON.parse(readFileSync(join(dir, "key.json"), "utf8")));
  return {
    keyId: raw.keyId,
    label: raw.label,
    publicKey: Uint8Array.from(raw.publicKey),
    secretKey: new Uint8Array(0),
  };
}
