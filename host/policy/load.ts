/**
 * Reading the policy file. A missing file means the built-in policy; a file
 * that is not valid JSON or not a valid policy is refused with what to fix
 * (HostError invalid_input: exit 65), never half-applied.
 * @module
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { HostError } from "../errors.ts";
import { parseNetwork } from "../capabilities/egress-address.ts";
import { type Policy, PolicySchema } from "./schema.ts";

/** The policy of a host without a policy file. */
export const builtinPolicy: Readonly<Policy> = Object.freeze({ schemaVersion: 1 });

/** Where a data directory keeps its policy. */
export function defaultPolicyPath(home: string): string {
  return join(home, "policy.json");
}

/** A loaded policy and where it came from. */
export interface LoadedPolicy {
  policy: Policy;
  /** The file, or undefined for the built-in policy. */
  file: string | undefined;
}

/**
 * Loads the policy at `path`. A missing file is the built-in policy unless
 * `required` (a `--policy` the operator named must exist).
 */
export async function loadPolicy(path: string, required = false): Promise<LoadedPolicy> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === "ENOENT" && !required) return { policy: builtinPolicy, file: undefined };
    throw new HostError("invalid_input", `Cannot read the policy file ${path}: ${code ?? error}`);
  }
  return { policy: parsePolicy(text, path), file: path };
}

/** Parses policy text; `source` names it in errors. */
export function parsePolicy(text: string, source: string): Policy {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new HostError(
      "invalid_input",
      `The policy file ${source} is not JSON: ${error instanceof Error ? error.message : error}`,
    );
  }
  const parsed = PolicySchema.safeParse(json);
  if (!parsed.success) {
    throw new HostError(
      "invalid_input",
      `The policy file ${source} is invalid (see docs/policy.md):\n${
        z.prettifyError(parsed.error)
      }`,
    );
  }
  // Networks are checked as addresses too, so a typo fails here and not at the first request.
  const sections = [parsed.data.defaults, ...Object.values(parsed.data.plugins ?? {})];
  for (const network of sections.flatMap((s) => s?.http?.allowNetworks ?? [])) {
    try {
      parseNetwork(network);
    } catch (error) {
      throw new HostError(
        "invalid_input",
        `The policy file ${source}: ${(error as Error).message}`,
      );
    }
  }
  return parsed.data;
}
