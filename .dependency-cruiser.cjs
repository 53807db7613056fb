/**
 * The layer rules of plughost (docs/architecture.md#layer-rules), checked by
 * `node scripts/check-layers.mjs`, a step of `npm test`.
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "no-cycles",
      comment: "Import cycles (type-only imports included) tie modules into one unit; break them.",
      severity: "error",
      from: {},
      to: { circular: true },
    },
    {
      name: "core-not-cli-or-server",
      comment:
        "The core (host/ outside cli/ and server/) never imports the CLI or the HTTP server.",
      severity: "error",
      from: { path: "^host/", pathNot: "^host/(cli|server)/" },
      to: { path: "^host/(cli|server)/" },
    },
    {
      name: "sdk-and-plugins-not-host",
      comment: "The SDK and the plugins stand alone: they never import the host.",
      severity: "error",
      from: { path: "^(sdk|plugins)/" },
      to: { path: "^host/" },
    },
    {
      name: "runtime-specific-in-adapter",
      comment: "Node-only or Deno-only modules are imported only under host/adapter/.",
      severity: "error",
      from: { path: "^host/", pathNot: "^host/adapter/" },
      to: { path: "^(node:)?(sea|vm|http|https|http2|cluster|v8|inspector)$|@hono/node-server" },
    },
    {
      name: "database-only-in-store",
      comment: "Only host/store/ talks to the database: ask the store for a repository instead.",
      severity: "error",
      from: { path: "^host/", pathNot: "^host/store/" },
      to: {
        path:
          "(^|/)node_modules/(@libsql/|libsql/|drizzle-orm/)|^(@libsql/client|libsql|drizzle-orm)",
      },
    },
    {
      name: "binaryen-loaded-lazily",
      comment:
        "Outside the instrumenter, host code imports statically only its binaryen-free modules: " +
        "one that loads binaryen costs every process ~325 ms, cached plugin or not " +
        "(docs/sandbox.md, 'Compiled-module cache and start-up'); load the instrumenter with import().",
      severity: "error",
      from: { path: "^host/", pathNot: "^host/sandbox/instrument/|[.]test[.]ts$" },
      to: {
        path: "^host/sandbox/instrument/",
        pathNot: "^host/sandbox/instrument/(costs|fuel-names|types|version|thread-protocol)[.]ts$",
        dependencyTypesNot: ["type-only", "type-import", "dynamic-import"],
      },
    },
    {
      name: "binaryen-free-modules-stay-free",
      comment: "The instrumenter's binaryen-free modules import none of its other modules.",
      severity: "error",
      from: {
        path: "^host/sandbox/instrument/(costs|fuel-names|types|version|thread-protocol)[.]ts$",
      },
      to: {
        path: "^host/sandbox/instrument/|binaryen",
        pathNot: "^host/sandbox/instrument/(costs|fuel-names|types|version|thread-protocol)[.]ts$",
        dependencyTypesNot: ["type-only"],
      },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^(build|dist)/" },
    tsPreCompilationDeps: true,
    // Fixture trees (test/layers/) have no tsconfig.json of their own.
    ...(require("node:fs").existsSync("tsconfig.json")
      ? { tsConfig: { fileName: "tsconfig.json" } }
      : {}),
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default", "types"],
    },
  },
};
