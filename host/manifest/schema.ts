/**
 * The plugin manifest, schema version 1: the zod schema is the source of
 * truth; `schemas/manifest.schema.json` is generated from it
 * (`node scripts/run-ts.mjs scripts/gen-schemas.ts`).
 * @module
 */
import { CronPattern } from "croner";
import semver from "semver";
import { z } from "zod";

const pluginId = z.string().max(128).regex(
  /^[a-z0-9][a-z0-9_-]*(\.[a-z0-9][a-z0-9_-]*)*$/,
  "must be lower-case words joined by dots, like 'example.hello'",
);
const capabilityName = z.string().max(128).regex(
  /^[A-Za-z_][A-Za-z0-9_.-]*$/,
  "must start with a letter or '_' and use only letters, digits, '_', '.', '-'",
);
const exportName = z.string().min(1, "must name a WebAssembly export").max(256);
const topicPattern = z.string().regex(
  /^[A-Za-z0-9_*-]+(\.[A-Za-z0-9_*-]+)*$/,
  "must be dot-separated words, '*' matching one word, like 'example.*'",
);
const semverVersion = z.string().refine((v) => semver.valid(v) === v, {
  error: "must be a semantic version like '1.2.3'",
});
const semverRange = z.string().min(1).refine((r) => semver.validRange(r) !== null, {
  error: "must be a semver range like '^1.0.0'",
});
/** A JSON Schema, kept as data (it describes a capability's input or output). */
const jsonSchema = z.record(z.string(), z.unknown()).meta({ description: "A JSON Schema" });

const capability = z.strictObject({
  export: exportName.meta({ description: "The module export that implements it" }),
  description: z.string().optional(),
  input: jsonSchema.optional(),
  output: jsonSchema.optional(),
  determinism: z.enum(["strict", "best-effort"]).optional().meta({
    description:
      "strict: host calls with outside effects (http_request, invoke, secret_get) are refused and the run must replay exactly; best-effort: they are allowed and their results recorded for replay. Default: strict when the plugin asks for no http, invoke, secrets or wasi, else best-effort (docs/replay.md)",
  }),
});

const permissions = z.strictObject({
  wasi: z.boolean().optional().meta({
    description:
      "WASI preview 1 (clocks, random, args/env empty; no files, no sockets); needed by plugins built for wasm32-wasi",
  }),
  kv: z.strictObject({
    quotaBytes: z.int().positive(),
    maxKeys: z.int().positive().max(100_000).optional().meta({
      description:
        "Most keys the plugin may hold (default 10000, at most 100000); a write past it is refused",
    }),
  }).optional(),
  events: z.strictObject({
    publish: z.array(topicPattern).optional(),
    subscribe: z.array(topicPattern).optional(),
  }).optional(),
  http: z.strictObject({
    allowedHosts: z.array(
      z.string().regex(/^(\*\.)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*(:\d+)?$/, "must be a host name"),
    ),
  }).optional(),
  secrets: z.array(
    z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be a name like 'API_TOKEN'"),
  ).optional(),
  invoke: z.array(
    z.string().regex(
      /^[a-z0-9][a-z0-9_-]*(\.[a-z0-9][a-z0-9_-]*)*\/[A-Za-z_][A-Za-z0-9_.-]*$/,
      "must be 'plugin.id/capability'",
    ),
  ).optional(),
});

const schedule = z.strictObject({
  name: z.string().min(1).max(128),
  cron: z.string().refine(isCron, {
    error: "must be a cron expression of 5 fields, or 6 with seconds first, like '*/5 * * * *'",
  }),
  capability: capabilityName,
  input: z.unknown().optional(),
  timezone: z.string().refine(isTimeZone, { error: "must be an IANA time zone like 'UTC'" })
    .optional(),
});

/** The zod schema of a plugin manifest (schema version 1). */
export const ManifestSchema = z.strictObject({
  schemaVersion: z.literal(1),
  id: pluginId,
  version: semverVersion,
  name: z.string().min(1).max(128),
  description: z.string().max(4096).optional(),
  engines: z.strictObject({
    host: semverRange.meta({ description: "Host versions this plugin runs on" }),
    abi: z.int().positive().meta({ description: "Host ABI version the plugin was built for" }),
  }),
  capabilities: z.record(capabilityName, capability),
  permissions: permissions.optional(),
  limits: z.strictObject({
    memoryMaxPages: z.int().min(1).max(65536).optional(),
    timeoutMs: z.int().positive().optional(),
  }).optional(),
  hooks: z.strictObject({
    onLoad: exportName.optional(),
    onEvent: z.strictObject({
      export: exportName,
      topics: z.array(topicPattern).min(1),
      priority: z.int().optional(),
    }).optional(),
    onShutdown: exportName.optional(),
  }).optional(),
  schedules: z.array(schedule).optional(),
  config: z.strictObject({ schema: jsonSchema.optional(), default: z.unknown().optional() })
    .optional(),
  dependencies: z.record(pluginId, semverRange).optional(),
}).superRefine((manifest, ctx) => {
  // Cross-field rules the JSON Schema cannot express.
  const names = new Set<string>();
  (manifest.schedules ?? []).forEach((s, i) => {
    if (!Object.hasOwn(manifest.capabilities, s.capability)) {
      ctx.addIssue({
        code: "custom",
        path: ["schedules", i, "capability"],
        message: `names '${s.capability}', which is not one of this manifest's capabilities`,
      });
    }
    if (names.has(s.name)) {
      ctx.addIssue({
        code: "custom",
        path: ["schedules", i, "name"],
        message: `'${s.name}' is used by another schedule`,
      });
    }
    names.add(s.name);
  });
});

/** A parsed, valid manifest. */
export type Manifest = z.infer<typeof ManifestSchema>;

function isCron(pattern: string): boolean {
  // The scheduler takes 5 fields, or 6 with seconds first (croner would also take 7).
  const fields = pattern.trim().split(/\s+/).length;
  if (fields < 5 || fields > 6) return false;
  try {
    new CronPattern(pattern);
    return true;
  } catch {
    return false;
  }
}

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat("en", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}
