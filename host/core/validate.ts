/**
 * JSON Schema validation of capability input and output against the schemas
 * a manifest declares (ajv, JSON Schema 2020-12). Validators compile once per
 * schema object and are cached, so a hot capability pays only the check.
 * Used by the core's invoke (every trigger) and the scheduler's add-time check.
 * @module
 */
import { Ajv2020 } from "ajv/dist/2020.js";
import type { ErrorObject, Options, ValidateFunction } from "ajv";
import { HostError } from "../errors.ts";
import { AJV_OPTIONS, jsonSchemaProblem, type Manifest } from "../manifest/mod.ts";

/** One reason a value does not match its schema. */
export interface SchemaIssue {
  /** JSON Pointer of the failing value (`""` is the value itself), e.g. `/name`. */
  path: string;
  /** What is wrong there, e.g. `must be string`. */
  message: string;
}

/** Checks a value; returns no issues when it matches. */
export type JsonValidator = (value: unknown) => SchemaIssue[];

const valid: JsonValidator = () => [];

const cache = new WeakMap<object, JsonValidator>();

/**
 * Compiles a JSON Schema into a validator (cached per schema object). An
 * absent schema accepts anything. Throws a HostError `invalid_manifest` when
 * the schema itself is not valid JSON Schema.
 *
 * @example
 * ```ts
 * const check = compileJsonSchema({ type: "object", required: ["name"] });
 * check({}); // [{ path: "", message: "must have required property 'name'" }]
 * ```
 */
export function compileJsonSchema(schema: Record<string, unknown> | undefined): JsonValidator {
  if (schema === undefined) return valid;
  const cached = cache.get(schema);
  if (cached) return cached;
  let compiled: ValidateFunction;
  try {
    compiled = compileChecked(AJV_OPTIONS, schema);
  } catch (error) {
    throw new HostError(
      "invalid_manifest",
      `The schema is not valid JSON Schema: ${error instanceof Error ? error.message : error}`,
    );
  }
  const validator: JsonValidator = (value) =>
    compiled(value) ? [] : (compiled.errors ?? []).map(toIssue);
  cache.set(schema, validator);
  return validator;
}

/**
 * Checks `schema` against JSON Schema 2020-12's meta-schema, then compiles it
 * with `options` (AJV_OPTIONS, perhaps with more); throws an Error that names
 * each problem, in ajv's own words, when either step refuses it. Each schema
 * gets an ajv instance of its own (~1 ms, once per schema): in a shared one a
 * schema's `$id` is registered for every later schema, so one plugin could
 * claim another's `$id` and break its checks ("already exists"), or `$ref` a
 * schema of another plugin.
 */
export function compileChecked(
  options: Options,
  schema: Record<string, unknown>,
): ValidateFunction {
  const problem = jsonSchemaProblem(schema);
  if (problem !== null) throw new Error(`schema is invalid: ${problem}`);
  return new Ajv2020(options).compile(schema);
}

/**
 * The validator of a capability's `input` or `output` schema. Throws a
 * HostError `not_found` for an unknown capability.
 */
export function capabilityValidator(
  manifest: Manifest,
  capability: string,
  which: "input" | "output",
): JsonValidator {
  const entry = Object.hasOwn(manifest.capabilities, capability)
    ? manifest.capabilities[capability]
    : undefined;
  if (!entry) {
    throw new HostError(
      "not_found",
      `Plugin '${manifest.id}' has no capability '${capability}' (it has: ${
        Object.keys(manifest.capabilities).join(", ") || "none"
      })`,
    );
  }
  return compileJsonSchema(entry[which]);
}

function toIssue(error: ErrorObject): SchemaIssue {
  const missing = error.keyword === "required"
    ? (error.params as { missingProperty?: string }).missingProperty
    : undefined;
  const extra = error.keyword === "additionalProperties"
    ? (error.params as { additionalProperty?: string }).additionalProperty
    : undefined;
  const key = missing ?? extra;
  return {
    path: key === undefined ? error.instancePath : `${error.instancePath}/${pointerEscape(key)}`,
    message: extra === undefined ? error.message ?? error.keyword : "is not an allowed property",
  };
}

function pointerEscape(key: string): string {
  return key.replaceAll("~", "~0").replaceAll("/", "~1");
}
