/**
 * Checks a plugin file against a trust store and reports everything found,
 * without throwing for verification failures (`verifyPlugin` throws).
 * @module
 */
import { customSections } from "../artifact/custom-sections.ts";
import { pluginDigests, toHex } from "../artifact/digest.ts";
import { moduleInfo } from "../artifact/module-info.ts";
import { moduleProblemOf, parseModule, type WasmModule } from "../artifact/module.ts";
import { MANIFEST_SECTION, SIGNATURE_SECTION } from "../artifact/names.ts";
import { HostError } from "../errors.ts";
import { engineProblems, exportProblems } from "../manifest/checks.ts";
import { configProblems } from "../plugin-config/check.ts";
import { parseManifest, parseManifestSection } from "../manifest/parse.ts";
import { fromBase64 } from "./base64.ts";
import { verify } from "./ed25519.ts";
import type { PluginReport, SignatureReport, VerifyReason } from "./report.ts";
import { parseSignatureSection, type SignatureEntry } from "./signatures.ts";
import type { TrustStore } from "./store.ts";

/** Signature problems that dev mode (allowUnsigned) may waive. */
const WAIVABLE: ReadonlySet<VerifyReason> = new Set(["no_signature", "unknown_key", "expired"]);

/** Options of {@link checkPlugin} and `verifyPlugin`. */
export interface VerifyOptions {
  /** Dev mode: a missing signature, an unknown or an expired key become warnings
   * (tampered files, revoked keys and manifest problems still fail). */
  allowUnsigned?: boolean;
  /** The time keys are checked for expiry at (default: now). */
  now?: Date;
}

/**
 * Verifies `wasm` against `trust` and reports the outcome. Throws only
 * HostError("invalid_input") when the bytes are not WebAssembly at all.
 */
export async function checkPlugin(
  wasm: Uint8Array,
  trust: TrustStore,
  options: VerifyOptions = {},
): Promise<PluginReport> {
  const report: PluginReport = {
    ok: false,
    reason: undefined,
    message: "",
    manifest: undefined,
    pluginId: undefined,
    version: undefined,
    digest: undefined,
    moduleDigest: undefined,
    signatures: [],
    warnings: [],
  };
  const fail = (reason: VerifyReason, message: string): PluginReport =>
    Object.assign(report, { ok: false, reason, message });

  let module: WasmModule;
  try {
    module = parseModule(wasm);
  } catch (error) {
    if (moduleProblemOf(error) !== "malformed") throw error;
    return fail("malformed", (error as HostError).message);
  }
  const sections = customSections(module);
  const manifests = sections.filter((s) => s.name === MANIFEST_SECTION);
  const signatureSections = sections.filter((s) => s.name === SIGNATURE_SECTION);
  describeManifest(report, manifests[0]?.data);
  const digests = await pluginDigests(module);
  const digest = digests.signed;
  report.digest = toHex(digest);
  report.moduleDigest = digests.module;

  if (manifests.length === 0) {
    return fail(
      "no_manifest",
      "The file has no plughost.manifest section; add one with 'host sign FILE --key KEY --manifest plugin.json'",
    );
  }

  const signatureProblem = await checkSignatures(
    report,
    signatureSections.map((s) => s.data),
    digest,
    trust,
    options,
  );
  if (signatureProblem !== undefined) {
    // Dev mode runs unsigned or not-yet-trusted code; a revoked key or a file
    // altered after signing is evidence of an attack and is never waived.
    if (!options.allowUnsigned || !WAIVABLE.has(signatureProblem.reason)) {
      return fail(signatureProblem.reason, signatureProblem.message);
    }
    report.warnings.push(
      `${signatureProblem.reason}: ${signatureProblem.message} (loaded anyway: --allow-unsigned)`,
    );
  }

  if (manifests.length > 1) {
    return fail(
      "malformed",
      `The file has ${manifests.length} plughost.manifest sections; a plugin has exactly one`,
    );
  }
  try {
    const data = manifests[0]?.data;
    report.manifest = data === undefined ? parseManifest(data) : parseManifestSection(wasm, data);
  } catch (error) {
    return fail("invalid_manifest", error instanceof Error ? error.message : String(error));
  }
  let exports;
  try {
    exports = moduleInfo(module).exports;
  } catch (error) {
    if (moduleProblemOf(error) !== "malformed") throw error;
    return fail("malformed", (error as HostError).message);
  }
  const missing = [...exportProblems(report.manifest, exports), ...configProblems(report.manifest)];
  if (missing.length > 0) {
    return fail("invalid_manifest", `Invalid manifest: ${missing.join("; ")}`);
  }
  const engines = engineProblems(report.manifest);
  if (engines.length > 0) {
    return fail("incompatible", `The plugin does not run on this host: ${engines.join("; ")}`);
  }
  report.ok = true;
  return report;
}

/** Fills report.signatures; returns the reason no trusted signature was found, if none was. */
async function checkSignatures(
  report: PluginReport,
  sections: Uint8Array[],
  message: Uint8Array,
  trust: TrustStore,
  options: VerifyOptions,
): Promise<{ reason: VerifyReason; message: string } | undefined> {
  if (sections.length === 0) {
    return {
      reason: "no_signature",
      message: "The file is not signed; sign it with 'host sign FILE --key KEY'",
    };
  }
  if (sections.length > 1) {
    return {
      reason: "malformed",
      message:
        `The file has ${sections.length} plughost.signature sections; a plugin has at most one`,
    };
  }
  const entries = parseSignatureSection(sections[0] as Uint8Array);
  if (typeof entries === "string") {
    return { reason: "malformed", message: `Malformed signature: ${entries}` };
  }
  const now = options.now ?? new Date();
  for (const entry of entries) report.signatures.push(await checkOne(entry, message, trust, now));
  if (report.signatures.some((s) => s.trusted)) return undefined;

  const ids = (status: string) =>
    report.signatures.filter((s) => s.status === status).map((s) => s.keyId).join(", ");
  if (ids("invalid") !== "") {
    return {
      reason: "tampered",
      message: `The signature by ${
        ids("invalid")
      } does not match the file: it was changed after signing; get an intact copy or sign it again`,
    };
  }
  if (ids("revoked") !== "") {
    return { reason: "revoked", message: `Signed only by revoked key(s) ${ids("revoked")}` };
  }
  if (ids("expired") !== "") {
    return { reason: "expired", message: `Signed only by expired key(s) ${ids("expired")}` };
  }
  return {
    reason: "unknown_key",
    message:
      `Signed by key(s) ${
        report.signatures.map((s) => s.keyId).join(", ")
      }, none of them in the trust store ${trust.path}; ` +
      "trust the signer's .pub file (see docs/signing.md) or pass --trust",
  };
}

async function checkOne(
  entry: SignatureEntry,
  message: Uint8Array,
  trust: TrustStore,
  now: Date,
): Promise<SignatureReport> {
  const key = trust.keys.get(entry.keyId);
  const base = { alg: entry.alg, keyId: entry.keyId, label: key?.label, trusted: false };
  if (entry.alg !== "ed25519") return { ...base, valid: null, status: "unsupported_alg" };
  const revoked = trust.revoked.has(entry.keyId);
  if (key === undefined) {
    return { ...base, valid: null, status: revoked ? "revoked" : "unknown_key" };
  }
  const valid = await verify(fromBase64(entry.sig) as Uint8Array, message, key.publicKey);
  if (!valid) return { ...base, valid, status: "invalid" };
  if (revoked) return { ...base, valid, status: "revoked" };
  if (key.expires !== undefined && now.getTime() >= key.expires.getTime()) {
    return { ...base, valid, status: "expired" };
  }
  return { ...base, valid, trusted: true, status: "trusted" };
}

/** Best effort id and version for reports, even when the manifest is invalid. */
function describeManifest(report: PluginReport, data: Uint8Array | undefined): void {
  if (data === undefined) return;
  try {
    const value: unknown = JSON.parse(new TextDecoder().decode(data));
    if (typeof value === "object" && value !== null) {
      const { id, version } = value as Record<string, unknown>;
      if (typeof id === "string") report.pluginId = id;
      if (typeof version === "string") report.version = version;
    }
  } catch {
    // The manifest check reports it.
  }
}
