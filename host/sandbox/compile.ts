/**
 * Load-time pipeline: validate, instrument (memory cap + fuel metering),
 * compile, check imports. Results are cached by digest + the options that
 * change the rewritten bytes, so loading the same plugin again is cheap: in
 * memory for this process, and on disk (module-cache.ts) when a cache
 * directory is given. Binaryen (~0.7-2 s to import) is loaded only when a
 * module must actually be instrumented, on the instrumenter's threads where
 * they can run (instrument-pool.ts).
 * @module
 */
import { sha256Hex } from "../artifact/mod.ts";
import { HostError } from "../errors.ts";
import {
  baselineEpoch,
  baselineSettled,
  noBaselineWindowSince,
  withBaselineWasm,
} from "../adapter/baseline-wasm.ts";
import { type InstrumentOptions, RESERVED_EXPORT_PREFIX } from "./instrument/types.ts";
import {
  type CachedModule,
  moduleCacheEmpty,
  type ModuleCacheKey,
  readCachedModule,
  writeCachedModule,
} from "./module-cache.ts";
import { instrumentPool, InstrumentThreadsUnavailable } from "./instrument-pool.ts";
import type { ThreadInstrumented, ThreadVariant } from "./instrument/thread-protocol.ts";
import { messageOf, SandboxAbort } from "./classify.ts";
import { checkImports, type ProvidedImports } from "./imports.ts";
import { ENTROPY_GLOBALS } from "./entropy.ts";
import { FirstState, RESETTABLE_EXPORT } from "./reset.ts";

/** A module ready to instantiate. */
export interface CompiledPlugin {
  digest: string;
  module: WebAssembly.Module;
  /** Exported function names, minus the host's own additions. */
  exports: string[];
  /** Name of the exported fuel global, or null when the module is not metered. */
  fuelGlobal: string | null;
  memoryPages: number;
  /** The instrumented bytes. */
  bytes: Uint8Array;
  /**
   * The worker-mode variant when the module cache held it; otherwise made on
   * first need by {@link workerBytesOf}, which is what callers use.
   */
  workerBytes: Uint8Array | null;
  /** The module has the pinned WASI clock and random in front of WASI's (entropy.ts). */
  pinsEntropy: boolean;
  /** The instrumenter exposed the module's whole mutable state: an instance can be reset (state.ts). */
  resettable: boolean;
  /**
   * For a resettable module whose instantiation runs none of its code: the first
   * state every instance shares (reset.ts); null otherwise.
   */
  firstState: FirstState | null;
}

/** What changes the compiled result, and where instrumented modules may be cached. */
export interface CompileKey {
  memoryPages: number;
  startFuel: bigint;
  /** Directory of the on-disk module cache (e.g. `paths.cache`); none by default. */
  cacheDir?: string | undefined;
  /** Instrument on the instrumenter's threads where they can run (default true). */
  instrumentThreads?: boolean | undefined;
  /**
   * `cacheEpoch()` when the load began (default: when this compile began):
   * nothing is written into `cacheDir` once it was released after that.
   */
  cacheSince?: number | undefined;
}

/**
 * Instruments a module (a cache miss), or throws a `load_error` SandboxAbort. The
 * instrumenter validates it first, on its thread where it has one.
 */
async function instrumentChecked(wasm: Uint8Array, key: CompileKey): Promise<ThreadInstrumented> {
  try {
    return await instrumentLazily(wasm, {
      memoryMaxPages: key.memoryPages,
      startFuel: key.startFuel,
    }, key.instrumentThreads ?? true);
  } catch (error) {
    if (error instanceof HostError && error.code === "load_error") {
      throw new SandboxAbort("load_error", error.message);
    }
    throw new SandboxAbort("load_error", `Cannot instrument the plugin: ${messageOf(error)}`);
  }
}

let instrumenter: Promise<Instrumenter> | undefined;

type Instrumenter = typeof import("./instrument/mod.ts");
type Pool = NonNullable<ReturnType<typeof instrumentPool>>;

/**
 * Runs binaryen's work on one of the instrumenter's threads
 * (instrument-pool.ts), or on this thread where none can run (importing the
 * instrumenter on first use); `spare` work never falls back to this thread.
 */
async function onInstrumenter<T>(
  threads: boolean,
  spare: boolean,
  there: (pool: Pool) => Promise<T>,
  here: (instrumenter: Instrumenter) => T,
): Promise<T> {
  const pool = threads ? instrumentPool() : null;
  if (pool !== null) {
    try {
      return await there(pool);
    } catch (error) {
      if (spare || !(error instanceof InstrumentThreadsUnavailable)) throw error;
    }
  }
  if (spare) throw new InstrumentThreadsUnavailable("no instrumenter thread");
  instrumenter ??= withBaselineWasm(() => import("./instrument/mod.ts"));
  return here(await instrumenter);
}

function instrumentLazily(
  wasm: Uint8Array,
  options: InstrumentOptions,
  threads: boolean,
): Promise<ThreadInstrumented> {
  return onInstrumenter(
    threads,
    false,
    (pool) => pool.run(wasm, options),
    ({ instrument }) => instrument(wasm, options),
  );
}

/** Where a module was compiled from: what its worker variant is made from and cached with. */
interface Origin {
  cached: CachedModule;
  cacheKey: ModuleCacheKey;
  cacheDir: string | undefined;
  threads: boolean;
  variant?: Promise<Uint8Array>;
  /** `variant` is a spare-time attempt: one who needs it now tries again if it fails. */
  spare?: boolean;
  /** The variant's module as the instrumenter's thread compiled it, until a load takes it. */
  variantModule?: WebAssembly.Module;
  /** `cacheEpoch()` when its load began: a release of `cacheDir` after it stops writing there. */
  epoch: number;
}

const origins = new WeakMap<CompiledPlugin, Origin>();

// A worker variant is written into the module cache when it is made, which can be after the host
// that loaded the plugin closed (spare-time work runs once the threads are idle): a closed host's
// cache folder may be gone or in use by another host. `releaseCacheDir` ends those writes.
let releases = 0;
const released = new Map<string, number>();
const writing = new Map<string, Set<Promise<void>>>();

/** The count of releases so far: a load takes it when it begins (`CompileKey.cacheSince`). */
export function cacheEpoch(): number {
  return releases;
}

/**
 * Stops loads begun so far from writing into `dir` (their modules and worker
 * variants stay in memory) and waits for the writes under way; a host calls
 * it when it closes.
 */
export async function releaseCacheDir(dir: string): Promise<void> {
  released.set(dir, ++releases);
  await Promise.allSettled([...writing.get(dir) ?? []]);
}

/** `dir` was released after epoch `since`. */
function releasedSince(dir: string, since: number): boolean {
  return (released.get(dir) ?? 0) > since;
}

function writeVariant(origin: Origin, bytes: Uint8Array): Promise<void> {
  const dir = origin.cacheDir;
  if (dir === undefined || releasedSince(dir, origin.epoch)) return Promise.resolve();
  return writeEntry(dir, origin.cacheKey, { ...origin.cached, workerBytes: bytes });
}

/** Writes a module-cache entry, known to `releaseCacheDir` until it is written. */
async function writeEntry(dir: string, key: ModuleCacheKey, module: CachedModule): Promise<void> {
  const write = writeCachedModule(dir, key, module);
  const pending = writing.get(dir) ?? new Set();
  writing.set(dir, pending.add(write));
  try {
    await write;
  } finally {
    pending.delete(write);
    if (pending.size === 0) writing.delete(dir);
  }
}

/**
 * Called before a host loads a batch of plugins (its start): where none can
 * come from the module cache (no cache, or one with no entry: a new data
 * directory), every load instruments, so an instrumenter thread starts now,
 * its start and binaryen's load overlapping the loads' reading and verifying
 * (one plugin cold in a new process: ~5-10% sooner, docs/performance.md). A
 * cache with entries (a restart) starts none: most loads hit it.
 */
export function expectInstrumenting(cacheDir: string | undefined, threads: boolean): void {
  if (!threads || (cacheDir !== undefined && !moduleCacheEmpty(cacheDir))) return;
  instrumentPool()?.prestart();
}

/**
 * The worker-mode variant of a compiled module (instrument/worker-variant.ts):
 * made once, on the instrumenter's threads where they run, the first time a
 * plugin needs a worker, and then kept in the module cache beside the module.
 * Throws a `load_error` SandboxAbort when the module cannot run in a worker.
 */
export function workerBytesOf(compiled: CompiledPlugin): Promise<Uint8Array> {
  return variantOf(compiled, false);
}

/**
 * `spare`: only in the instrumenter threads' spare time (after every other
 * job, on a thread already running), never on this thread; a failure then
 * leaves the variant to be made when it is needed.
 */
function variantOf(compiled: CompiledPlugin, spare: boolean): Promise<Uint8Array> {
  if (compiled.workerBytes !== null) return Promise.resolve(compiled.workerBytes);
  const origin = origins.get(compiled);
  if (compiled.fuelGlobal === null || origin === undefined) {
    return Promise.reject(
      new SandboxAbort("load_error", "Worker mode needs a metered module (no fuel global)"),
    );
  }
  if (origin.variant !== undefined && origin.spare && !spare) {
    // Needed now: a spare-time job still queued runs next instead of after the pool's quiet period.
    if (origin.threads) instrumentPool()?.need(compiled.bytes);
    return origin.variant.catch(() => variantOf(compiled, false));
  }
  if (origin.variant !== undefined) return origin.variant;
  origin.spare = spare;
  origin.variant = (async () => {
    let bytes: Uint8Array;
    try {
      const epoch = baselineEpoch();
      const made = await variantLazily(compiled.bytes, origin.threads, spare);
      bytes = made.bytes;
      // As for the module itself (build): not one compiled while a baseline window was open.
      if (noBaselineWindowSince(epoch)) origin.variantModule = made.module;
    } catch (error) {
      // A spare-time attempt is tried again when needed; a failure on need is kept, so a module
      // the instrumenter cannot rewrite costs one attempt, not one per worker start.
      if (spare) origin.variant = undefined;
      throw new SandboxAbort(
        "load_error",
        `Cannot prepare the plugin for worker mode: ${messageOf(error)}`,
      );
    }
    compiled.workerBytes = bytes;
    await writeVariant(origin, bytes);
    return bytes;
  })();
  return origin.variant;
}

function variantLazily(
  metered: Uint8Array,
  threads: boolean,
  spare: boolean,
): Promise<ThreadVariant> {
  return onInstrumenter(
    threads,
    spare,
    (pool) => pool.workerVariant(metered, spare),
    ({ workerVariant }) => ({ bytes: workerVariant(metered) }),
  );
}

/**
 * The worker variant's module if the instrumenter's thread compiled it when
 * it made it (once: the caller keeps it), else undefined and the caller
 * compiles `workerBytesOf(compiled)`.
 */
export function takeWorkerModule(compiled: CompiledPlugin): WebAssembly.Module | undefined {
  const origin = origins.get(compiled);
  const module = origin?.variantModule;
  if (origin !== undefined) origin.variantModule = undefined;
  return module;
}

const MAX_CACHED = 32;
const cache = new Map<string, Promise<CompiledPlugin>>();

/** SHA-256 of bytes, lowercase hex (the artifact's one digest helper). */
export { sha256Hex };

/** Validates, instruments and compiles a module, or throws a `load_error` SandboxAbort. */
export async function compilePlugin(
  wasm: Uint8Array,
  key: CompileKey,
  provided: ProvidedImports,
): Promise<CompiledPlugin> {
  const since = key.cacheSince ?? releases;
  const digest = await sha256Hex(wasm);
  const cacheKey = `${digest}:${key.memoryPages}:${key.startFuel}`;
  let entry = cache.get(cacheKey);
  if (entry === undefined) {
    entry = build(wasm, digest, key, since);
    cache.set(cacheKey, entry);
    entry.catch(() => cache.delete(cacheKey));
    if (cache.size > MAX_CACHED) cache.delete(cache.keys().next().value as string);
  } else {
    // Refresh its place in the LRU order.
    cache.delete(cacheKey);
    cache.set(cacheKey, entry);
  }
  const compiled = await entry;
  // Shared with an earlier load (perhaps another host's, since closed): its worker variant, when
  // made, goes to this load's cache folder.
  const origin = origins.get(compiled);
  if (origin !== undefined && key.cacheDir !== undefined) {
    origin.cacheDir = key.cacheDir;
    origin.epoch = since;
  }
  // Imports depend on the caller's grants, so they are checked on every load.
  checkImports(compiled.module, provided);
  return compiled;
}

async function build(
  wasm: Uint8Array,
  digest: string,
  key: CompileKey,
  since: number,
): Promise<CompiledPlugin> {
  const cacheKey = { digest, memoryPages: key.memoryPages, startFuel: key.startFuel };
  // A cache hit skips validating the input: an entry exists only for a module that was valid
  // when it was instrumented (its digest is the key), and compiling validates what runs.
  const cached = key.cacheDir === undefined
    ? undefined
    : await readCachedModule(key.cacheDir, cacheKey);
  let rewritten: CachedModule | undefined = cached;
  let module: WebAssembly.Module | undefined;
  if (cached !== undefined) {
    await baselineSettled(); // see host/adapter/baseline-wasm.ts
    try {
      module = await WebAssembly.compile(cached.bytes as Uint8Array<ArrayBuffer>);
    } catch {
      rewritten = undefined; // An entry V8 refuses (another engine's quirk, say): rebuilt below.
    }
  }
  if (rewritten === undefined) {
    const epoch = baselineEpoch();
    const { module: compiledThere, ...instrumented } = await instrumentChecked(wasm, key);
    rewritten = { ...instrumented, workerBytes: null };
    // The instrumenter's thread compiled it too, unless a baseline window opened meanwhile.
    if (noBaselineWindowSince(epoch)) module = compiledThere;
    if (key.cacheDir !== undefined && !releasedSince(key.cacheDir, since)) {
      await writeEntry(key.cacheDir, cacheKey, rewritten);
    }
  }
  if (module === undefined) {
    await baselineSettled();
    try {
      module = await WebAssembly.compile(rewritten.bytes as Uint8Array<ArrayBuffer>);
    } catch (error) {
      throw new SandboxAbort("load_error", `Cannot compile the plugin: ${messageOf(error)}`);
    }
  }
  const described = WebAssembly.Module.exports(module);
  // The sandbox's own exports (the write tracker's, ...) are not the plugin's to offer: a caller
  // that named plughost_dirty_init could make later strict resets miss writes.
  const exports = described
    .filter((e) => e.kind === "function" && !e.name.startsWith(RESERVED_EXPORT_PREFIX))
    .map((e) => e.name);
  const resettable = described.some((e) => e.kind === "global" && e.name === RESETTABLE_EXPORT);
  const compiled: CompiledPlugin = {
    digest,
    module,
    exports,
    fuelGlobal: rewritten.fuelGlobal,
    memoryPages: rewritten.memoryMaxPages,
    bytes: rewritten.bytes,
    workerBytes: rewritten.workerBytes,
    pinsEntropy: described.some((e) => e.kind === "global" && e.name === ENTROPY_GLOBALS.pinned),
    resettable,
    firstState: resettable ? FirstState.of(rewritten.bytes, described.map((e) => e.name)) : null,
  };
  origins.set(compiled, {
    cached: rewritten,
    cacheKey,
    cacheDir: key.cacheDir,
    threads: key.instrumentThreads ?? true,
    epoch: since,
  });
  // Just instrumented, so a thread is likely running: it makes the worker variant once the loads
  // are done, so that a plugin's first move to workers (a call past its main-thread slice) does
  // not wait for it, nor start a thread and load binaryen mid-traffic. A cache hit leaves it to
  // that first move: a restart of many plugins would otherwise make them all.
  if (cached === undefined && compiled.fuelGlobal !== null) {
    variantOf(compiled, true).catch(() => {});
  }
  return compiled;
}
