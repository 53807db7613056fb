/**
 * The sides the call and payload benchmarks compare, set up once per process:
 * the host's full in-process path (signed echo plugin, capability host
 * functions, metering, a RunRecord per call), bare Extism on the main thread
 * and in a worker, and raw WebAssembly.
 * @module
 */
import createPlugin, { type Plugin } from "@extism/extism";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { capabilityProvider } from "../../host/capabilities/mod.ts";
import { createRuntime, type PluginRuntime } from "../../host/core/mod.ts";
import { openStore, type Store, ulid } from "../../host/store/mod.ts";
import { newKey, trustStoreOf } from "../helpers/signing.ts";
import { bulkModule, echoModule, signedEcho } from "./_echo.ts";

/** The host's runtime with the echo plugin loaded, on a real store file. */
export interface HostSide {
  store: Store;
  runtime: PluginRuntime;
  /** One capability call through runtime.invoke; throws if it fails. */
  call(input: Uint8Array): Promise<Uint8Array>;
  /**
   * The same call to a second echo that may reach the network (an allowed
   * host, never called): such plugins run in worker mode.
   */
  callWorker(input: Uint8Array): Promise<Uint8Array>;
  close(): Promise<void>;
}

/**
 * Opens a store in a temp directory and loads the signed echo plugin: the
 * PDK-style WAT echo unless `module` gives another one exporting `echo`.
 */
export async function hostSide(module?: Uint8Array): Promise<HostSide> {
  const dir = mkdtempSync(join(tmpdir(), "plughost-bench-"));
  const store = await openStore({ url: `file:${join(dir, "host.db")}` });
  const key = await newKey();
  // The host functions `host serve` gives every plugin, as http.bench does.
  const runtime = createRuntime({
    store,
    trust: trustStoreOf(key),
    hostFunctions: capabilityProvider(),
  });
  const info = await runtime.load(await signedEcho(key, undefined, module), "bench");
  if (info.mode !== "main") throw new Error(`echo loaded in ${info.mode} mode, expected main`);
  const networked = await runtime.load(
    await signedEcho(key, "bench.echo-worker", module, {
      http: { allowedHosts: ["example.com"] },
    }),
    "bench",
  );
  if (networked.mode !== "worker") {
    throw new Error(`the networked echo loaded in ${networked.mode} mode, expected worker`);
  }
  const invoke = async (pluginId: string, input: Uint8Array) => {
    const result = await runtime.invoke({ pluginId, capability: "echo", input, trigger: "cli" });
    if (!result.ok) throw new Error(`host echo (${pluginId}) failed: ${result.error.message}`);
    return result.output;
  };
  return {
    store,
    runtime,
    call: (input) => invoke("bench.echo", input),
    callWorker: (input) => invoke("bench.echo-worker", input),
    async close() {
      await runtime.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The RunRecord bookkeeping alone, as runtime.invoke does it for one call: start
 * with the input, finish with the output as output, both enqueued (not awaited).
 */
export function recordOnly(host: HostSide, input: Uint8Array): void {
  const id = ulid();
  host.store.runs.start({
    id,
    pluginId: "bench.echo",
    moduleDigest: "sha256:bench",
    capability: "echo",
    export: "echo",
    trigger: "cli",
    input,
  }).catch(() => {});
  host.store.runs.finish(id, { status: "ok", output: input, usage: {} }).catch(() => {});
}

/** Bare Extism with the (uninstrumented) echo module. */
export async function extismSide(worker: boolean): Promise<Plugin> {
  return await createPlugin({ wasm: [{ data: echoModule() }] }, {
    useWasi: false,
    runInWorker: worker,
    ...(worker && "Deno" in globalThis ? { nodeWorkerArgs: { execArgv: [] } } : {}),
  });
}

type Ctx = { hostContext<T>(): T; store(bytes: Uint8Array): bigint };

/**
 * Bare Extism (main thread) running the bulk-ABI echo: `plughost_input_read(dst)`
 * copies the call's input (passed as Extism's per-call host context) into linear
 * memory in one step; `plughost_output_write(src, len)` copies the output into one
 * Extism block. Call it with `bulkCall`.
 */
export async function extismBulkSide(): Promise<Plugin> {
  const box: { memory?: WebAssembly.Memory } = {};
  const bytes = (at: bigint, n: number) => {
    const memory = box.memory!;
    if (Number(at) + n > memory.buffer.byteLength) throw new Error("copy out of linear memory");
    return new Uint8Array(memory.buffer, Number(at), n);
  };
  const plugin = await createPlugin({ wasm: [{ data: bulkModule() }] }, {
    useWasi: false,
    runInWorker: false,
    functions: {
      "extism:host/user": {
        plughost_input_read: (ctx: Ctx, dst: bigint) => {
          const input = ctx.hostContext<Uint8Array>();
          bytes(dst, input.length).set(input);
          return BigInt(input.length);
        },
        plughost_output_write: (ctx: Ctx, src: bigint, n: bigint) =>
          ctx.store(bytes(src, Number(n))),
      },
    },
  });
  const instance = await plugin.getInstance();
  box.memory = instance.exports.memory as WebAssembly.Memory;
  return plugin;
}

/** One bulk-ABI echo; throws on a wrong answer. */
export async function bulkCall(plugin: Plugin, input: Uint8Array): Promise<Uint8Array> {
  const out = await plugin.call("echo", input, input);
  const bytes = out?.bytes();
  if (!bytes || bytes.length !== input.length) throw new Error("bulk echo failed");
  return bytes;
}

/** One bare Extism echo; throws on a wrong answer. */
export async function extismCall(plugin: Plugin, input: Uint8Array): Promise<Uint8Array> {
  const out = await plugin.call("echo", input);
  const bytes = out?.bytes();
  if (!bytes || bytes.length !== input.length) throw new Error("bare Extism echo failed");
  return bytes;
}

/** Runs `f` `count` times and returns microseconds per run (sync `f` runs in a plain loop). */
export async function usPer(count: number, f: () => Promise<unknown> | unknown): Promise<number> {
  const t0 = performance.now();
  const first = f();
  if (first instanceof Promise) {
    await first;
    for (let i = 1; i < count; i++) await f();
  } else {
    for (let i = 1; i < count; i++) f();
  }
  return ((performance.now() - t0) * 1000) / count;
}

/**
 * How many runs of `f` fit in `targetMs`: counted over a run of that length,
 * after a warm-up of the same length (the first calls compile, tier up, fill caches).
 */
export async function calibrate(
  f: () => Promise<unknown> | unknown,
  targetMs: number,
): Promise<number> {
  for (const _ of ["warm-up", "count"]) {
    const until = performance.now() + targetMs;
    let n = 0;
    let batch = 1;
    while (performance.now() < until) {
      await usPer(batch, f);
      n += batch;
      batch = Math.min(batch * 2, 1024);
    }
    if (_ === "count") return Math.max(1, n);
  }
  return 1;
}
