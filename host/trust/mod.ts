/**
 * Trust: ed25519 keys, the trust store, signing and verifying plugin files.
 * @module
 */
export { fromBase64, toBase64 } from "./base64.ts";
export {
  generateKeyPair,
  hasWebCryptoEd25519,
  publicKeyOf,
  sign,
  verify,
  verifyNoble,
  verifyWebCrypto,
} from "./ed25519.ts";
export {
  createKeyFiles,
  keyIdOf,
  KeyIdSchema,
  parsePublicKeyFile,
  PrivateKeyFileSchema,
  publicKeyDocument,
  PublicKeyFileSchema,
  readSigningKey,
} from "./keys.ts";
export type { PublicKeyFile, SigningKey } from "./keys.ts";
export { emptyTrustStore, loadTrustStore, parseRevoked, REVOKED_FILE, trustKey } from "./store.ts";
export type { TrustedKey, TrustStore } from "./store.ts";
export { LiveTrustStore } from "./live.ts";
export type { TrustChange, WatchOptions } from "./live.ts";
export {
  encodeSignatureSection,
  parseSignatureSection,
  SignatureEntrySchema,
  SignatureSectionSchema,
} from "./signatures.ts";
export type { SignatureEntry } from "./signatures.ts";
export type { PluginReport, SignatureReport, SignatureStatus, VerifyReason } from "./report.ts";
export { checkPlugin } from "./check.ts";
export type { VerifyOptions } from "./check.ts";
export { verifyPlugin } from "./verify.ts";
export type { VerifiedPlugin } from "./verify.ts";
export { signPlugin } from "./sign.ts";
export type { SignResult } from "./sign.ts";
export {
  BUNDLE_MAGIC,
  type BundleCheck,
  checkBundle,
  HOST_KEY_NAME,
  hostSigningKey,
  isEvidenceBundle,
  writeBundle,
} from "./evidence.ts";
