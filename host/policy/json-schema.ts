/**
 * The JSON Schema of the policy file, generated from the zod schema. The file
 * `schemas/policy.schema.json` holds this text; a test keeps it current.
 * @module
 */
import { z } from "zod";
import { PolicySchema } from "./schema.ts";

/** The policy's JSON Schema (draft 2020-12) as formatted JSON text with a final newline. */
export function policyJsonSchemaText(): string {
  const schema = z.toJSONSchema(PolicySchema, { target: "draft-2020-12", io: "input" });
  const document = {
    $schema: schema.$schema,
    $id: "https://plughost.dev/schemas/policy.schema.json",
    title: "plughost operator policy (schema version 1)",
    description:
      "Generated from host/policy/schema.ts by scripts/gen-schemas.ts; do not edit. See docs/policy.md.",
    ...schema,
  };
  return JSON.stringify(document, null, 2) + "\n";
}
