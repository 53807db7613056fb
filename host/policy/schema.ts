/**
 * The operator policy file (docs/policy.md): what manifests may ask for,
 * globally (`defaults`) and per plugin id pattern (`plugins`). The zod schema
 * is the source of truth; schemas/policy.schema.json is generated from it.
 * @module
 */
import { z } from "zod";
import { HOST_PATTERN, hostPatternError } from "./host-pattern.ts";

const hostPattern = z.string().regex(HOST_PATTERN, {
  error: (issue) => hostPatternError(issue.input),
});
const cidr = z.string().regex(
  /^[0-9A-Fa-f.:]+(\/\d{1,3})?$/,
  "must be a network like 10.0.0.0/8 or fd00::/8",
);
const topicPattern = z.string().regex(
  /^([A-Za-z0-9_-]+|\*)(\.([A-Za-z0-9_-]+|\*))*(\.\*\*)?$|^\*\*$/,
  "must be a topic pattern like 'example.*' or 'example.**'",
);
const secretName = z.string().regex(
  /^[A-Za-z_][A-Za-z0-9_]*$/,
  "must be a secret name like 'API_TOKEN'",
);

/** What one section of the policy caps; a field left out is not capped by that section. */
export const CapsSchema = z.strictObject({
  mode: z.enum(["refuse", "clamp"]).optional().meta({
    description:
      "refuse (default): an install or upload asking for more is refused; clamp: it is installed with what the policy allows",
  }),
  memoryMaxPages: z.int().min(1).max(65536).optional().meta({
    description: "Most linear memory, in 64 KiB pages",
  }),
  fuel: z.int().positive().optional().meta({ description: "Most fuel per call" }),
  timeoutMs: z.int().positive().optional().meta({ description: "Longest call, in ms" }),
  maxOutputBytes: z.int().positive().optional().meta({ description: "Largest call output" }),
  http: z.strictObject({
    hosts: z.array(hostPattern).optional().meta({
      description:
        "Host patterns a manifest's allowedHosts may name ('*' any name, '*.example.com' its subdomains), each with an optional ':port' (':*' any port; none: only the default ports 80 and 443)",
    }),
    allowNetworks: z.array(cidr).optional().meta({
      description:
        "Special networks (loopback, private, link-local, ...) the plugin may reach, as CIDR",
    }),
  }).optional(),
  topics: z.strictObject({
    publish: z.array(topicPattern).optional(),
    subscribe: z.array(topicPattern).optional(),
  }).optional(),
  secrets: z.array(secretName).optional().meta({
    description: "Secret names the plugin may declare and read",
  }),
  kvMaxKeys: z.int().positive().max(100_000).optional().meta({
    description:
      "Most KV keys the plugin may hold: caps permissions.kv.maxKeys, and the 10,000 default of a manifest that sets none",
  }),
  minScheduleIntervalSeconds: z.int().positive().optional().meta({
    description:
      "Shortest interval between two runs the plugin's schedules start, each alone and all together (two due at the same instant are 0 s apart)",
  }),
  hookTimeoutMs: z.int().positive().optional().meta({
    description: "Longest onLoad/onShutdown hook run, in ms (caps manifest hooks.timeoutMs)",
  }),
  breaker: z.strictObject({
    failures: z.int().min(1).optional(),
    windowMs: z.int().min(1000).optional(),
    errorRate: z.number().gt(0).max(1).optional(),
    minCalls: z.int().min(1).optional(),
    coolDownMs: z.int().min(100).optional(),
  }).optional().meta({
    description:
      "Circuit breaker: each value is the default and the most a manifest's limits.breaker may ask",
  }),
  determinism: z.enum(["strict", "best-effort"]).optional().meta({
    description:
      "Overrides the determinism mode of every capability of the plugin (docs/replay.md)",
  }),
});
export type Caps = z.infer<typeof CapsSchema>;

/** A plugin id pattern: an id, or a glob with `*` (one segment) and a final `**`. */
const idPattern = z.string().regex(
  /^([a-z0-9][a-z0-9_-]*|\*)(\.([a-z0-9][a-z0-9_-]*|\*))*(\.\*\*)?$|^\*\*$/,
  "must be a plugin id or a pattern like 'example.*'",
);

/** The policy file. */
export const PolicySchema = z.strictObject({
  $schema: z.string().optional(),
  schemaVersion: z.literal(1),
  secretsFile: z.string().min(1).optional().meta({
    description:
      "Where plugin secrets are read from besides the database and the environment: a JSON file or a directory of files, relative to this policy file (host serve --secrets-file wins)",
  }),
  defaults: CapsSchema.optional().meta({ description: "Caps for every plugin" }),
  plugins: z.record(idPattern, CapsSchema).optional().meta({
    description:
      "Caps per plugin id pattern; every matching section overrides the defaults field by field, more specific patterns last",
  }),
});
export type Policy = z.infer<typeof PolicySchema>;

/** The effective caps of one plugin: every field decided. */
export interface EffectiveCaps {
  mode: "refuse" | "clamp";
  memoryMaxPages: number;
  fuel: number;
  timeoutMs: number;
  maxOutputBytes: number;
  httpHosts: string[];
  allowNetworks: string[];
  publish: string[];
  subscribe: string[];
  /** Secret names the plugin may declare; `["*"]`-like "any" is `null`. */
  secrets: string[] | null;
  /** Most KV keys (`permissions.kv.maxKeys`, or its default, is lowered to it). */
  kvMaxKeys: number;
  minScheduleIntervalSeconds: number;
  hookTimeoutMs: number;
  breaker: {
    failures: number;
    windowMs: number;
    errorRate: number;
    minCalls: number;
    coolDownMs: number;
  };
  /** The operator's determinism override; null leaves it to the manifest. */
  determinism: "strict" | "best-effort" | null;
}
