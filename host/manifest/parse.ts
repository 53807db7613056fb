/**
 * Parsing manifests from JSON text or values, with errors that name the field.
 * @module
 */
import type { z } from "zod";
import { bytesEqual } from "../artifact/bytes.ts";
import { HostError } from "../errors.ts";
import { manifestSchemaProblems } from "./json-schema-check.ts";
import { type Manifest, ManifestSchema } from "./schema.ts";

/**
 * Parses and validates a manifest from JSON text, UTF-8 bytes or an already
 * parsed value. Throws HostError("invalid_manifest") listing every problem as
 * `field.path: what is wrong`.
 *
 * @example
 * ```ts
 * const manifest = parseManifest(await readFile("plugin.json"));
 * // HostError invalid_manifest: "Invalid manifest: engines.host: must be a semver range like '^1.0.0'"
 * ```
 */
export function parseManifest(input: string | Uint8Array | unknown): Manifest {
  let value = input;
  if (input instanceof Uint8Array) {
    try {
      value = new TextDecoder("utf-8", { fatal: true }).decode(input);
    } catch {
      throw new HostError("invalid_manifest", "Invalid manifest: it is not UTF-8 text");
    }
  }
  if (typeof value === "string") {
    try {
      value = JSON.parse(value);
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      throw new HostError("invalid_manifest", `Invalid manifest: not JSON (${why})`);
    }
  }
  // "$schema" only points editors at schemas/manifest.schema.json; it is not part of the manifest.
  if (typeof value === "object" && value !== null && !Array.isArray(value) && "$schema" in value) {
    const { $schema: _editorSchema, ...rest } = value as Record<string, unknown>;
    value = rest;
  }
  const result = ManifestSchema.safeParse(value);
  const problems = result.success
    ? manifestSchemaProblems(result.data)
    : formatIssues(result.error.issues);
  if (problems.length > 0) {
    throw new HostError("invalid_manifest", `Invalid manifest: ${problems.join("; ")}`, {
      details: { problems },
    });
  }
  return result.data!;
}

/** Manifest sections parsed, by the module bytes they came from, with a copy of the section. */
const parsedSections = new WeakMap<Uint8Array, { data: Uint8Array; manifest: Manifest }>();

/**
 * `parseManifest` of a module's manifest section `data`, parsed once per
 * module: a host start reads each installed plugin's manifest to order the
 * loads, then verifies the same bytes (the parse was ~5% of a restart, twice).
 * The section's bytes are compared with the copy kept, so bytes changed in
 * between are parsed again. Callers share the Manifest: it is read, never
 * changed.
 */
export function parseManifestSection(wasm: Uint8Array, data: Uint8Array): Manifest {
  const known = parsedSections.get(wasm);
  if (known !== undefined && bytesEqual(known.data, data)) return known.manifest;
  const manifest = parseManifest(data);
  parsedSections.set(wasm, { data: data.slice(), manifest });
  return manifest;
}

/** Formats zod issues as `path: message` lines (path `(root)` for the whole document). */
export function formatIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.map((issue) => {
    const path = issue.path.map(String).join(".") || "(root)";
    let message = issue.message;
    if (issue.code === "unrecognized_keys") {
      message = `unknown field(s) ${issue.keys.map((k) => `'${k}'`).join(", ")}`;
    }
    return `${path}: ${message}`;
  });
}
