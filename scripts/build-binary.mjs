// Builds dist/host (and dist/host.sha256): a Node single executable application.
// The SEA's main script is a small CommonJS bootstrap; the app (an ESM bundle of
// every npm package), native addons and packages kept as files ride as SEA
// assets and are extracted once, by digest, to a private temp dir at first start.
// The build is skipped when its recorded inputs are unchanged (see --force).
//
// Usage: node scripts/build-binary.mjs [--force] [--json] [--entry FILE.ts --out PATH]
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import {
  bundleApp,
  bundleBootstrap,
  CARRIED_IF_PRESENT,
  CARRIED_PACKAGES,
} from "./build-binary-bundle.mjs";
import { liteIsCurrent, writeBinaryenLite } from "./binaryen-lite.mjs";
import { isFresh, writeStamp } from "./build-binary-inputs.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const SEA_FUSE = "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2";
const PREFIX = "plughost/";

/** Default build: the host CLI into dist/host. */
export const DEFAULT_ENTRY = join(root, "host", "cli", "bin.ts");
export const DEFAULT_OUT = join(root, "dist", "host");

/**
 * Builds the executable unless its inputs are unchanged since the last build.
 * Returns { path, sha256, bytes, reused, seconds }.
 */
export async function buildBinary(
  { entry = DEFAULT_ENTRY, out = DEFAULT_OUT, force = false, log = () => {} } = {},
) {
  const started = performance.now();
  entry = resolve(entry);
  out = resolve(out);
  const fresh = !force && isFresh(out, entry);
  if (fresh) {
    return { path: out, ...fresh, reused: true, seconds: secondsSince(started) };
  }
  checkNode();
  pruneWorkDirs();
  const work = join(root, "build", `.binary-${process.pid}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  try {
    log("bundling");
    // The app's code and addons go under app/, loaded through a one-line app.mjs:
    // chunks find each other and their addons relative to their own folder.
    const app = await bundleApp(entry, join(work, "app"));
    writeFileSync(join(work, "app.mjs"), 'import "./app/app.mjs";\n');
    const boot = await bundleBootstrap(join(work, "bootstrap.cjs"));
    const files = [{ source: join(work, "app.mjs"), path: "app.mjs" }];
    for (const file of app.files) {
      files.push({ source: join(work, "app", file), path: `app/${file}` });
    }
    for (const addon of app.addons) files.push({ source: addon.source, path: `app/${addon.path}` });
    for (const [name, names] of Object.entries(CARRIED_PACKAGES)) {
      for (const file of names) {
        const path = `node_modules/${name}/${file}`;
        files.push({ source: join(root, "node_modules", name, file), path });
      }
    }
    // binaryen's lighter copy, made here when npm install's was not (a failed split only warns:
    // the executable then loads index.js, as before).
    try {
      if (!liteIsCurrent()) writeBinaryenLite();
    } catch (error) {
      process.stderr.write(
        `build-binary: no binaryen-lite (${error.message}); carrying index.js only\n`,
      );
    }
    for (const [name, names] of Object.entries(CARRIED_IF_PRESENT)) {
      for (const file of names) {
        const source = join(root, "node_modules", name, file);
        if (existsSync(source)) files.push({ source, path: `node_modules/${name}/${file}` });
      }
    }
    const manifest = payloadManifest(files);
    writeFileSync(join(work, "manifest.json"), JSON.stringify(manifest));
    const assets = { [`${PREFIX}manifest.json`]: join(work, "manifest.json") };
    for (const file of files) assets[PREFIX + file.path] = file.source;
    writeFileSync(
      join(work, "sea-config.json"),
      JSON.stringify({
        // Relative, so the blob does not record this build's temp path.
        main: "bootstrap.cjs",
        output: "sea.blob",
        disableExperimentalSEAWarning: true,
        assets,
      }),
    );
    log("writing the SEA blob");
    run(process.execPath, ["--experimental-sea-config", join(work, "sea-config.json")], work);
    const exe = join(work, "host");
    copyFileSync(process.execPath, exe);
    const stripped = strip(exe);
    log(`injecting into a copy of ${process.execPath}${stripped ? " (stripped)" : ""}`);
    run(process.execPath, [
      join(root, "node_modules", "postject", "dist", "cli.js"),
      exe,
      "NODE_SEA_BLOB",
      join(work, "sea.blob"),
      "--sentinel-fuse",
      SEA_FUSE,
    ], work);
    const bytes = readFileSync(exe);
    const sha256 = createHash("sha256").update(bytes).digest("hex");
    mkdirSync(dirname(out), { recursive: true });
    renameSync(exe, out);
    writeFileSync(`${out}.sha256`, `${sha256}  ${relative(dirname(out), out)}\n`);
    const carried = files.filter((f) => !f.source.startsWith(work)).map((f) =>
      relative(root, f.source)
    );
    const inputs = [...app.inputs, ...boot.inputs, ...carried];
    writeStamp(out, entry, inputs, { sha256, bytes: bytes.byteLength });
    return {
      path: out,
      sha256,
      bytes: bytes.byteLength,
      reused: false,
      seconds: secondsSince(started),
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** The manifest the bootstrap reads (host/adapter/sea/manifest.ts). */
function payloadManifest(files) {
  const hash = createHash("sha256");
  const entries = files.map((file) => {
    const bytes = readFileSync(file.source);
    hash.update(`${file.path}\0${bytes.byteLength}\0`).update(bytes);
    return { path: file.path, asset: PREFIX + file.path, size: bytes.byteLength };
  });
  return { schemaVersion: 1, digest: hash.digest("hex"), entry: "app.mjs", files: entries };
}

/** Removes work dirs left by builds that were killed (their process is gone). */
function pruneWorkDirs() {
  let names = [];
  try {
    names = readdirSync(join(root, "build"));
  } catch {
    return;
  }
  for (const name of names) {
    const pid = /^\.binary-(\d+)$/.exec(name)?.[1];
    if (pid === undefined || Number(pid) === process.pid) continue;
    try {
      process.kill(Number(pid), 0);
    } catch (error) {
      if (error.code === "ESRCH") {
        rmSync(join(root, "build", name), { recursive: true, force: true });
      }
    }
  }
}

function checkNode() {
  const [major, minor] = process.versions.node.split(".").map(Number);
  if (major < 20 || (major === 20 && minor < 12)) {
    throw new Error(
      `Building the executable needs Node >= 20.12 (SEA assets, vm loader), this is ${process.version}`,
    );
  }
  if (!readFileSync(process.execPath).includes(SEA_FUSE)) {
    throw new Error(
      `${process.execPath} cannot become a single executable (no SEA fuse): use an official Node build`,
    );
  }
}

/** Strips debug symbols (~13 MB) when binutils' strip is there; the binary works either way. */
function strip(file) {
  try {
    execFileSync("strip", [file], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

function run(cmd, args, cwd) {
  try {
    execFileSync(cmd, args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
  } catch (error) {
    const output = `${error.stdout ?? ""}${error.stderr ?? ""}`.trim();
    throw new Error(`${relative(root, args[0]) || cmd} failed:\n${output}`);
  }
}

function secondsSince(start) {
  return Math.round(performance.now() - start) / 1000;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  const { values } = parseArgs({
    options: {
      force: { type: "boolean" },
      json: { type: "boolean" },
      entry: { type: "string" },
      out: { type: "string" },
    },
  });
  const log = values.json ? () => {} : (step) => process.stderr.write(`build:binary: ${step}\n`);
  try {
    const result = await buildBinary({ ...values, log });
    if (values.json) {
      process.stdout.write(JSON.stringify(result) + "\n");
    } else {
      const mb = (result.bytes / 1e6).toFixed(1);
      const how = result.reused ? "up to date" : `built in ${result.seconds} s`;
      process.stdout.write(`${relative(process.cwd(), result.path)}: ${mb} MB, ${how}\n`);
      process.stdout.write(`sha256 ${result.sha256}\n`);
    }
  } catch (error) {
    process.stderr.write(`build:binary: ${error instanceof Error ? error.message : error}\n`);
    process.exitCode = 1;
  }
}
