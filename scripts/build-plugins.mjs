// Builds every first-party plugin in plugins/<name>/ (AssemblyScript, assembly/index.ts,
// manifest plugin.json): compiles it to build/plugins/<name>.raw.wasm, then embeds the
// manifest and signs it with this checkout's dev key into build/plugins/<name>.wasm.
// The dev key is made on first build in .plughost/keys/dev.key (git-ignored) and its
// public half is trusted in .plughost/trust/, so the checkout runs its own plugins
// with no flags; a production data directory trusts only the operator's keys.
// --if-stale: only rebuild plugins whose sources (or the SDK, or the key) are newer.
// Plugins build in parallel child processes (one per core; `--only NAME` builds one), since
// the AssemblyScript compiler is single-threaded and a fresh checkout builds them all.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { availableParallelism } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const pluginsDir = join(root, "plugins");
const outDir = join(root, "build", "plugins");
const ifStale = process.argv.includes("--if-stale");

function newestMtime(path) {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

function mtimeOrZero(path) {
  return existsSync(path) ? statSync(path).mtimeMs : 0;
}

async function compile(name) {
  const { default: asc } = await import("assemblyscript/asc");
  const source = join(pluginsDir, name, "assembly", "index.ts");
  const out = join(outDir, `${name}.raw.wasm`);
  let log = "";
  const sink = { write: (text) => (log += text) };
  const { error } = await asc.main([
    relative(root, source),
    "--outFile",
    relative(root, out),
    "--optimize",
    // The PDK otherwise imports env.abort, which Extism does not provide.
    "--use",
    "abort=sdk/as/abort/plughostAbort",
    "--baseDir",
    root,
  ], { stdout: sink, stderr: sink });
  if (error) throw new Error(`AssemblyScript build of plugins/${name} failed:\n${log}`);
  return out;
}

const devKey = join(root, ".plughost", "keys", "dev");

/** Runs the host CLI from this checkout; throws with its stderr on failure. */
function host(args) {
  const result = spawnSync(process.execPath, [join(root, "bin", "host.mjs"), ...args], {
    cwd: root,
    encoding: "utf8",
  });
  if (result.status !== 0) {
    throw new Error(`host ${args.join(" ")} failed (exit ${result.status}):\n${result.stderr}`);
  }
  return result.stdout;
}

function ensureDevKey() {
  host([
    "keygen",
    "--out",
    devKey,
    "--label",
    "plughost dev key (this checkout only)",
    "--trust",
    join(root, ".plughost", "trust"),
    "--if-missing",
  ]);
}

function sign(name, raw) {
  const out = join(outDir, `${name}.wasm`);
  host([
    "sign",
    raw,
    "--key",
    `${devKey}.key`,
    "--manifest",
    join(pluginsDir, name, "plugin.json"),
    "--out",
    out,
  ]);
  return out;
}

// As a postinstall of an installed package (no sources, no dev dependencies) there is nothing to build.
if (ifStale && !existsSync(join(root, "node_modules", "assemblyscript"))) process.exit(0);

const only = process.argv.includes("--only")
  ? process.argv[process.argv.indexOf("--only") + 1]
  : undefined;
if (only !== undefined) {
  // A child of the parallel build below: compile and sign one plugin.
  sign(only, await compile(only));
  process.exit(0);
}

const names = existsSync(pluginsDir)
  ? readdirSync(pluginsDir).filter((name) => existsSync(join(pluginsDir, name, "plugin.json")))
  : [];
mkdirSync(outDir, { recursive: true });
ensureDevKey();
const sdkTime = Math.max(newestMtime(join(root, "sdk", "as")), mtimeOrZero(`${devKey}.key`));
const stale = names.filter((name) => {
  const inputsTime = Math.max(
    newestMtime(join(pluginsDir, name)),
    sdkTime,
    mtimeOrZero(fileURLToPath(import.meta.url)),
  );
  return !ifStale || mtimeOrZero(join(outDir, `${name}.wasm`)) <= inputsTime;
});

/** Builds one plugin in a child process; resolves with its exit code and output. */
function buildOne(name) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url), "--only", name], {
      cwd: root,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk) => (output += chunk));
    child.stderr.on("data", (chunk) => (output += chunk));
    child.on("close", (code) => resolve({ code: code ?? 1, output }));
  });
}

if (stale.length > 0) {
  const width = Math.min(stale.length, Math.max(1, availableParallelism()));
  process.stderr.write(
    `build:plugins: building ${stale.length} of ${names.length} example plugins, ${width} at a time ` +
      `(about 3-10 s each on a 2-core machine)\n`,
  );
}
const started = Date.now();
const queue = [...stale];
let built = 0;
let failures = 0;
await Promise.all(
  Array.from({ length: Math.min(queue.length, Math.max(1, availableParallelism())) }, async () => {
    for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
      const t0 = Date.now();
      const { code, output } = await buildOne(name);
      if (code !== 0) {
        failures++;
        process.stderr.write(`build:plugins: plugins/${name} failed:\n${output}\n`);
        continue;
      }
      built++;
      process.stderr.write(
        `built ${relative(root, join(outDir, `${name}.wasm`))} (${built}/${stale.length}, ` +
          `${((Date.now() - t0) / 1000).toFixed(1)} s)\n`,
      );
    }
  }),
);
if (!ifStale || stale.length > 0) {
  process.stderr.write(
    `build:plugins: ${built} of ${names.length} plugins built in ` +
      `${((Date.now() - started) / 1000).toFixed(1)} s\n`,
  );
}
if (failures > 0) process.exit(1);
