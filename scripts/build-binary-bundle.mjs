// The two esbuild bundles inside the single executable:
// - the app: host/cli/bin.ts (or another entry) with every npm package, as ESM
//   split into chunks,
//   so top-level await (binaryen) and lazy command imports keep their meaning;
//   `.node` addons become calls to host/adapter/native-addon.ts;
// - the bootstrap: host/adapter/sea/main.ts as CommonJS, the SEA's main script.
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { basename, dirname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

/** Packages kept as files beside the bundle (ESM with top-level await, large): loaded lazily. */
export const CARRIED_PACKAGES = { binaryen: ["package.json", "index.js"] };

/**
 * Files carried beside a package when they exist: binaryen's copy without its
 * embedded module (scripts/binaryen-lite.mjs), which the instrumenter loads
 * ~250 ms faster than index.js (host/sandbox/instrument/binaryen.ts).
 */
export const CARRIED_IF_PRESENT = {
  binaryen: ["plughost-lite.mjs", "plughost-lite.wasm", "plughost-lite.json"],
};

// CommonJS packages inside an ESM bundle still call require() and read __dirname.
const ESM_BANNER = [
  'import { createRequire as __plughostCreateRequire } from "node:module";',
  'import { fileURLToPath as __plughostFileURLToPath } from "node:url";',
  "const require = __plughostCreateRequire(import.meta.url);",
  "const __filename = __plughostFileURLToPath(import.meta.url);",
  'const __dirname = __plughostFileURLToPath(new URL(".", import.meta.url));',
].join("\n");

/**
 * Bundles `entry` into `outdir` as `app.mjs` plus chunks (ESM, code splitting:
 * each command's imports stay in their own chunks, so `host --version` does not
 * parse Extism, zod, Hono and libSQL). Returns the files written (relative to
 * `outdir`), the native addons needed ({ source, path } with `path` relative
 * to `outdir`) and the input files.
 */
export async function bundleApp(entry, outdir) {
  const esbuild = await import("esbuild");
  const addons = new Map();
  const result = await esbuild.build({
    // The instrumenter's thread loads its own entry, found beside the chunks.
    entryPoints: {
      app: entry,
      "instrument-worker": join(root, "host", "sandbox", "instrument", "worker-main.ts"),
    },
    outdir,
    outExtension: { ".js": ".mjs" },
    splitting: true,
    chunkNames: "[name]-[hash]",
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    banner: { js: ESM_BANNER },
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: "eof",
    metafile: true,
    logLevel: "error",
    absWorkingDir: root,
    plugins: [lazyCarried(), nativeAddons(addons)],
  });
  return {
    files: Object.keys(result.metafile.outputs).map((path) => relative(outdir, join(root, path))),
    addons: [...addons].map(([source, path]) => ({ source, path })),
    inputs: Object.keys(result.metafile.inputs).filter((path) => !path.includes(":")),
  };
}

/** Bundles the SEA bootstrap (CommonJS) into `outfile`; returns its input files. */
export async function bundleBootstrap(outfile) {
  const esbuild = await import("esbuild");
  const result = await esbuild.build({
    entryPoints: [join(root, "host", "adapter", "sea", "main.ts")],
    outfile,
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node20",
    minify: true,
    legalComments: "eof",
    metafile: true,
    logLevel: "error",
    absWorkingDir: root,
  });
  return { inputs: Object.keys(result.metafile.inputs) };
}

/** The libSQL addon package this machine loads, decided as libsql's index.js does. */
export function libsqlTarget() {
  const require = createRequire(join(root, "node_modules", "libsql", "index.js"));
  let target = require("@neon-rs/load").currentTarget();
  const { familySync, GLIBC } = require("detect-libc");
  if (familySync() === GLIBC) target = target.replace(/^(linux-(?:x64|arm64))-musl$/, "$1-gnu");
  return target;
}

/**
 * A static `import x from "binaryen"` would make esbuild hoist it to the top of
 * the bundle, so every start (even --version) would pay for binaryen (~0.7 s).
 * Importers get a small module instead, which awaits a dynamic import of the
 * carried file: evaluated only when a command that needs the package loads.
 * Carried packages are used through their default export (all binaryen has).
 */
function lazyCarried() {
  const names = Object.keys(CARRIED_PACKAGES);
  const filter = new RegExp(
    `^(${names.map((n) => n.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")).join("|")})$`,
  );
  return {
    name: "plughost-lazy-carried",
    setup(build) {
      build.onResolve(
        { filter },
        (args) =>
          args.namespace === "plughost-carried"
            ? { path: args.path, external: true }
            : { path: args.path, namespace: "plughost-carried" },
      );
      build.onLoad({ filter: /.*/, namespace: "plughost-carried" }, (args) => ({
        contents: `const m = await import(${
          JSON.stringify(args.path)
        });\nexport default m.default;\n`,
        loader: "js",
      }));
    },
  };
}

function nativeAddons(addons) {
  const adapter = join(root, "host", "adapter", "native-addon.ts");
  return {
    name: "plughost-native-addons",
    setup(build) {
      // libsql names its addon package at run time; esbuild cannot follow that,
      // so the package for this platform is named statically.
      // Both entry points load the addon the same way: index.js (sync) and promise.js.
      const entry = /[\\/]node_modules[\\/]libsql[\\/](index|promise)\.js$/;
      build.onLoad({ filter: entry }, async (args) => {
        const text = await readFile(args.path, "utf8");
        const dynamic = "return require(`@libsql/${target}`);";
        if (!text.includes(dynamic)) {
          throw new Error(
            "libsql no longer loads its addon with require(`@libsql/${target}`): " +
              "update nativeAddons() in scripts/build-binary-bundle.mjs",
          );
        }
        const built = libsqlTarget();
        const fixed = `if (target !== ${JSON.stringify(built)}) throw new Error(` +
          `"This executable carries libSQL for ${built}, not for " + target + ": build it on such a machine");` +
          `return require(${JSON.stringify(`@libsql/${built}`)});`;
        return { contents: text.replace(dynamic, fixed), loader: "js" };
      });
      build.onLoad({ filter: /\.node$/ }, (args) => {
        const path = `native/${addonName(args.path)}`;
        addons.set(args.path, path);
        return {
          contents: `module.exports = require(${JSON.stringify(adapter)}).loadNativeAddon(${
            JSON.stringify(path)
          });`,
          loader: "js",
          resolveDir: root,
        };
      });
    },
  };
}

/** `node_modules/@libsql/linux-x64-gnu/index.node` -> `libsql-linux-x64-gnu-index.node`. */
function addonName(file) {
  const rel = relative(join(root, "node_modules"), file).split(sep).join("/");
  const name = rel.startsWith("..") ? basename(file) : rel.replace(/^@/, "").replaceAll("/", "-");
  return name.replace(/[^A-Za-z0-9._-]/g, "_");
}
