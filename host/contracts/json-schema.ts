/**
 * The contracts as JSON Schema (draft 2020-12): what the compatibility check
 * compares manifests against and what `schemas/contracts/<name>@<v>.schema.json`
 * holds (a test keeps the files current).
 * @module
 */
import { z } from "zod";
import { type Contract, contractId } from "./definitions.ts";

/** A JSON Schema as data. */
export type JsonSchema = Record<string, unknown>;

/** One operation's input and output as JSON Schema. */
export interface OperationSchemas {
  input: JsonSchema;
  output: JsonSchema;
}

const cache = new WeakMap<Contract, Record<string, OperationSchemas>>();

/** The JSON Schemas of every operation of `contract`, by operation name. */
export function operationSchemas(contract: Contract): Record<string, OperationSchemas> {
  let schemas = cache.get(contract);
  if (schemas === undefined) {
    schemas = {};
    for (const [name, op] of Object.entries(contract.operations)) {
      schemas[name] = { input: toSchema(op.input, "input"), output: toSchema(op.output, "output") };
    }
    cache.set(contract, schemas);
  }
  return schemas;
}

function toSchema(schema: z.ZodType, io: "input" | "output"): JsonSchema {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { target: "draft-2020-12", io });
  return rest as JsonSchema;
}

/** The file text of a contract's JSON Schema document, with a final newline. */
export function contractJsonSchemaText(contract: Contract): string {
  const id = contractId(contract);
  const operations: Record<string, unknown> = {};
  for (const [name, schemas] of Object.entries(operationSchemas(contract))) {
    const op = contract.operations[name]!;
    operations[name] = {
      description: op.description,
      mode: op.mode,
      capability: `${contract.name}.${name}`,
      input: schemas.input,
      output: schemas.output,
    };
  }
  const document = {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    $id: `https://plughost.dev/schemas/contracts/${id}.schema.json`,
    title: `plughost contract ${id}`,
    description: `${contract.description}. Generated from host/contracts/definitions.ts by ` +
      "scripts/gen-schemas.ts; do not edit. Each operation's input and output schemas are under " +
      "$defs; see docs/contracts.md.",
    $defs: Object.fromEntries(
      Object.entries(operations).flatMap(([name, o]) => {
        const { input, output } = o as OperationSchemas;
        return [[`${name}.input`, input], [`${name}.output`, output]];
      }),
    ),
    "x-plughost-contract": {
      name: contract.name,
      version: contract.version,
      operations: Object.fromEntries(
        Object.entries(operations).map(([name, o]) => {
          const { description, mode, capability } = o as Record<string, unknown>;
          return [name, {
            description,
            mode,
            capability,
            input: { $ref: `#/$defs/${name}.input` },
            output: { $ref: `#/$defs/${name}.output` },
          }];
        }),
      ),
    },
  };
  return JSON.stringify(document, null, 2) + "\n";
}
