/**
 * The first code a single executable runs (bundled to CommonJS, as Node 20's
 * SEA requires). It puts the embedded app bundle, native addons and packages
 * kept as files into a private directory named by digest, then imports the
 * bundle through Node's ESM loader, so top-level await (binaryen) and
 * lazily imported commands behave exactly as under `node`.
 * @module
 */
import { getAsset } from "node:sea";
import { join } from "node:path";
import process from "node:process";
import { pathToFileURL } from "node:url";
import vm from "node:vm";
import { MANIFEST_ASSET, parseManifest } from "./manifest.ts";
import { ensurePayload } from "./payload.ts";
import { quietExperimentalWarnings } from "./warnings.ts";

/** Exit code when the executable cannot start at all (ExitCode.runtime in host/errors.ts). */
const CANNOT_START = 92;

quietExperimentalWarnings();
try {
  const manifest = parseManifest(getAsset(MANIFEST_ASSET, "utf8"));
  const dir = ensurePayload(manifest, (key) => getAsset(key));
  const url = pathToFileURL(join(dir, manifest.entry)).href;
  // The SEA's own import() only reaches built-in modules; a script compiled
  // with the main context's default loader reaches files.
  const script = new vm.Script(`import(${JSON.stringify(url)})`, {
    filename: "plughost-sea-main",
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  (script.runInThisContext() as Promise<unknown>).catch(fail);
} catch (error) {
  fail(error);
}

function fail(error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`host: cannot start: ${message}\n`);
  process.exitCode = CANNOT_START;
}
