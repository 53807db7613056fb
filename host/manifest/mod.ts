/**
 * Plugin manifests: the zod schema, parsing, and checks against the host and the module.
 * @module
 */
export { type Manifest, ManifestSchema } from "./schema.ts";
export { formatIssues, parseManifest } from "./parse.ts";
export { jsonSchemaProblem } from "./json-schema-check.ts";
export { AJV_OPTIONS, JSON_SCHEMA_2020 } from "./ajv-options.ts";
export { engineProblems, exportProblems, type HostEngine, thisHost } from "./checks.ts";
