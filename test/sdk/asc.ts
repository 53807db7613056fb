/**
 * Compiles AssemblyScript test plugins in-process with the `assemblyscript`
 * package's JS API, the way plugin authors build against the SDK.
 * @module
 */

import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import asc from "assemblyscript/asc";

/** The repository root (paths given to asc are relative to it). */
export const root: string = join(
  dirname(fileURLToPath(import.meta.url)),
  "..",
  "..",
);

/** Compiles `entry` (a path under the repository) to wasm bytes, or throws with asc's diagnostics. */
export async function compileAssemblyScript(
  entry: string,
): Promise<Uint8Array> {
  let log = "";
  const sink = { write: (text: string): void => void (log += text) };
  let wasm: Uint8Array | undefined;
  const { error } = await asc.main([
    relative(root, entry),
    "--outFile",
    "out.wasm",
    "--optimize",
    "--use",
    "abort=sdk/as/abort/plughostAbort",
    "--baseDir",
    root,
  ], {
    stdout: sink,
    stderr: sink,
    writeFile(name: string, contents: Uint8Array | string): void {
      if (name.endsWith(".wasm") && typeof contents !== "string") {
        wasm = contents;
      }
    },
  });
  if (error || !wasm) {
    throw new Error(`AssemblyScript build of ${entry} failed:\n${log}`);
  }
  return wasm;
}
