// Assembles the hostile test plugins (test/fixtures/*.wat) into build/fixtures/*.wasm with wabt.
// Usage: node scripts/build-fixtures.mjs [--if-stale]
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const src = join(root, "test", "fixtures");
const out = join(root, "build", "fixtures");

/** Builds every fixture (only stale ones with ifStale) and returns the output folder. */
export async function buildFixtures({ ifStale = false } = {}) {
  const { default: initWabt } = await import("wabt");
  let wabt;
  mkdirSync(out, { recursive: true });
  for (const name of readdirSync(src).filter((n) => n.endsWith(".wat")).sort()) {
    const from = join(src, name);
    const to = join(out, name.replace(/\.wat$/, ".wasm"));
    if (ifStale && isFresh(from, to)) continue;
    wabt ??= await initWabt();
    const parsed = wabt.parseWat(name, readFileSync(from, "utf8"));
    try {
      parsed.resolveNames();
      parsed.validate();
      // Write then rename, so test files building at once never read half a module.
      const tmp = `${to}.${process.pid}.tmp`;
      writeFileSync(tmp, parsed.toBinary({}).buffer);
      renameSync(tmp, to);
    } finally {
      parsed.destroy();
    }
  }
  return out;
}

function isFresh(from, to) {
  try {
    return statSync(to).mtimeMs >= statSync(from).mtimeMs;
  } catch {
    return false;
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await buildFixtures({ ifStale: process.argv.includes("--if-stale") });
}
