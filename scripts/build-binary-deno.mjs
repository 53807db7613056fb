// `deno task compile`: builds dist/host-deno with `deno compile`, granting the
// executable only the permissions the host needs. `deno compile` embeds the code
// into `denort`, Deno's runtime base binary: from DENORT_BIN when set, else from
// DENO_DIR's cache, else downloaded from Deno's servers. When none of these can
// be had, this says so and exits 1.
//
// Usage: deno task compile [--offline] [--data-dir DIR] [--listen HOST:PORT]
//                          [--allow-host HOST]... [--read PATH]... [--output FILE]
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { parseArgs, stripVTControlCharacters } from "node:util";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const deno = process.execPath;

const { values } = parseArgs({
  options: {
    offline: { type: "boolean" },
    "data-dir": { type: "string", default: ".plughost" },
    listen: { type: "string", default: "127.0.0.1:8080" },
    "allow-host": { type: "string", multiple: true, default: [] },
    read: { type: "string", multiple: true, default: [] },
    output: { type: "string", default: join(root, "dist", "host-deno") },
  },
});

/** The permissions baked into the executable: the least the host needs. */
function permissions() {
  const dataDir = values["data-dir"];
  return [
    // Its data directory (database, trust store, plugins, cache), plus files named with --read.
    `--allow-read=${[dataDir, ...values.read].join(",")}`,
    `--allow-write=${dataDir}`,
    // The listen address and the hosts plugins may reach through Extism HTTP.
    `--allow-net=${[values.listen, ...values["allow-host"]].join(",")}`,
    // PLUGHOST_* settings; Extism and libSQL read a few variables of their own.
    "--allow-env",
    // libSQL is a native addon (Node-API), which Deno loads through FFI.
    "--allow-ffi",
  ];
}

function fail(message) {
  process.stderr.write(`deno task compile: ${message}\n`);
  process.exit(1);
}

function target() {
  const found = globalThis.Deno?.build?.target;
  if (!found) fail("run this through Deno: deno task compile");
  return found;
}

/** Where `deno compile` looks for a downloaded denort before downloading it. */
function cachedDenort(version, triple) {
  const info = spawnSync(deno, ["info", "--json"], { encoding: "utf8" });
  const denoDir = info.status === 0 ? JSON.parse(info.stdout).denoDir : undefined;
  if (!denoDir) return undefined;
  const zip = join(denoDir, "dl", "release", `v${version}`, `denort-${triple}.zip`);
  return existsSync(zip) ? zip : undefined;
}

function noDenort(version, triple, why) {
  fail(
    `no denort (Deno's runtime base binary, which deno compile builds on) is available: ${why}.\n` +
      `  Get denort-${triple}.zip of Deno ${version} (Deno's release downloads) on a machine ` +
      `that can reach them, unzip it here, and run:\n` +
      `  DENORT_BIN=/path/to/denort deno task compile\n` +
      `  The Node single executable needs no download: npm run build:binary`,
  );
}

const version = globalThis.Deno?.version?.deno ?? "unknown";
const triple = target();
const denortBin = process.env["DENORT_BIN"];
if (denortBin !== undefined) {
  if (!existsSync(denortBin) || !statSync(denortBin).isFile()) {
    fail(`DENORT_BIN is '${denortBin}', which is not a file: point it at an unzipped denort`);
  }
} else if (!cachedDenort(version, triple) && values.offline) {
  noDenort(
    version,
    triple,
    "DENORT_BIN is not set, DENO_DIR has none cached, and --offline forbids downloading it",
  );
}

const output = resolve(values.output);
const args = [
  "compile",
  "--quiet",
  // Types are checked by tsc and deno check in CI; compiling only packages.
  "--no-check",
  `--config=${join(root, "deno.json")}`,
  ...permissions(),
  `--output=${output}`,
  join(root, "host", "cli", "bin.ts"),
];
process.stderr.write(`deno ${args.join(" ")}\n`);
const result = spawnSync(deno, args, {
  cwd: root,
  encoding: "utf8",
  stdio: ["ignore", "inherit", "pipe"],
});
if (result.status !== 0) {
  // deno colours its errors even into a pipe.
  const stderr = stripVTControlCharacters(result.stderr ?? "");
  if (/denort|base binary/i.test(stderr)) {
    const lines = stderr.split("\n").map((line) => line.trim());
    const cause = lines.find((line) => /denort/.test(line) && /error/i.test(line)) ??
      lines.find((line) => /error/i.test(line)) ?? "see deno's output";
    noDenort(version, triple, `downloading it failed (${cause.replace(/^\d+: /, "")})`);
  }
  process.stderr.write(stderr);
  fail(`deno compile failed (exit ${result.status})`);
}
const digest = createHash("sha256").update(readFileSync(output)).digest("hex");
writeFileSync(`${output}.sha256`, `${digest}  ${basename(output)}\n`);
process.stdout.write(
  `${output}: ${(statSync(output).size / 1e6).toFixed(1)} MB\nsha256 ${digest}\n`,
);
