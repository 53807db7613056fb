/**
 * The plugin manifest, schema version 1: the zod schema is the source of
 * truth; `schemas/manifest.schema.json` is generated from it
 * (`node scripts/run-ts.mjs scripts/gen-schemas.ts`).
 * @module
 */
import { CronPattern } from "croner";
import semver from "semver";
import { z } from "zod";
import { parseRoutePath, pathsOverlap } from "./route-paths.ts";
import { contractProblems } from "../contracts/compat.ts";

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
// Checked as JSON Schema by parseManifest (json-schema-check.ts), not here: manifests already
// stored (a registry's published versions) are read with this schema and stay readable.
const jsonSchema = z.record(z.string(), z.unknown()).meta({ description: "A JSON Schema" });

const contractRef = z.string().regex(
  /^[a-z][a-z0-9_-]*@[1-9][0-9]*$/,
  "must name a contract and its major version, like 'inventory@1'",
);
/** One `implements` entry: a contract, or a contract with its provider priority. */
const implementsEntry = z.union([
  contractRef,
  z.strictObject({
    contract: contractRef,
    priority: z.int().min(-1000).max(1000).optional().meta({
      description: "Order among providers of the contract: higher answers first (default 0)",
    }),
  }),
]);

const capability = z.strictObject({
  export: exportName.meta({ description: "The module export that implements it" }),
  description: z.string().optional(),
  input: jsonSchema.optional(),
  output: jsonSchema.optional(),
  determinism: z.enum(["strict", "best-effort"]).optional().meta({
    description:
      "strict: host calls with outside effects (http_request, invoke, secret_get) are refused, WASI's clock and random are pinned to the run's seed, and the run must replay exactly; best-effort: they are allowed and their results recorded for replay, and WASI's clock and random are real. Default: strict when the plugin asks for no http, invoke, secrets or wasi, else best-effort (docs/replay.md)",
  }),
});

const hostEntry = z.string().regex(
  /^(\*\.)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*(:\d+)?$/,
  "must be a host name",
);
const secretName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be a name like 'API_TOKEN'");
/** Headers the host sets itself (or that frame the message): never injected. */
const RESERVED_HEADERS = new Set(["host", "content-length", "transfer-encoding", "connection"]);
const injection = z.strictObject({
  header: z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, "must be an HTTP header name")
    .refine((h) => !RESERVED_HEADERS.has(h.toLowerCase()), {
      error: "must not be host, content-length, transfer-encoding or connection",
    }).meta({ description: "The request header the host sets, like 'authorization'" }),
  secret: secretName.meta({
    description: "The secret whose value goes into the header; the plugin never reads it",
  }),
  format: z.string().max(256).refine((f) => f.split("{}").length === 2 && !/[\r\n]/.test(f), {
    error: "must hold '{}' exactly once (where the value goes) and no line break",
  }).optional().meta({
    description: "The header value, '{}' standing for the secret (default '{}')",
  }),
});

const permissions = z.strictObject({
  wasi: z.boolean().optional().meta({
    description:
      "WASI preview 1 (clocks, random, args/env empty; no files, no sockets); needed by plugins built for wasm32-wasi. In strict runs the clock and random are pinned to the run's seed (docs/replay.md)",
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
    allowedHosts: z.array(hostEntry),
    inject: z.record(hostEntry, injection).optional().meta({
      description:
        "Per allowedHosts entry, a secret the host adds as a header to the plugin's requests there (https, or http to loopback); the operator's policy must allow the secret",
    }),
  }).optional(),
  secrets: z.array(secretName).optional(),
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
  capability: capabilityName.optional().meta({
    description: "The capability to call (give this or hook)",
  }),
  hook: z.literal("onSchedule").optional().meta({
    description: "Call the onSchedule hook instead of a capability (give this or capability)",
  }),
  input: z.unknown().optional(),
  timezone: z.string().refine(isTimeZone, { error: "must be an IANA time zone like 'UTC'" })
    .optional(),
});

/** Request headers a route may never pass to a plugin: credentials stay with the host. */
const secretHeaders = new Set(["authorization", "cookie", "proxy-authorization"]);

/** An HTTP route the host mounts under `/p/<plugin id>/` (docs/routes.md). */
const route = z.strictObject({
  method: z.enum(["GET", "POST", "PUT", "PATCH", "DELETE"]),
  path: z.string().max(512).superRefine((path, ctx) => {
    try {
      parseRoutePath(path);
    } catch (error) {
      ctx.addIssue({ code: "custom", message: (error as Error).message });
    }
  }).meta({
    description: "Path under /p/<plugin id>, with ':name' parameters, like '/hooks/:source'",
  }),
  capability: capabilityName.meta({ description: "The capability that answers it" }),
  description: z.string().max(4096).optional(),
  params: jsonSchema.optional().meta({
    description: "JSON Schema of the path parameters (an object of strings, coerced to the " +
      "schema's number, integer or boolean types)",
  }),
  query: jsonSchema.optional().meta({
    description: "JSON Schema of the query (an object; repeated names are arrays; coerced " +
      "like params); without it the route takes no query parameters",
  }),
  body: jsonSchema.optional().meta({
    description: "JSON Schema of the JSON body; without it the route takes no body",
  }),
  auth: z.union([
    z.literal("public"),
    z.array(z.enum(["admin", "read", "invoke"])).min(1),
  ]).meta({
    description: "'public' (no token), or token scopes of which the caller needs one " +
      "('invoke' is also granted by invoke:<plugin id>; admin grants all)",
  }),
  rateLimit: z.strictObject({
    requests: z.int().min(1).max(1_000_000),
    perSeconds: z.int().min(1).max(86_400),
  }).optional().meta({
    description: "At most `requests` per `perSeconds` per client (token, or address when " +
      "public); more answer 429 with Retry-After",
  }),
  headers: z.array(
    z.string().regex(/^[a-z0-9-]{1,64}$/, "must be a lower-case header name like 'x-github-event'")
      .refine((h) => !secretHeaders.has(h), { error: "is a credential the host never passes on" }),
  ).max(32).optional().meta({
    description: "Request headers passed to the plugin (others are not; content-type always is)",
  }),
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
    breaker: z.strictObject({
      failures: z.int().min(1).max(1000).optional().meta({
        description: "Consecutive failed runs that open the circuit breaker (default 5)",
      }),
      windowMs: z.int().min(1000).max(3_600_000).optional().meta({
        description: "Window of the error rate, in ms (default 60000)",
      }),
      errorRate: z.number().gt(0).max(1).optional().meta({
        description: "Share of failed runs in the window that opens the breaker (default 0.5)",
      }),
      minCalls: z.int().min(1).max(10_000).optional().meta({
        description: "Runs the window must hold before the error rate counts (default 10)",
      }),
      coolDownMs: z.int().min(100).max(3_600_000).optional().meta({
        description:
          "Wait before the first probe call, in ms (default 30000; doubles after a failed probe)",
      }),
      recovery: z.enum(["retry", "restart", "disable"]).optional().meta({
        description:
          "retry (default): probe after the cool-down; restart: also restart the instance pool; disable: stay suspended until 'host plugins resume'",
      }),
    }).optional().meta({
      description: "Circuit breaker (docs/lifecycle.md); each value capped by the operator policy",
    }),
  }).optional(),
  hooks: z.strictObject({
    onLoad: exportName.optional().meta({
      description: "Export run once when the plugin starts; a failure puts it in state error",
    }),
    onEvent: z.strictObject({
      export: exportName,
      topics: z.array(topicPattern).min(1),
      priority: z.int().optional().meta({
        description: "Higher first when several plugins are due for the same event (default 0)",
      }),
      ttlMs: z.int().positive().optional().meta({
        description:
          "Events older than this when their delivery comes due are skipped and counted (docs/delivery.md)",
      }),
    }).optional(),
    onShutdown: exportName.optional().meta({
      description: "Export run when the plugin stops (disable, upgrade, host stop)",
    }),
    onSchedule: exportName.optional().meta({
      description: "Export a schedule entry with hook: onSchedule calls",
    }),
    onConfigChange: exportName.optional().meta({
      description:
        'Export run (trigger hook) at the first run after the plugin\'s stored config changed; input {"configSeq": n}',
    }),
    timeoutMs: z.int().positive().max(600_000).optional().meta({
      description: "Longest onLoad/onShutdown run, in ms (default 5000, capped by the policy)",
    }),
  }).optional(),
  // Bounded: the policy's schedule check follows every pair of them (host/policy/schedule-gaps.ts).
  schedules: z.array(schedule).max(64, "at most 64 schedules a plugin; merge some into one cron")
    .optional(),
  config: z.strictObject({
    schema: jsonSchema.optional().meta({
      description:
        'JSON Schema of the plugin\'s config; fields with "writeOnly": true are secret (redacted outside the plugin)',
    }),
    default: z.unknown().optional().meta({
      description: "The config before operators set anything; must match the schema",
    }),
  }).optional(),
  dependencies: z.record(
    pluginId,
    z.union([
      semverRange,
      z.strictObject({
        range: semverRange,
        optional: z.boolean().optional().meta({
          description:
            "Not installed with this plugin; when present, it must match the range and is loaded first",
        }),
      }),
    ]),
  ).optional().meta({
    description:
      "Other plugins this one needs: plugin id -> semver range, or {range, optional} (docs/registry.md)",
  }),
  routes: z.array(route).max(256).optional(),
  implements: z.array(implementsEntry).optional().meta({
    description:
      "Standard contracts this plugin implements, like 'inventory@1': operation 'list' is the capability 'inventory.list' (docs/contracts.md)",
  }),
}).superRefine((manifest, ctx) => {
  if (manifest.dependencies !== undefined && Object.hasOwn(manifest.dependencies, manifest.id)) {
    ctx.addIssue({
      code: "custom",
      path: ["dependencies", manifest.id],
      message: "a plugin cannot depend on itself: remove this entry",
    });
  }
  // Cross-field rules the JSON Schema cannot express.
  const http = manifest.permissions?.http;
  for (const host of Object.keys(http?.inject ?? {})) {
    if (!http!.allowedHosts.includes(host)) {
      ctx.addIssue({
        code: "custom",
        path: ["permissions", "http", "inject", host],
        message: `'${host}' must also be listed in permissions.http.allowedHosts`,
      });
    }
  }
  const names = new Set<string>();
  (manifest.schedules ?? []).forEach((s, i) => {
    if ((s.capability === undefined) === (s.hook === undefined)) {
      ctx.addIssue({
        code: "custom",
        path: ["schedules", i],
        message: "must name exactly one of capability and hook",
      });
    } else if (s.hook !== undefined && manifest.hooks?.onSchedule === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["schedules", i, "hook"],
        message: "names the onSchedule hook, which this manifest's hooks do not declare",
      });
    } else if (s.capability !== undefined && !Object.hasOwn(manifest.capabilities, s.capability)) {
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
  routeIssues(manifest.routes ?? [], manifest.capabilities, ctx);
  // Each contract named must be implemented by compatible capabilities (host/contracts/compat.ts).
  const refs = (manifest.implements ?? []).map((e) => typeof e === "string" ? e : e.contract);
  for (const problem of contractProblems(refs, manifest.capabilities)) {
    const [path, ...rest] = problem.split(": ");
    ctx.addIssue({
      code: "custom",
      path: path!.split("."),
      message: rest.join(": "),
    });
  }
});

/** Routes naming no capability, and two routes of one method that could match one request. */
function routeIssues(
  routes: readonly z.infer<typeof route>[],
  capabilities: Record<string, unknown>,
  ctx: z.core.$RefinementCtx,
): void {
  const parsed = routes.map((r) => {
    try {
      return parseRoutePath(r.path);
    } catch {
      return undefined; // already an issue of its path
    }
  });
  routes.forEach((r, i) => {
    if (!Object.hasOwn(capabilities, r.capability)) {
      ctx.addIssue({
        code: "custom",
        path: ["routes", i, "capability"],
        message: `names '${r.capability}', which is not one of this manifest's capabilities`,
      });
    }
    for (let j = 0; j < i; j++) {
      const [a, b] = [parsed[j], parsed[i]];
      if (routes[j]!.method !== r.method || !a || !b || !pathsOverlap(a, b)) continue;
      ctx.addIssue({
        code: "custom",
        path: ["routes", i, "path"],
        message: `${r.method} ${r.path} conflicts with routes[${j}] (${r.method} ${
          routes[j]!.path
        }): some request path would match both; make them differ in a literal segment`,
      });
    }
  });
}

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
