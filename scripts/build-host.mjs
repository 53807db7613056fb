// Bundles the host CLI (host/cli/bin.ts) into dist/host.mjs with esbuild.
// npm packages stay external; only our own TypeScript is bundled.
import { mkdirSync, readdirSync, renameSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "dist", "host.mjs");

function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(path));
    else if (
      entry.name.endsWith(".ts") || entry.name.endsWith(".sql") || entry.name.endsWith(".json")
    ) {
      newest = Math.max(newest, statSync(path).mtimeMs);
    }
  }
  return newest;
}

function isStale() {
  let built;
  try {
    built = statSync(out).mtimeMs;
  } catch {
    return true;
  }
  return newestMtime(join(root, "host")) > built ||
    statSync(join(root, "package.json")).mtimeMs > built;
}

export async function buildHost() {
  const esbuild = await import("esbuild");
  const result = await esbuild.build({
    entryPoints: [join(root, "host", "cli", "bin.ts")],
    bundle: true,
    packages: "external",
    platform: "node",
    format: "esm",
    target: "node20",
    write: false,
    logLevel: "error",
  });
  mkdirSync(dirname(out), { recursive: true });
  // Write then rename, so parallel launchers never run a half-written file.
  const tmp = `${out}.${process.pid}.tmp`;
  writeFileSync(tmp, result.outputFiles[0].contents);
  renameSync(tmp, out);
}

export async function buildHostIfStale() {
  if (isStale()) await buildHost();
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await buildHost();
}
