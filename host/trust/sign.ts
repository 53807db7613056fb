/**
 * Signing plugin files: embed (or keep) the manifest, then add a signature
 * over the module without its signature section. Existing signatures stay
 * valid unless the manifest changes.
 * @module
 */
import { customSections, filterSections, setCustomSection } from "../artifact/custom-sections.ts";
import { bytesEqual, concat } from "../artifact/bytes.ts";
import { encodeCustomSection } from "../artifact/custom-sections.ts";
import { signedDigest, toHex } from "../artifact/digest.ts";
import { moduleInfo } from "../artifact/module-info.ts";
import { parseModule } from "../artifact/module.ts";
import { MANIFEST_SECTION, SIGNATURE_SECTION } from "../artifact/names.ts";
import { HostError } from "../errors.ts";
import { engineProblems, exportProblems } from "../manifest/checks.ts";
import { configProblems } from "../plugin-config/check.ts";
import { parseManifest } from "../manifest/parse.ts";
import type { Manifest } from "../manifest/schema.ts";
import { toBase64 } from "./base64.ts";
import { sign } from "./ed25519.ts";
import type { SigningKey } from "./keys.ts";
import {
  encodeSignatureSection,
  parseSignatureSection,
  type SignatureEntry,
} from "./signatures.ts";

/** The outcome of {@link signPlugin}. */
export interface SignResult {
  wasm: Uint8Array;
  manifest: Manifest;
  /** Hex of the signed digest. */
  digest: string;
  keyId: string;
  /** Key ids of earlier signatures kept. */
  kept: string[];
  /** Things the signer should know (dropped signatures, engine mismatches). */
  warnings: string[];
}

/**
 * Signs `wasm` with `key`. With `manifest` (JSON text or bytes) it is
 * validated against the module and embedded; without, the module must
 * already carry a valid manifest. Throws HostError "invalid_manifest" or
 * "invalid_input" for anything that would make a plugin that cannot verify.
 *
 * @example
 * ```ts
 * const key = await readSigningKey(".plughost/keys/dev.key");
 * const { wasm: signed } = await signPlugin(wasm, key, { manifest: await readFile("plugin.json") });
 * ```
 */
export async function signPlugin(
  wasm: Uint8Array,
  key: SigningKey,
  options: { manifest?: string | Uint8Array } = {},
): Promise<SignResult> {
  const module = parseModule(wasm);
  const warnings: string[] = [];
  const sections = customSections(module);
  const manifestSections = sections.filter((s) => s.name === MANIFEST_SECTION);
  const signatureSections = sections.filter((s) => s.name === SIGNATURE_SECTION);
  if (signatureSections.length > 1) {
    throw new HostError(
      "invalid_input",
      "The file has several plughost.signature sections; it is malformed",
    );
  }
  let existing: SignatureEntry[] = [];
  if (signatureSections[0] !== undefined) {
    const parsed = parseSignatureSection(signatureSections[0].data);
    if (typeof parsed === "string") {
      throw new HostError("invalid_input", `Cannot add a signature: ${parsed}`);
    }
    existing = parsed;
  }

  let out = wasm;
  let manifest: Manifest;
  if (options.manifest !== undefined) {
    manifest = parseManifest(options.manifest);
    const bytes = new TextEncoder().encode(JSON.stringify(manifest));
    const same = manifestSections.length === 1 &&
      bytesEqual(manifestSections[0]?.data ?? new Uint8Array(), bytes);
    if (!same) {
      out = setCustomSection(out, MANIFEST_SECTION, bytes);
      if (existing.length > 0) {
        warnings.push(
          `The manifest changed, so the earlier signature(s) by ${
            existing.map((e) => e.keyId).join(", ")
          } were removed`,
        );
        existing = [];
      }
    }
  } else {
    if (manifestSections.length !== 1) {
      throw new HostError(
        "invalid_input",
        manifestSections.length === 0
          ? "The file has no plughost.manifest section; pass --manifest plugin.json"
          : "The file has several plughost.manifest sections; pass --manifest plugin.json to replace them",
      );
    }
    manifest = parseManifest(manifestSections[0]?.data);
  }
  const missing = [
    ...exportProblems(manifest, moduleInfo(module).exports),
    ...configProblems(manifest),
  ];
  if (missing.length > 0) {
    throw new HostError("invalid_manifest", `Invalid manifest: ${missing.join("; ")}`);
  }
  for (const problem of engineProblems(manifest)) {
    warnings.push(`This host cannot load it: ${problem}`);
  }

  const digest = await signedDigest(out);
  const signature = await sign(digest, key.secretKey);
  const entry: SignatureEntry = { alg: "ed25519", keyId: key.keyId, sig: toBase64(signature) };
  const kept = existing.filter((e) => e.keyId !== key.keyId);
  // One signature section, always last; it is outside the signed message, so its place is free.
  const unsigned = filterSections(
    parseModule(out),
    (s) => !(s.id === 0 && s.name === SIGNATURE_SECTION),
  );
  out = concat([
    unsigned,
    encodeCustomSection(SIGNATURE_SECTION, encodeSignatureSection([...kept, entry])),
  ]);
  return {
    wasm: out,
    manifest,
    digest: toHex(digest),
    keyId: key.keyId,
    kept: kept.map((e) => e.keyId),
    warnings,
  };
}
