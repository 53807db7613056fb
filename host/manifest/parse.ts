/**
 * Parsing manifests from JSON text or values, with errors that name the field.
 * @module
 */
import type { z } from "zod";
import { HostError } from "../errors.ts";
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
  if (!result.success) {
    const problems = formatIssues(result.error.issues);
    throw new HostError("invalid_manifest", `Invalid manifest: ${problems.join("; ")}`, {
      details: { problems },
    });
  }
  return result.data;
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
