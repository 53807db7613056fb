/**
 * An instance on the calling thread: the fast path (~10-20 us of overhead per
 * call). Safe because a main-thread call runs within a slice (fuel, host calls
 * included, and wall time at host calls): past it the call is ended and the
 * sandbox moves it to a worker (docs/sandbox.md, "Main-thread slices").
 * Host functions are synchronous.
 * @module
 */
import createPlugin, {
  type CallContext as ExtismCallContext,
  type ExtismPluginOptions,
  type Plugin,
} from "@extism/extism";
import { type LinearMemory, mainBulkIo } from "./bulk-io.ts";
import { classify, SandboxAbort } from "./classify.ts";
import { type CallState, now } from "./call-state.ts";
import { checkKernelTime, checkSlice, syncHostFunctions } from "./host-functions.ts";
import { ENTROPY_GLOBALS, entropyFor } from "./entropy.ts";
import { kernelHttpDenied } from "./http-denied.ts";
import { KERNEL_NAMESPACE, USER_NAMESPACE } from "./imports.ts";
import {
  afterFailure,
  extismLogLevel,
  fuelUsed,
  type Instance,
  type InstanceConfig,
  MEMORY_LIMIT_LOG,
  type RunOutcome,
} from "./instance.ts";
import { PAGE_BYTES } from "./limits.ts";
import { DIRTY_EXPORTS, MEMORY_PAGES_EXPORT, Snapshot } from "./reset.ts";
import { Preempted } from "./slice.ts";
import type { SandboxLogger } from "./types.ts";

type Level = keyof SandboxLogger;

/** Never called: a main-thread instance answers HTTP requests with `kernelHttpDenied`. */
const noFetch: typeof fetch = () =>
  Promise.reject(new Error("HTTP is not available to a plugin on the main thread"));

/** The time check run before each of Extism's own functions on the host's thread. */
type KernelCheck = (ctx: ExtismCallContext, name: string) => void;

/** Creates a main-thread instance; throws a `load_error` SandboxAbort if it cannot start. */
export async function createMainInstance(config: InstanceConfig): Promise<Instance> {
  const capBytes = BigInt(config.memoryPages * PAGE_BYTES);
  const memoryAbort = (message: string): never => {
    const error = new SandboxAbort(
      "memory_limit",
      `The plugin's Extism blocks passed the ${config.memoryPages}-page memory cap (${message})`,
    );
    const state = holder.state;
    if (state) state.flagged = { class: error.code, message: error.message };
    throw error;
  };
  const holder = new LogHolder(config.logger);
  holder.startHoldMs = config.startHoldMs;
  // WASI keeps state outside the module (its host object): such instances are never reset.
  const resettable = config.compiled.resettable && !config.wasi;
  // Extism's own var, config and log functions: the call's deadline and slice, or the start's hold.
  const kernelCheck: KernelCheck = (ctx, name) => {
    checkKernelTime(ctx, name);
    holder.checkStart();
  };
  const vars = new KernelVars(config.logger, resettable, kernelCheck);
  // One logger for Extism and for the kernel's log functions given below (timedKernel).
  const logger = holder.logger();
  let plugin: Plugin;
  const linear: LinearMemory = { memory: undefined };
  try {
    // The module itself, not a manifest holding it: Extism tests a manifest with `instanceof
    // Response` and defaults `fetch` to the global one, and on Node either loads undici (~11 ms
    // of a restart or a `host call`).
    plugin = await createPlugin(config.compiled.module, {
      fetch: noFetch,
      useWasi: config.wasi,
      runInWorker: false,
      functions: {
        [USER_NAMESPACE]: {
          ...syncHostFunctions(config.hostFunctions, config.final),
          ...mainBulkIo(linear),
        },
        // Refuse a single oversized block before Extism allocates it. Extism checks the
        // running total itself (memory.maxPages) and answers 0 when it refuses: that
        // answer, not its log line (which a plugin can write too), ends the call.
        [KERNEL_NAMESPACE]: {
          alloc: (ctx: { alloc(n: bigint): bigint }, n: bigint) => {
            checkSlice(holder.state);
            holder.checkStart();
            if (BigInt(n) > capBytes) memoryAbort(`one block of ${n} bytes`);
            holder.allocating = true;
            let handle: bigint;
            try {
              handle = ctx.alloc(n);
            } finally {
              holder.allocating = false;
            }
            return handle === 0n ? memoryAbort(holder.refusal ?? `a block of ${n} bytes`) : handle;
          },
          // Extism's own var, config and log functions, each after the deadline and slice check:
          // one loop of var_get over a 1 MiB var held the loop 37 s past a 2 s timeout.
          ...timedKernel(config, logger, kernelCheck),
          // Extism keeps vars across calls: a resettable instance tracks them to clear them.
          ...vars.functions(),
          // A refused http_request reported by the host, not by a log line a plugin can write.
          ...(config.allowedHosts.length === 0 ? kernelHttpDenied(config.logger) : {}),
        },
      },
      logger,
      logLevel: extismLogLevel(config),
      config: config.config,
      memory: {
        maxPages: config.memoryPages,
        maxVarBytes: capBytes > 2n ** 24n ? 2 ** 24 : Number(capBytes),
      },
    });
  } catch (error) {
    throw startFailure(error, config);
  }
  holder.startHoldMs = null;
  const instance = await plugin.getInstance();
  const fuel = config.compiled.fuelGlobal === null
    ? null
    : (instance.exports[config.compiled.fuelGlobal] as WebAssembly.Global | undefined) ?? null;
  const memory = Object.values(instance.exports).find((e) => e instanceof WebAssembly.Memory) as
    | WebAssembly.Memory
    | undefined;
  linear.memory = memory;
  // The size the module's code sees, when it keeps its own (instrument/virtual-memory.ts).
  const sizeGlobal = instance.exports[MEMORY_PAGES_EXPORT];
  const pagesSeen = sizeGlobal instanceof WebAssembly.Global
    ? () => sizeGlobal.value as number
    : null;
  if (pagesSeen) linear.size = () => pagesSeen() * PAGE_BYTES;
  const mark = instance.exports[DIRTY_EXPORTS.mark];
  if (typeof mark === "function") linear.markWrite = mark as (at: number, length: number) => void;
  const entropy = config.compiled.pinsEntropy
    ? {
      pinned: instance.exports[ENTROPY_GLOBALS.pinned] as WebAssembly.Global,
      clock: instance.exports[ENTROPY_GLOBALS.clock] as WebAssembly.Global,
      rng: instance.exports[ENTROPY_GLOBALS.rng] as WebAssembly.Global,
    }
    : null;
  // Taken when first needed (a call, or the worker variant's image): until then the instance is
  // as instantiation left it. A host start creates an instance per plugin, most not called soon.
  const reset = resettable
    ? new LazySnapshot(() => Snapshot.take(instance.exports, config.compiled.firstState), vars)
    : null;
  return new MainInstance(
    plugin,
    fuel,
    memory,
    pagesSeen,
    config.memoryPages,
    holder,
    entropy,
    reset,
  );
}

/** Extism's log levels by priority, as its call context filters them. */
const LOG_PRIORITY: Record<string, number> = { trace: 0, debug: 1, info: 2, warn: 3, error: 4 };

/**
 * Extism's var_get, config_get and log_* as Extism does them (its call
 * context's public methods, and its own `free`), each after the call's
 * deadline and slice check, or the start's hold (`check`): they decode or copy a whole
 * block on the host's thread, and a loop of var_get over a 1 MiB var held
 * the loop 37 s past a 2 s timeout. Extism's own cannot be wrapped: the
 * functions given here replace them in its table.
 */
function timedKernel(
  config: InstanceConfig,
  logger: NonNullable<ExtismPluginOptions["logger"]>,
  check: KernelCheck,
): Record<string, (ctx: ExtismCallContext, addr: bigint) => bigint | void> {
  const threshold = LOG_PRIORITY[extismLogLevel(config)] ?? Infinity;
  const values = config.config;
  const free = (ctx: ExtismCallContext, addr: bigint) => kernelOf(ctx).free?.(addr);
  const log = (level: keyof typeof LOG_PRIORITY) => (ctx: ExtismCallContext, addr: bigint) => {
    check(ctx, `log_${level}`);
    const block = ctx.read(addr);
    if (block === null) {
      logger.error(
        `failed to log(${level}): bad block reference in addr 0x${
          addr.toString(16).padStart(64, "0")
        }`,
      );
      return;
    }
    try {
      if (threshold <= LOG_PRIORITY[level]!) {
        (logger as unknown as Record<string, (text: string) => void>)[level]!(block.string());
      }
    } finally {
      free(ctx, addr);
    }
  };
  /** Stores `bytes` as a block; 0 (Extism's var_get answer) when the memory cap refuses it. */
  const store = (ctx: ExtismCallContext, bytes: Uint8Array | string): bigint => {
    try {
      return ctx.store(bytes);
    } catch {
      return 0n;
    }
  };
  return {
    var_get: (ctx, addr) => {
      check(ctx, "var_get");
      const key = ctx.read(addr);
      if (key === null) return 0n;
      try {
        const value = ctx.getVariable(key.string());
        return value === null ? 0n : store(ctx, value.bytes());
      } finally {
        free(ctx, addr);
      }
    },
    config_get: (ctx, addr) => {
      check(ctx, "config_get");
      const key = ctx.read(addr);
      if (key === null) return 0n;
      try {
        const name = key.string();
        // As Extism's: a value the memory cap refuses ends the call (store throws).
        return Object.hasOwn(values, name) ? ctx.store(values[name]!) : 0n;
      } finally {
        free(ctx, addr);
      }
    },
    log_trace: log("trace"),
    log_debug: log("debug"),
    log_info: log("info"),
    log_warn: log("warn"),
    log_error: log("error"),
  };
}

type KernelFunction = (...args: bigint[]) => unknown;

const kernels = new WeakMap<object, Record<string, KernelFunction | undefined>>();

/**
 * Extism's own kernel table of a call context (for `free`, which the host
 * does not replace). Extism keeps it under a symbol it does not export: found
 * by shape, once per context; a missing one is a host bug (an Extism
 * upgrade), said plainly.
 */
function kernelOf(ctx: ExtismCallContext): Record<string, KernelFunction | undefined> {
  let table = kernels.get(ctx);
  if (table === undefined) {
    for (const symbol of Object.getOwnPropertySymbols(ctx)) {
      const value = (ctx as unknown as Record<symbol, unknown>)[symbol];
      if (
        typeof value === "object" && value !== null &&
        ["free", "alloc", "length", "input_length"].every((n) =>
          typeof (value as Record<string, unknown>)[n] === "function"
        )
      ) {
        table = value as Record<string, KernelFunction | undefined>;
        break;
      }
    }
    if (table === undefined) {
      throw new SandboxAbort(
        "host_error",
        "Extism's call context has no kernel table this host knows (a host bug after an Extism upgrade)",
      );
    }
    kernels.set(ctx, table);
  }
  return table;
}

/** What of Extism's call context `var_set` needs (its public methods). */
interface KernelContext {
  read(addr: bigint): { string(): string; bytes(): Uint8Array } | null;
  setVariable(name: string, value: Uint8Array): void;
  deleteVariable(name: string): void;
  setError(error: Error | null): void;
}

/**
 * Extism's `var_set`, as Extism does it, plus the names set, so a reset can
 * delete them: Extism's vars live in its call context, outside the module.
 */
class KernelVars {
  readonly #names = new Set<string>();
  #context: KernelContext | null = null;
  constructor(
    private readonly logger: SandboxLogger | undefined,
    /** Whether to keep the names (an instance that is reset clears them; others never do). */
    private readonly track: boolean,
    /** The time check of Extism's own functions (createMainInstance's `kernelCheck`). */
    private readonly check: KernelCheck,
  ) {}

  functions(): Record<string, (ctx: KernelContext, key: bigint, value: bigint) => void> {
    return {
      var_set: (ctx, addr, valueAddr) => {
        this.check(ctx as unknown as ExtismCallContext, "var_set");
        this.#context = ctx;
        const key = ctx.read(addr)?.string();
        if (key === undefined) {
          this.logger?.error(`attempted to set variable using invalid key address`);
          return;
        }
        if (valueAddr === 0n) {
          ctx.deleteVariable(key);
          this.#names.delete(key);
          return;
        }
        const value = ctx.read(valueAddr);
        if (value === null) {
          this.logger?.error(`attempted to set variable to invalid address (key="${key}")`);
          return;
        }
        if (this.track) this.#names.add(key);
        try {
          ctx.setVariable(key, value.bytes().slice());
        } catch (error) {
          const failure = error instanceof Error ? error : new Error(String(error));
          this.logger?.error(failure.message);
          ctx.setError(failure);
        }
      },
    };
  }

  /** Deletes every var set since the last clear. */
  clear(): void {
    for (const name of this.#names) this.#context?.deleteVariable(name);
    this.#names.clear();
  }
}

/**
 * Forwards plugin log lines as they come (the capabilities count them against
 * the run's budget and react to Extism's own lines during the call). Extism's
 * own line about its block cap, written while it allocates, is told apart by
 * when it comes (inside `alloc`), never by its text. A call cut at its slice
 * and re-run keeps the lines its first attempt wrote.
 */
class LogHolder {
  state: CallState | null = null;
  allocating = false;
  refusal: string | null = null;
  /** While the instance is made: how long its start code may hold the host's thread, or null. */
  startHoldMs: number | null = null;
  /** Set at the start code's first kernel call (the clock runs from there, not from before awaits). */
  #startUntil: number | null = null;
  constructor(private readonly target: SandboxLogger | undefined) {}

  logger(): NonNullable<ExtismPluginOptions["logger"]> {
    const forward = (level: Level) => (message: unknown) => {
      const text = String(message);
      if (this.allocating && level === "error" && text.startsWith(MEMORY_LIMIT_LOG)) {
        this.refusal = text;
        return;
      }
      this.target?.[level](text);
    };
    return {
      trace: forward("trace"),
      debug: forward("debug"),
      info: forward("info"),
      warn: forward("warn"),
      error: forward("error"),
    } as unknown as NonNullable<ExtismPluginOptions["logger"]>;
  }

  /**
   * Start code has no call, so no slice: it is held to HOLD_SLICES of wall
   * time, checked where its fuel does not price the host's work (Extism's
   * kernel functions: `alloc` scans every block it holds).
   */
  checkStart(): void {
    if (this.state !== null || this.startHoldMs === null) return;
    const at = now();
    this.#startUntil ??= at + this.startHoldMs;
    if (at <= this.#startUntil) return;
    throw new SandboxAbort(
      "load_error",
      `The plugin's start code held the host's thread for more than ${this.startHoldMs} ms in ` +
        "Extism's kernel functions (start code runs on the host's thread and may hold it for " +
        "about one slice; do heavy set-up in a call instead)",
    );
  }

  begin(state: CallState): void {
    this.state = state;
    this.refusal = null;
  }

  end(): void {
    this.state = null;
  }
}

/** Why an instance could not start, as a load_error. */
export function startFailure(error: unknown, config: InstanceConfig): SandboxAbort {
  if (error instanceof SandboxAbort) return error;
  const message = error instanceof Error ? error.message : String(error);
  const hint = !/unreachable/.test(message)
    ? ""
    : config.startCapped
    ? ` (its start code may have used its whole start budget of ${config.startFuel} fuel: start ` +
      `code runs on the host's thread, so it gets one main-thread slice at most; do heavy set-up ` +
      `in a call instead)`
    : ` (its start code may have used its whole start budget of ${config.startFuel} fuel)`;
  return new SandboxAbort("load_error", `The plugin failed to start: ${message}${hint}`);
}

/** The state right after instantiation, copied the first time it is asked for. */
class LazySnapshot {
  #taken: Snapshot | null = null;
  constructor(private readonly take: () => Snapshot, readonly vars: KernelVars) {}

  snapshot(): Snapshot {
    return this.#taken ??= this.take();
  }
}

class MainInstance implements Instance {
  calls = 0;
  readonly #initialPages: number;
  constructor(
    private readonly plugin: Plugin,
    private readonly fuel: WebAssembly.Global | null,
    private readonly memory: WebAssembly.Memory | undefined,
    /** The size the module's code sees, in pages, when it keeps its own; else null. */
    private readonly pagesSeen: (() => number) | null,
    private readonly memoryCap: number,
    private readonly logs: LogHolder,
    /** The pinned WASI entropy's globals, when the module has them (entropy.ts). */
    private readonly entropy: Record<keyof typeof ENTROPY_GLOBALS, WebAssembly.Global> | null,
    /** The state right after instantiation, when the instance can be put back to it. */
    private readonly resetTo: LazySnapshot | null,
  ) {
    this.#initialPages = this.pages();
  }

  /** No call ran since instantiation or the last reset. */
  #pristine = true;

  reset(): boolean {
    if (this.#pristine) return true;
    if (!this.resetTo) return false;
    this.resetTo.vars.clear();
    if (!this.resetTo.snapshot().restore()) return false;
    this.#pristine = true;
    return true;
  }

  restoreImage(): Uint8Array | null {
    return this.resetTo ? this.resetTo.snapshot().image() : null;
  }

  /** The memory's size in pages as the module's code sees it (a reset instance's can be larger). */
  private pages(): number {
    if (this.pagesSeen) return this.pagesSeen();
    return this.memory ? this.memory.buffer.byteLength / PAGE_BYTES : 0;
  }

  async run(exportName: string, input: Uint8Array, state: CallState): Promise<RunOutcome> {
    this.resetTo?.snapshot(); // the state this call starts from, before it changes anything
    this.calls++;
    this.#pristine = false;
    const budget = state.limits.fuel;
    // Within a slice the instance gets the slice's fuel; running out of it is not running out of budget.
    const given = state.sliceFuel !== null && state.sliceFuel < budget ? state.sliceFuel : budget;
    const fuel = this.fuel;
    if (fuel) fuel.value = given;
    if (this.entropy) {
      const set = entropyFor(state.call.determinism, state.call.seed);
      this.entropy.pinned.value = set.pinned;
      this.entropy.clock.value = set.clock;
      this.entropy.rng.value = set.rng;
    }
    state.charge = (amount) => {
      if (!fuel) return;
      const left = (fuel.value as bigint) - amount;
      fuel.value = left;
      if (left >= 0n) return;
      if (given < budget) throw new Preempted("fuel");
      throw new SandboxAbort("fuel_exhausted", FUEL_MESSAGE);
    };
    this.logs.begin(state);
    let output: Uint8Array | null = null;
    let thrown: unknown = undefined;
    let failed = false;
    try {
      const out = await this.plugin.call(exportName, input, state);
      output = out === null ? new Uint8Array() : out.bytes();
    } catch (error) {
      failed = true;
      thrown = error;
    } finally {
      state.charge = null;
    }
    const fuelLeft = fuel ? (fuel.value as bigint) : null;
    const memoryPages = this.pages();
    const grownPages = memoryPages - this.#initialPages;
    const used = fuelUsed(given, fuelLeft);
    const preempted = failed &&
      (thrown instanceof Preempted ||
        (given < budget && fuelLeft !== null && fuelLeft < 0n &&
          !(thrown instanceof SandboxAbort)));
    this.logs.end();
    if (preempted) {
      return {
        ok: false,
        error: { class: "timeout", message: "The call used its main-thread slice" },
        fuelUsed: used,
        memoryPages,
        healthy: false,
        preempted: thrown instanceof Preempted ? thrown.reason : "fuel",
        grownPages,
      };
    }
    if (failed) {
      const error = classify(thrown, {
        fuelLeft,
        memoryPages,
        memoryCap: this.memoryCap,
        flagged: state.flagged,
      });
      return {
        ok: false,
        error,
        fuelUsed: error.class === "fuel_exhausted" ? Number(budget) : used,
        memoryPages,
        healthy: afterFailure(error.class),
        grownPages,
      };
    }
    return {
      ok: true,
      output: output ?? new Uint8Array(),
      fuelUsed: used,
      memoryPages,
      healthy: true,
      grownPages,
    };
  }

  async close(): Promise<void> {
    await this.plugin.close();
  }
}

const FUEL_MESSAGE =
  "The call used its whole fuel budget; raise --fuel (or limits.fuel) if the work is legitimate";
