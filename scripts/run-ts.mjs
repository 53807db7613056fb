// Runs a TypeScript file on Node 20 (which cannot strip types itself):
// bundles it with esbuild (npm packages external) into a temp file, then imports it.
// Usage: node scripts/run-ts.mjs FILE.ts [args...]
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const file = process.argv[2];
if (!file) {
  process.stderr.write("usage: node scripts/run-ts.mjs FILE.ts [args...]\n");
  process.exit(64);
}
const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const esbuild = await import("esbuild");
const result = await esbuild.build({
  entryPoints: [resolve(file)],
  bundle: true,
  packages: "external",
  platform: "node",
  format: "esm",
  target: "node20",
  write: false,
  logLevel: "error",
  absWorkingDir: root,
});
// Inside the repository so bare imports resolve from node_modules.
mkdirSync(join(root, "build"), { recursive: true });
const dir = mkdtempSync(join(root, "build", ".run-"));
const out = join(dir, "main.mjs");
writeFileSync(out, result.outputFiles[0].contents);
process.argv.splice(1, 2, out);
process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
await import(pathToFileURL(out).href);
