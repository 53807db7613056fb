/**
 * Plugin configuration as data: the layers (manifest default <- stored base
 * <- stored overlay of the host's environment <- environment variables),
 * dotted keys, the environment-variable mapping, schema checks and the
 * redaction of secret (`writeOnly`) fields. The host's live view of it is
 * host/core/plugin-configs.ts; see docs/config.md.
 * @module
 */
export { assertConfig, configProblems } from "./check.ts";
export { CONFIG_ENV_PREFIX, configEnvName, type EnvConfig, envConfig } from "./env.ts";
export { kernelConfig, kernelConfigKey } from "./kernel.ts";
export { redactConfig, REDACTED, secretPaths } from "./secret.ts";
export {
  type ConfigValues,
  getPath,
  isObject,
  keyPath,
  mergeConfig,
  parseValue,
  pointerOf,
  putOwn,
  schemaAt,
  setPath,
  unsetPath,
} from "./values.ts";
