/**
 * Whether the schemas a manifest carries (a capability's input and output, a
 * route's parameters, query and body, the config) are valid JSON Schema
 * 2020-12: `parseManifest` checks them, so a plugin no call could check its
 * input against is refused when it is signed, verified, installed or loaded,
 * not at its calls. The meta-schema is compiled ahead of time
 * (schema-meta.gen.ts, scripts/gen-schema-meta.ts): ajv compiling it at run
 * time took ~30 ms in every process.
 * @module
 */
import type { ErrorObject } from "ajv";
import { validate } from "./schema-meta.gen.ts";
import type { Manifest } from "./schema.ts";
import { JSON_SCHEMA_2020 } from "./ajv-options.ts";

const checkMeta = validate as ((data: unknown) => boolean) & { errors?: ErrorObject[] | null };

/**
 * What is wrong with `schema` as JSON Schema 2020-12, in ajv's words (as its
 * `errorsText` puts them: `data/properties/a must be object,boolean, ...`),
 * or null when it is valid. Unknown keywords are allowed, as ajv's
 * `strict: false` allows them.
 */
export function jsonSchemaProblem(schema: unknown): string | null {
  const declared = typeof schema === "object" && schema !== null
    ? (schema as Record<string, unknown>)["$schema"]
    : undefined;
  if (declared !== undefined && declared !== JSON_SCHEMA_2020) {
    return `data/$schema is ${
      JSON.stringify(declared)
    }: the host checks JSON Schema 2020-12 only (use "${JSON_SCHEMA_2020}" or leave it out)`;
  }
  try {
    if (checkMeta(schema)) return null;
  } catch (error) {
    // A schema nested deeper than the checker's recursion reaches (stack overflow).
    return `it cannot be checked (${error instanceof Error ? error.message : String(error)})`;
  }
  // One problem can be reported by several branches of the meta-schema: each is said once.
  const lines = (checkMeta.errors ?? []).map((e) => `data${e.instancePath} ${e.message}`);
  return [...new Set(lines)].join(", ");
}

/** Each of the manifest's schemas that is not valid JSON Schema, as `path: problem` lines. */
export function manifestSchemaProblems(manifest: Manifest): string[] {
  const schemas: [string, unknown][] = [];
  for (const [name, c] of Object.entries(manifest.capabilities)) {
    schemas.push([`capabilities.${name}.input`, c.input], [
      `capabilities.${name}.output`,
      c.output,
    ]);
  }
  (manifest.routes ?? []).forEach((r, i) => {
    schemas.push(
      [`routes.${i}.params`, r.params],
      [`routes.${i}.query`, r.query],
      [`routes.${i}.body`, r.body],
    );
  });
  schemas.push(["config.schema", manifest.config?.schema]);
  const problems: string[] = [];
  for (const [path, schema] of schemas) {
    if (schema === undefined) continue;
    const problem = jsonSchemaProblem(schema);
    if (problem !== null) problems.push(`${path}: is not valid JSON Schema: ${problem}`);
  }
  return problems;
}
