/**
 * Checking config against the manifest's `config.schema` with the host's one
 * JSON Schema compiler (host/core/validate.ts): the default at sign and
 * verify time, and every value an operator stores or the environment gives.
 * @module
 */
import { compileJsonSchema, type SchemaIssue } from "../core/validate.ts";
import { HostError } from "../errors.ts";
import type { Manifest } from "../manifest/mod.ts";

/**
 * Problems with a manifest's `config`, as `field: message`: a schema that is
 * not JSON Schema, or a `config.default` that fails it (named by JSON Pointer,
 * e.g. `config.default/port: must be integer`).
 */
export function configProblems(manifest: Manifest): string[] {
  const config = manifest.config;
  if (!config?.schema) return [];
  let issues: SchemaIssue[];
  try {
    const check = compileJsonSchema(config.schema);
    if (config.default === undefined) return [];
    issues = check(config.default);
  } catch (error) {
    return [`config.schema: ${error instanceof Error ? error.message : String(error)}`];
  }
  return issues.map((i) => `config.default${i.path}: ${i.message}`);
}

/**
 * Throws `invalid_config` (HTTP 422, exit 65) when `values` fail the plugin's
 * config schema; `errors` lists each field by JSON Pointer and the message
 * names the first ones. `what` says whose values they are (e.g. "The new config"),
 * `fix` what to do about it.
 */
export function assertConfig(
  manifest: Manifest,
  values: unknown,
  what: string,
  fix?: string,
): void {
  const schema = manifest.config?.schema;
  if (!schema) return;
  const issues = compileJsonSchema(schema)(values);
  if (issues.length === 0) return;
  throw new HostError(
    "invalid_config",
    `${what} of '${manifest.id}' does not match its config schema: ${
      issues.slice(0, 5).map((i) => `${i.path || "(root)"} ${i.message}`).join("; ")
    }${fix ? ` (${fix})` : ""}`,
    { extensions: { errors: issues } },
  );
}
