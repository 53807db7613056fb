/** Test data: manifests. */

/** The example from ARCHITECTURE.md, verbatim. */
export const architectureExample = {
  schemaVersion: 1,
  id: "example.hello",
  version: "1.0.0",
  name: "Hello",
  description: "Greets people",
  engines: { host: "^0.1.0", abi: 1 },
  capabilities: {
    greet: {
      export: "greet",
      description: "Returns a greeting",
      input: { type: "object", properties: { name: { type: "string" } }, required: ["name"] },
      output: { type: "object" },
    },
  },
  permissions: {
    kv: { quotaBytes: 1048576 },
    events: { publish: ["example.*"], subscribe: ["run.*"] },
    http: { allowedHosts: ["api.example.com"] },
    secrets: ["API_TOKEN"],
    invoke: ["example.other/greet"],
  },
  limits: { memoryMaxPages: 256, timeoutMs: 2000 },
  hooks: {
    onLoad: "on_load",
    onEvent: { export: "on_event", topics: ["run.failed"], priority: 100 },
    onShutdown: "on_shutdown",
  },
  schedules: [{
    name: "tick",
    cron: "*/5 * * * *",
    capability: "greet",
    input: { name: "cron" },
    timezone: "UTC",
  }],
  config: { schema: { type: "object" }, default: {} },
  dependencies: { "example.base": "^1.0.0" },
};
