// Bundles the host CLI (host/cli/bin.ts) into dist/host.mjs with esbuild.
// Pure-JavaScript npm packages are bundled too: Node's ESM loader resolving and
// reading their hundreds of files (zod, semver, hono, drizzle) was most of a
// short command's start-up. Packages that must stay files stay external.
import {
  existsSync,
  mkdirSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "dist", "host.mjs");

// Runs on every `node bin/host.mjs`: plain string paths (path.join normalises each one, which
// showed in --version's profile) and a stat only for the files that feed the bundle.
function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const name = entry.name;
    const path = `${dir}/${name}`;
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(path));
    else if (name.endsWith(".ts") || name.endsWith(".sql") || name.endsWith(".json")) {
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
  // This file too: a change to how the bundle is made (e.g. what stays external) rebuilds it.
  return newestMtime(join(root, "host")) > built ||
    statSync(join(root, "package.json")).mtimeMs > built ||
    statSync(fileURLToPath(import.meta.url)).mtimeMs > built;
}

/**
 * Loaded from node_modules at run time: Extism starts its worker from its own
 * files, libsql loads its native addon (the @libsql/<platform> package),
 * binaryen is large and loads lazily, and esbuild is a build tool. The libSQL
 * client (@libsql/client, core, hrana-client) is plain JavaScript and is
 * bundled: Node's loader resolving its files took ~150 ms of every command that
 * opens the database (200 -> 60 ms to import it and run one query).
 */
const EXTERNAL = ["@extism/extism", "libsql", "binaryen", "esbuild"];

// Bundled CommonJS packages still call require() for Node built-ins. Made on
// first use: every chunk carries this banner, and creating the require function
// at each chunk's load showed in `host --version`'s profile (~3 ms of ~57 ms).
const BANNER = [
  'import { createRequire as __plughostCreateRequire } from "node:module";',
  "let __plughostRequire;",
  "function require(id) {",
  "  return (__plughostRequire ??= __plughostCreateRequire(import.meta.url))(id);",
  "}",
].join("\n");

export async function buildHost() {
  // Imported here, not at the top: every `node bin/host.mjs` loads this file to
  // check staleness, and only a rebuild needs them.
  const esbuild = await import("esbuild");
  const { createHash } = await import("node:crypto");
  // Code splitting keeps each command's imports in its own chunk, so
  // `host --version` does not load binaryen, libSQL and Extism.
  const result = await esbuild.build({
    // The instrumenter's thread loads its own entry, found beside the chunks.
    entryPoints: {
      host: join(root, "host", "cli", "bin.ts"),
      "instrument-worker": join(root, "host", "sandbox", "instrument", "worker-main.ts"),
    },
    bundle: true,
    splitting: true,
    outdir: "/",
    chunkNames: "[name]-[hash]",
    external: EXTERNAL,
    banner: { js: BANNER },
    platform: "node",
    format: "esm",
    target: "node20",
    write: false,
    metafile: true,
    logLevel: "error",
  });
  // Chunks go into a folder named by their content, then dist/host.mjs is
  // renamed into place pointing at it: parallel launchers never run a
  // half-written build.
  const hash = createHash("sha256");
  for (const file of result.outputFiles) hash.update(file.path).update(file.contents);
  const id = hash.digest("hex").slice(0, 12);
  const dir = join(root, "dist", `host-${id}`);
  if (!existsSync(join(dir, "host.js"))) {
    const tmpDir = `${dir}.${process.pid}.tmp`;
    mkdirSync(tmpDir, { recursive: true });
    for (const file of result.outputFiles) {
      writeFileSync(join(tmpDir, file.path.slice(1)), file.contents);
    }
    try {
      renameSync(tmpDir, dir);
    } catch {
      rmSync(tmpDir, { recursive: true, force: true }); // another launcher won the race
    }
  }
  const tmp = `${out}.${process.pid}.tmp`;
  writeFileSync(tmp, `import "./host-${id}/host.js";\n`);
  renameSync(tmp, out);
  removeOldBuilds(`host-${id}`);
  return { dir, externals: externalImports(result.metafile) };
}

/** The packages the bundle imports at run time (sorted; Node built-ins left out). */
function externalImports(metafile) {
  const found = new Set();
  for (const output of Object.values(metafile.outputs)) {
    for (const entry of output.imports) {
      if (entry.external && !entry.path.startsWith("node:")) found.add(entry.path);
    }
  }
  return [...found].sort();
}

/** Removes earlier builds not used for an hour (running launchers may still read recent ones). */
function removeOldBuilds(keep) {
  const dist = join(root, "dist");
  for (const name of readdirSync(dist)) {
    if (!name.startsWith("host-") || name === keep) continue;
    const path = join(dist, name);
    if (Date.now() - statSync(path).mtimeMs > 3_600_000) {
      rmSync(path, { recursive: true, force: true });
    }
  }
}

export async function buildHostIfStale() {
  if (isStale()) await buildHost();
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await buildHost();
}
