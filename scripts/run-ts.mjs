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
// The instrumenter's thread is a second entry: the host finds it beside the
// bundle (host/sandbox/instrument-pool.ts), as in dist/ and the executable.
const result = await esbuild.build({
  entryPoints: {
    main: resolve(file),
    "instrument-worker": join(root, "host", "sandbox", "instrument", "worker-main.ts"),
  },
  outdir: "/",
  outExtension: { ".js": ".mjs" },
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
for (const output of result.outputFiles) writeFileSync(join(dir, output.path), output.contents);
const out = join(dir, "main.mjs");
process.argv.splice(1, 2, out);
process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
await import(pathToFileURL(out).href);
