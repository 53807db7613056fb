/**
 * Child process of coldstart.bench.ts: a host restart. Loads every `*.wasm` in
 * DIR (sorted) into a new runtime with the compiled-module cache at DIR/cache
 * and prints `READY-MS <ms>`: the time from the first load to the last plugin
 * ready, with this process's own start excluded.
 * Run: node scripts/run-ts.mjs test/bench/_coldload.ts DIR
 * @module
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { capabilityProvider } from "../../host/capabilities/mod.ts";
import { createRuntime } from "../../host/core/mod.ts";
import { openStore } from "../../host/store/mod.ts";
import { trustStoreOf } from "../helpers/signing.ts";
import { readKey } from "./_coldfiles.ts";

const dir = process.argv[2];
if (!dir) throw new Error("usage: _coldload.ts DIR (written by coldstart.bench.ts)");
const key = readKey(dir);
const files = readdirSync(dir).filter((f) => f.endsWith(".wasm")).sort();
const plugins = files.map((f) => new Uint8Array(readFileSync(join(dir, f))));
const store = await openStore({ url: `file:${join(dir, "restart.db")}` });
const runtime = createRuntime({
  store,
  trust: trustStoreOf(key),
  hostFunctions: capabilityProvider(),
  cacheDir: join(dir, "cache"),
});
const t0 = performance.now();
for (const wasm of plugins) await runtime.load(wasm, "bench");
const ms = performance.now() - t0;
await runtime.close();
await store.close();
process.stdout.write(`READY-MS ${ms}\n`);
