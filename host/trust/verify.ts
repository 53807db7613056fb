/**
 * `verifyPlugin`: the one gate every loader uses. It returns a verified plugin
 * or throws HostError("verification_failed") with the reason.
 * @module
 */
import { HostError } from "../errors.ts";
import type { Manifest } from "../manifest/schema.ts";
import { checkPlugin, type VerifyOptions } from "./check.ts";
import type { TrustStore } from "./store.ts";

/** A plugin that passed verification. */
export interface VerifiedPlugin {
  manifest: Manifest;
  /** Hex SHA-256 of the signed message (the module without its signature section). */
  digest: string;
  /** Hex SHA-256 of the module without any plughost.* section. */
  moduleDigest?: string;
  /** The trusted keys whose signatures are valid (empty only under allowUnsigned). */
  signers: { keyId: string; label: string | undefined }[];
  wasm: Uint8Array;
  /** Problems waived by allowUnsigned; callers must show them loudly. */
  warnings: string[];
}

/**
 * Verifies a plugin file against a trust store. Throws
 * HostError("verification_failed", "<reason>: <what to do>") with
 * `details.reason` (see VerifyReason), or HostError("invalid_input") when the
 * bytes are not WebAssembly.
 *
 * @example
 * ```ts
 * const trust = await loadTrustStore(resolvePaths(env, cwd).trust);
 * const plugin = await verifyPlugin(wasm, trust); // throws if it does not verify
 * console.log(plugin.manifest.id, plugin.signers);
 * ```
 */
export async function verifyPlugin(
  wasm: Uint8Array,
  trust: TrustStore,
  options: VerifyOptions = {},
): Promise<VerifiedPlugin> {
  const report = await checkPlugin(wasm, trust, options);
  if (!report.ok || report.manifest === undefined || report.digest === undefined) {
    const reason = report.reason ?? "malformed";
    throw new HostError("verification_failed", `${reason}: ${report.message}`, {
      details: {
        reason,
        pluginId: report.pluginId,
        digest: report.digest,
        keyIds: report.signatures.map((s) => s.keyId),
      },
    });
  }
  const plugin: VerifiedPlugin = {
    manifest: report.manifest,
    digest: report.digest,
    signers: report.signatures.filter((s) => s.trusted).map((s) => ({
      keyId: s.keyId,
      label: s.label,
    })),
    wasm,
    warnings: report.warnings,
  };
  if (report.moduleDigest !== undefined) plugin.moduleDigest = report.moduleDigest;
  return plugin;
}
