/**
 * Child process of coldstart.bench.ts: a host restart. With `--install`, installs
 * every `*.wasm` in DIR (sorted) into DIR/plugins and DIR/restart.db, untimed.
 * Without, loads the installed plugins into a new runtime the way `host serve`
 * starts (loadInstalled: by dependency level, several at a time), with the
 * compiled-module cache at DIR/cache, and prints `READY-MS <ms>`: the time
 * from the first load to the last plugin ready, this process's own start
 * excluded.
 * Run: node scripts/run-ts.mjs test/bench/_coldload.ts DIR [--install]
 * @module
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { capabilityProvider } from "../../host/capabilities/mod.ts";
import { createRuntime } from "../../host/core/mod.ts";
import { installPlugin, loadInstalled } from "../../host/core/install.ts";
import { openStore } from "../../host/store/mod.ts";
import { trustStoreOf } from "../helpers/signing.ts";
import { readKey } from "./_coldfiles.ts";

const dir = process.argv[2];
if (!dir) {
  throw new Error("usage: _coldload.ts DIR [--install] (DIR written by coldstart.bench.ts)");
}
const installing = process.argv.includes("--install");
const pluginsDir = join(dir, "plugins");
const store = await openStore({ url: `file:${join(dir, "restart.db")}` });
const runtime = createRuntime({
  store,
  trust: trustStoreOf(readKey(dir)),
  hostFunctions: capabilityProvider(),
  cacheDir: join(dir, "cache"),
});
try {
  if (installing) {
    const files = readdirSync(dir).filter((f) => f.endsWith(".wasm")).sort();
    for (const f of files) {
      await installPlugin(runtime, pluginsDir, new Uint8Array(readFileSync(join(dir, f))));
    }
    process.stdout.write(`INSTALLED ${files.length}\n`);
  } else {
    const t0 = performance.now();
    const { loaded, failed } = await loadInstalled(runtime, pluginsDir);
    const ms = performance.now() - t0;
    if (failed.length > 0) throw new Error(`${failed.length} plugins failed: ${failed[0]!.error}`);
    process.stdout.write(`READY-MS ${ms} (${loaded.length} plugins)\n`);
  }
} finally {
  await runtime.close();
  await store.close();
}
