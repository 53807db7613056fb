// Builds every first-party plugin in plugins/<name>/ (AssemblyScript, assembly/index.ts,
// manifest plugin.json) into build/plugins/<name>.wasm.
// --if-stale: only rebuild plugins whose sources (or the SDK) are newer than their output.
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
  const out = join(outDir, `${name}.wasm`);
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
  ], { stdout: sink, stderr: sink, baseDir: root });
  if (error) throw new Error(`AssemblyScript build of plugins/${name} failed:\n${log}`);
  return out;
}

const names = existsSync(pluginsDir)
  ? readdirSync(pluginsDir).filter((name) => existsSync(join(pluginsDir, name, "plugin.json")))
  : [];
mkdirSync(outDir, { recursive: true });
const sdkTime = newestMtime(join(root, "sdk", "as"));
let built = 0;
for (const name of names) {
  const out = join(outDir, `${name}.wasm`);
  const inputsTime = Math.max(
    newestMtime(join(pluginsDir, name)),
    sdkTime,
    mtimeOrZero(fileURLToPath(import.meta.url)),
  );
  if (ifStale && mtimeOrZero(out) > inputsTime) continue;
  await compile(name);
  built++;
  process.stderr.write(`built ${relative(root, out)}\n`);
}
if (!ifStale || built > 0) {
  process.stderr.write(`build:plugins: ${built} of ${names.length} plugins built\n`);
}
