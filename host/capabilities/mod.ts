/**
 * Capability-scoped host functions: KV, events, secrets, invoke, HTTP and
 * logging for plugins, each limited to what the plugin's manifest grants.
 * See docs/abi.md for the contract and docs/plugin-authoring.md for use.
 * @module
 */
export { type CapabilityOptions, capabilityProvider, defaultSecrets } from "./provider.ts";
export { type CapabilityPolicy, defaultCapabilityPolicy } from "./policy.ts";
export {
  cachedSecrets,
  chainSecrets,
  envSecrets,
  fileSecrets,
  SECRET_CACHE_MS,
  SECRET_ENV_PREFIX,
  type SecretProvider,
} from "./secrets.ts";
export {
  databaseSecrets,
  importSecretsKey,
  openSecret,
  sealSecret,
  SECRETS_KEY_ENV,
  type SecretsKey,
  storeSecret,
} from "./secret-vault.ts";
export { HOST_FUNCTION_NAMES, type HostFunctionName } from "./abi.ts";
export {
  guardedFetch,
  type GuardedFetchOptions,
  hostAllowed,
  type HttpTransport,
  type TransportRequest,
} from "./http.ts";
export { topicMatches } from "./topics.ts";
