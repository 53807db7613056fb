/**
 * How the host reads the JSON Schemas in manifests, shared by the ahead-of-time
 * meta-schema check (scripts/gen-schema-meta.ts, json-schema-check.ts) and the
 * ajv instances that compile schemas (host/core/validate.ts, routes.ts). No
 * imports: the generator runs even when the generated file is missing.
 * @module
 */
import type { Options } from "ajv";

/** The only `$schema` the host checks and compiles schemas as (ajv's Ajv2020). */
export const JSON_SCHEMA_2020 = "https://json-schema.org/draft/2020-12/schema";

/**
 * Options of every ajv instance of the host. Manifest schemas are
 * author-written: unknown keywords and formats are tolerated, not fatal.
 * ajv's own meta-schema check is off: `parseManifest` checks each schema
 * (json-schema-check.ts) with the meta-schema compiled ahead of time, where
 * ajv would compile it in every process (~30 ms of a `host call`).
 */
export const AJV_OPTIONS: Options = {
  strict: false,
  allErrors: true,
  validateFormats: false,
  validateSchema: false,
};
