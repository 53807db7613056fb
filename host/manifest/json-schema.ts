/**
 * The JSON Schema of the manifest, generated from the zod schema. The file
 * `schemas/manifest.schema.json` holds this text; a test keeps it current.
 * @module
 */
import { z } from "zod";
import { ManifestSchema } from "./schema.ts";

/** The manifest's JSON Schema (draft 2020-12) as formatted JSON text with a final newline. */
export function manifestJsonSchemaText(): string {
  const schema = z.toJSONSchema(ManifestSchema, { target: "draft-2020-12", io: "input" });
  const document = {
    $schema: schema.$schema,
    $id: "https://plughost.dev/schemas/manifest.schema.json",
    title: "plughost plugin manifest (schema version 1)",
    description:
      "Generated from host/manifest/schema.ts by scripts/gen-schemas.ts; do not edit. Cross-field rules (schedules name capabilities, exports exist in the module) are checked by the host.",
    ...schema,
    // Editors validate a plugin.json that names this schema in "$schema"; the host ignores the key.
    properties: {
      $schema: { type: "string", description: "The JSON Schema editors validate this file with" },
      ...(schema.properties ?? {}),
    },
  };
  return JSON.stringify(document, null, 2) + "\n";
}
