/**
 * Whether a manifest's schema (a capability's input or output, a route's
 * parameters, query or body, the config) is valid JSON Schema 2020-12: checked
 * when the manifest is parsed, so a plugin whose schema no call could use is
 * refused at install, not at every call. The meta-schema is compiled ahead of
 * time (schema-meta.gen.ts, scripts/gen-schema-meta.mjs): ajv compiling it
 * at run time took ~30 ms in every process.
 * @module
 */
import type { ErrorObject } from "ajv";
import { validate } from "./schema-meta.gen.ts";

const checkMeta = validate as ((data: unknown) => boolean) & { errors?: ErrorObject[] | null };

/**
 * What is wrong with `schema` as JSON Schema, in ajv's words (as its
 * `errorsText` puts them: `data/properties/a must be object,boolean, ...`),
 * or null when it is valid. Unknown keywords are allowed, as ajv's
 * `strict: false` allows them.
 */
export function jsonSchemaProblem(schema: unknown): string | null {
  if (checkMeta(schema)) return null;
  return (checkMeta.errors ?? []).map((e) => `data${e.instancePath} ${e.message}`).join(", ");
}
