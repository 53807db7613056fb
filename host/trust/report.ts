/**
 * Types of a verification report: per signature, and per file.
 * @module
 */
import type { Manifest } from "../manifest/schema.ts";

/** Why a plugin does not verify (stable codes; see docs/signing.md). */
export type VerifyReason =
  | "malformed"
  | "no_manifest"
  | "no_signature"
  | "tampered"
  | "unknown_key"
  | "revoked"
  | "expired"
  | "invalid_manifest"
  | "incompatible";

/** What became of one signature. */
export type SignatureStatus =
  | "trusted" // valid, by a trusted key that is neither revoked nor expired
  | "invalid" // the key is known and the signature does not match this file
  | "unknown_key" // the key is not in the trust store, so it cannot be checked
  | "revoked"
  | "expired"
  | "unsupported_alg";

/** One signature in a report. */
export interface SignatureReport {
  alg: string;
  keyId: string;
  /** Whether the signature matches the file; null when the key is unknown. */
  valid: boolean | null;
  trusted: boolean;
  status: SignatureStatus;
  label: string | undefined;
}

/** The verification of one plugin file. */
export interface PluginReport {
  ok: boolean;
  reason: VerifyReason | undefined;
  /** What was wrong and what to do (empty when ok). */
  message: string;
  manifest: Manifest | undefined;
  pluginId: string | undefined;
  version: string | undefined;
  /** Hex SHA-256 of the module without its signature section (the signed message). */
  digest: string | undefined;
  /** Hex SHA-256 of the module without any plughost.* section (the code alone). */
  moduleDigest: string | undefined;
  signatures: SignatureReport[];
  /** Verification problems waived by allowUnsigned, said loudly by callers. */
  warnings: string[];
}
