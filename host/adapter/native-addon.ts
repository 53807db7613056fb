/**
 * Loads a native addon (a `.node` file) that the single executable carries.
 * The build replaces every `require()` of a `.node` file in the bundle with a
 * call to {@link loadNativeAddon}; the file was extracted beside the bundle.
 * @module
 */
import { constants } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

/**
 * Loads the addon at `path`, relative to the directory of the running bundle
 * (the executable's private extraction directory), and returns its exports.
 *
 * @example
 * ```ts ignore
 * const libsql = loadNativeAddon("native/libsql-linux-x64-gnu.node");
 * ```
 */
export function loadNativeAddon(path: string): unknown {
  const file = join(fileURLToPath(new URL(".", import.meta.url)), path);
  const module = { exports: {} as unknown };
  try {
    process.dlopen(module, file, constants.dlopen.RTLD_NOW);
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new Error(
      `Cannot load the native addon '${path}' carried by the executable (${why}). ` +
        `If the temp directory is mounted noexec, set TMPDIR to a directory that allows ` +
        `executable mappings; otherwise build the executable on a machine of the same OS, ` +
        `CPU and C library`,
    );
  }
  return module.exports;
}
