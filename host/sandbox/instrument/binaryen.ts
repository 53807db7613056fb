/**
 * binaryen, as the instrumenter imports it: the copy without its embedded
 * module (scripts/binaryen-lite.mjs: the same code, its ~10 MB module read
 * from a file) when one made from the installed package sits beside it, else
 * the package. binaryen's index.js carries that module as a ~14.7 MB escaped
 * template literal, and V8 scans it on every import: ~250 ms of a ~400 ms
 * import on a 2-core machine, paid by each `host call` of a plugin not in the
 * module cache and by each instrumenter thread's start. `PLUGHOST_BINARYEN=package`
 * loads the package itself.
 * @module
 */
import type Binaryen from "binaryen";
import { readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import process from "node:process";
import { pathToFileURL } from "node:url";

/** The copy's files beside the package (scripts/binaryen-lite.mjs writes them). */
const LITE = {
  module: "plughost-lite.mjs",
  wasm: "plughost-lite.wasm",
  stamp: "plughost-lite.json",
} as const;

/** What the stamp records: the package it was made from and the sizes of the copy's files. */
interface Stamp {
  version: string;
  indexBytes: number;
  wasmBytes: number;
  moduleBytes: number;
}

function isStamp(value: unknown): value is Stamp {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v["version"] === "string" && typeof v["indexBytes"] === "number" &&
    typeof v["wasmBytes"] === "number" && typeof v["moduleBytes"] === "number";
}

/** Where binaryen was loaded from. */
export type BinaryenSource = "lite" | "package";

/** The copy beside the package, when it was made from the package there now and is whole. */
function liteCopy(): URL | null {
  if (process.env["PLUGHOST_BINARYEN"] === "package") return null;
  try {
    return liteCopyIn(dirname(createRequire(import.meta.url).resolve("binaryen/package.json")));
  } catch {
    return null; // no package folder to find (a bundle that carries none): the package import
  }
}

/** The copy in binaryen's package folder `dir` when its stamp matches the folder; else null. */
export function liteCopyIn(dir: string): URL | null {
  try {
    const stamp: unknown = JSON.parse(readFileSync(join(dir, LITE.stamp), "utf8"));
    const pkg: unknown = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
    const size = (name: string) => statSync(join(dir, name)).size;
    const version = typeof pkg === "object" && pkg !== null && "version" in pkg
      ? pkg.version
      : undefined;
    if (
      !isStamp(stamp) || stamp.version !== version || stamp.indexBytes !== size("index.js") ||
      stamp.wasmBytes !== size(LITE.wasm) || stamp.moduleBytes !== size(LITE.module)
    ) {
      return null;
    }
    return pathToFileURL(join(dir, LITE.module));
  } catch {
    return null; // no copy (or one without a stamp): the package
  }
}

async function load(): Promise<{ binaryen: typeof Binaryen; source: BinaryenSource }> {
  const lite = liteCopy();
  if (lite !== null) {
    try {
      const module = (await import(lite.href)) as { default: typeof Binaryen };
      return { binaryen: module.default, source: "lite" };
    } catch {
      // A copy that does not load (a broken file): the package, which the copy came from.
    }
  }
  return { binaryen: (await import("binaryen")).default, source: "package" };
}

const loaded = await load();

/** Where this process's binaryen came from (test/sandbox/binaryen-lite.test.ts reads it). */
export const binaryenSource: BinaryenSource = loaded.source;

const binaryen: typeof Binaryen = loaded.binaryen;
// The package's types, under the same name as the value, as `import binaryen from "binaryen"` gives.
declare namespace binaryen {
  export type Module = Binaryen.Module;
  export type ExpressionRef = Binaryen.ExpressionRef;
  export type Type = Binaryen.Type;
  export type Features = Binaryen.Features;
  export type ExpressionIds = Binaryen.ExpressionIds;
}
export default binaryen;
