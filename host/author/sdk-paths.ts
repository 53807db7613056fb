/**
 * Where this checkout (or installed package) keeps what authors build with:
 * the SDKs under sdk/ and the manifest's JSON Schema.
 * @module
 */
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { HostError } from "../errors.ts";

let root: string | undefined;

/**
 * The plughost package root (the folder holding sdk/ and schemas/). Found by
 * walking up from this module, since it runs both from host/ and bundled in dist/.
 */
export function checkoutRoot(): string {
  if (root !== undefined) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, "sdk", "as", "index.ts")) && existsSync(join(dir, "schemas"))) {
      return (root = dir);
    }
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new HostError(
    "host_error",
    "Cannot find the plughost SDKs (sdk/ and schemas/) next to this host: plugin authoring " +
      "commands need the plughost package or a checkout, not the single-file binary",
  );
}
