/**
 * Hostile test plugins: assembled from test/fixtures/*.wat by
 * scripts/build-fixtures.mjs (when stale), read from build/fixtures/.
 * Works under vitest (Node) and `deno test`.
 * @module
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { conformanceDir } from "../helpers/conformance.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
/** Extism's own test plugins (read-only, never copied); see test/helpers/conformance.ts. */
export { conformanceDir };
let built = false;

/** Bytes of build/fixtures/<name>.wasm, building the fixtures first if needed. */
export function fixture(name: string): Uint8Array {
  if (!built) {
    execFileSync("node", [join(root, "scripts", "build-fixtures.mjs"), "--if-stale"], {
      stdio: "inherit",
    });
    built = true;
  }
  return new Uint8Array(readFileSync(join(root, "build", "fixtures", `${name}.wasm`)));
}

/** Bytes of a conformance plugin. */
export function conformance(name: string): Uint8Array {
  return new Uint8Array(readFileSync(join(conformanceDir, name)));
}

/** UTF-8 helpers. */
export const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
export const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

/**
 * CPU time (user + system, ms) this process used while `ms` of wall time passed idle.
 * A thread left spinning uses close to all of it; callers allow 40% so a busy shared
 * machine (GC, the test runner) does not fail an idle process.
 */
export async function cpuWhileIdle(ms: number): Promise<number> {
  const { cpuUsage } = await import("node:process");
  const before = cpuUsage();
  await new Promise((resolve) => setTimeout(resolve, ms));
  const after = cpuUsage(before);
  return (after.user + after.system) / 1000;
}
