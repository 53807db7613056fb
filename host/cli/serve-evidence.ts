/**
 * `host serve`'s evidence triggers (docs/replay.md, "Triggers"): the
 * `--evidence-*` flags and the config file's `evidence` section, checked and
 * merged (flags win, field by field) into `createHost`'s `evidence` option.
 * @module
 */
import { resolve } from "node:path";
import { z } from "zod";
import type { EvidenceTriggerOptions } from "../core/evidence-trigger.ts";
import { errorCodes, HostError, isErrorCode, UsageError } from "../errors.ts";
import { closest, either } from "./suggest.ts";

/** The classes a run of a plugin usually fails with (any error code is accepted). */
const runClasses = [
  "plugin_error",
  "trap",
  "timeout",
  "fuel_exhausted",
  "memory_limit",
  "stack_overflow",
  "output_invalid",
  "permission_denied",
  "network_error",
  "host_error",
];

/** Why `value` is no error class: the nearest ones, else the usual ones. */
function unknownClass(value: string): string {
  const near = closest(value, errorCodes);
  return `unknown error class '${value}'` +
    (near.length > 0 ? `: did you mean ${either(near)}?` : "") +
    ` Expected an error class (docs/http-api.md, "Errors") such as ${
      runClasses.join(", ")
    }, or "*" for any`;
}

/** One error class a run can fail with, or `*`. */
const ErrorClass = z.string().refine((value) => value === "*" || isErrorCode(value), {
  error: (issue) => unknownClass(String(issue.input)),
});

/** The config file's `evidence` section (`host serve --config`). */
export const EvidenceConfig = z.strictObject({
  dir: z.string().min(1).optional().describe("The folder bundles go to"),
  onRunFailed: z.union([z.literal("*"), z.array(ErrorClass).min(1)]).optional()
    .describe('Error classes whose failed runs get a bundle, or "*" for any'),
  onSuspended: z.boolean().optional()
    .describe("A plugin its circuit breaker suspends gets a bundle of its recent runs"),
});
export type EvidenceConfig = z.infer<typeof EvidenceConfig>;

/** The `--evidence-*` flags as parsed. */
export interface EvidenceFlags {
  "evidence-dir"?: string | undefined;
  "evidence-on-failed"?: string[] | undefined;
  "evidence-on-suspended"?: boolean | undefined;
}

/** The flags' parseArgs options. */
export const evidenceFlagOptions = {
  "evidence-dir": { type: "string" },
  "evidence-on-failed": { type: "string", multiple: true },
  "evidence-on-suspended": { type: "boolean" },
} as const;

/**
 * The evidence option for `createHost`, or undefined when no trigger is on.
 * A folder without a trigger, or a trigger without a folder, is refused:
 * `usage` (exit 64) when a flag took part, `invalid_input` (exit 65) when it
 * is the config file's alone. Relative folders resolve against `cwd`.
 */
export function evidenceOptions(
  flags: EvidenceFlags,
  config: EvidenceConfig | undefined,
  cwd: string,
  configFile: string | undefined,
): EvidenceTriggerOptions | undefined {
  const fromFlags = flags["evidence-dir"] !== undefined ||
    flags["evidence-on-failed"] !== undefined || flags["evidence-on-suspended"] !== undefined;
  const fail = (message: string): never => {
    throw fromFlags
      ? new UsageError(message)
      : new HostError("invalid_input", `The config file '${configFile}': ${message}`);
  };
  let onRunFailed: string[] | undefined;
  if (flags["evidence-on-failed"] !== undefined) {
    onRunFailed = flags["evidence-on-failed"].flatMap((v) => v.split(",")).map((v) => v.trim());
    for (const value of onRunFailed) {
      if (value !== "*" && !isErrorCode(value)) {
        fail(`--evidence-on-failed: ${unknownClass(value)}`);
      }
    }
  } else if (config?.onRunFailed !== undefined) {
    onRunFailed = config.onRunFailed === "*" ? ["*"] : [...config.onRunFailed];
  }
  const onSuspended = flags["evidence-on-suspended"] ?? config?.onSuspended ?? false;
  const dir = flags["evidence-dir"] ?? config?.dir;
  const triggers = (onRunFailed !== undefined && onRunFailed.length > 0) || onSuspended;
  if (dir === undefined) {
    if (!triggers) return undefined;
    return fail(
      "evidence triggers need a folder for the bundles: --evidence-dir DIR (or evidence.dir)",
    );
  }
  if (!triggers) {
    return fail(
      "an evidence folder alone writes nothing: add --evidence-on-failed CLASSES and/or " +
        "--evidence-on-suspended (or evidence.onRunFailed / evidence.onSuspended)",
    );
  }
  return {
    dir: resolve(cwd, dir),
    ...(onRunFailed === undefined ? {} : { onRunFailed }),
    onSuspended,
  };
}

/** One line saying what is on, for the server's log. */
export function describeEvidence(options: EvidenceTriggerOptions): string {
  const on = [
    ...(options.onRunFailed?.length ? [`a run failing (${options.onRunFailed.join(", ")})`] : []),
    ...(options.onSuspended ? ["a plugin suspended"] : []),
  ];
  return `evidence bundles go to ${options.dir} on ${on.join(" and ")}`;
}
