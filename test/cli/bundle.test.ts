/**
 * What `node bin/host.mjs` loads from node_modules at run time: only the
 * packages scripts/build-host.mjs keeps external (Extism, which starts its
 * worker from its own files; libsql, which loads its native addon; binaryen).
 * Every other package is in the bundle: Node's loader resolving a package's
 * files one by one was most of a short command's start-up (the libSQL client
 * alone: ~150 ms of each command that opens the database, docs/performance.md).
 * @module
 */
import { isBuiltin } from "node:module";
import { describe, expect, it } from "vitest";

// @ts-expect-error: a plain .mjs script without type declarations
const { buildHost } = await import("../../scripts/build-host.mjs");

describe("the source bundle (dist/host.mjs)", () => {
  it("loads only Extism, libsql (native addon) and binaryen from node_modules", async () => {
    const { externals } = (await buildHost()) as { externals: string[] };
    expect(externals.filter((name) => !isBuiltin(name))).toEqual([
      "@extism/extism",
      "binaryen",
      // ws's optional native speed-ups, required inside a try (not installed: ws runs without them).
      "bufferutil",
      "libsql",
      // The store's writer connection (host/store/write-connection.ts): the same package.
      "libsql/promise",
      "utf-8-validate",
    ]);
  }, 120_000);
});
