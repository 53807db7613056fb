// Builds every first-party plugin in plugins/<name>/ (AssemblyScript, assembly/index.ts,
// manifest plugin.json): compiles it to build/plugins/<name>.raw.wasm, then embeds the
// manifest and signs it with this checkout's dev key into build/plugins/<name>.wasm.
// The dev key is made on first build in .plughost/keys/dev.key (git-ignored) and its
// public half is trusted in .plughost/trust/, so the checkout runs its own plugins
// with no flags; a production data directory trusts only the operator's keys.
// --if-stale: only rebuild plugins whose sources (or the SDK, or the key) are newer.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, statSync } from "node:fs";
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

const names = existsSync(pluginsDir)
  ? readdirSync(pluginsDir).filter((name) => existsSync(join(pluginsDir, name, "plugin.json")))
  : [];
mkdirSync(outDir, { recursive: true });
ensureDevKey();
const sdkTime = Math.max(newestMtime(join(root, "sdk", "as")), mtimeOrZero(`${devKey}.key`));
let built = 0;
for (const name of names) {
  const out = join(outDir, `${name}.wasm`);
  const inputsTime = Math.max(
    newestMtime(join(pluginsDir, name)),
    sdkTime,
    mtimeOrZero(fileURLToPath(import.meta.url)),
  );
  if (ifStale && mtimeOrZero(out) > inputsTime) continue;
  sign(name, await compile(name));
  built++;
  process.stderr.write(`built ${relative(root, out)}\n`);
}
if (!ifStale || built > 0) {
  process.stderr.write(`build:plugins: ${built} of ${names.length} plugins built\n`);
}
