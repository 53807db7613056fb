/**
 * Where Extism's conformance plugins are (read-only, never copied), and how a suite that needs
 * them skips when they are not there: `../shared/conformance/extism-js-sdk` beside the clone, or
 * the folder `PLUGHOST_CONFORMANCE_DIR` names. A clone elsewhere has no such folder; its suites
 * then skip under a title that says why and how to run them (`conformanceTitle`), and
 * `scripts/test.mjs` counts those skips in its summary. Works under vitest (Node and Deno) and
 * `deno test`: it imports no test framework.
 * @module
 */
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** The folder holding code.wasm, fail.wasm, ... (PLUGHOST_CONFORMANCE_DIR overrides it). */
export const conformanceDir = process.env["PLUGHOST_CONFORMANCE_DIR"] ||
  join(root, "..", "shared", "conformance", "extism-js-sdk");

/** True when the conformance plugins can be read. */
export const hasConformance = existsSync(join(conformanceDir, "code.wasm"));

/** Put in the title of every skipped conformance suite; scripts/test.mjs counts tests by it. */
export const CONFORMANCE_SKIP_MARK = "[skipped: no Extism conformance plugins]";

/** Why the suites skip and how to run them. */
export const conformanceSkipReason =
  `${conformanceDir} has no code.wasm; clone the conformance plugins to ../shared/conformance ` +
  `beside this repository, or set PLUGHOST_CONFORMANCE_DIR to their folder, to run these tests`;

const noted = new Set<string>();

/**
 * `title` as is when the plugins are there; otherwise the title with the skip mark and the
 * reason (what vitest lists as skipped), and one console line per title saying so.
 *
 * @example
 * ```ts
 * describe.skipIf(!hasConformance)(conformanceTitle("Extism plugins through host call"), () => {});
 * ```
 */
export function conformanceTitle(title: string): string {
  if (hasConformance) return title;
  if (!noted.has(title)) {
    noted.add(title);
    console.warn(`skipping "${title}": ${conformanceSkipReason}`);
  }
  return `${title} ${CONFORMANCE_SKIP_MARK} ${conformanceSkipReason}`;
}
