#!/usr/bin/env node
// Thin launcher for Node: in a checkout, (re)bundles host/ into dist/host.mjs
// when the sources are newer, then runs it. Node 20 cannot run .ts directly,
// and tsx's source maps break Extism's worker mode, so we bundle instead.
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

// Extism imports node:wasi, which prints an ExperimentalWarning on every run.
const emitWarning = process.emitWarning;
process.emitWarning = (warning, ...rest) => {
  const text = typeof warning === "string" ? warning : warning?.message ?? "";
  if (!text.includes("WASI is an experimental feature")) {
    emitWarning.call(process, warning, ...rest);
  }
};

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
if (existsSync(join(root, "host", "cli", "bin.ts"))) {
  const { buildHostIfStale } = await import("../scripts/build-host.mjs");
  await buildHostIfStale();
}
await import(pathToFileURL(join(root, "dist", "host.mjs")).href);
