/**
 * An instance on the calling thread: the fast path (~10-20 us of overhead per
 * call). Safe because fuel bounds every call; host functions are synchronous.
 * @module
 */
import createPlugin, { type Plugin } from "@extism/extism";
import { type LinearMemory, mainBulkIo } from "./bulk-io.ts";
import { classify, SandboxAbort } from "./classify.ts";
import type { CallState } from "./call-state.ts";
import { syncHostFunctions } from "./host-functions.ts";
import { kernelHttpDenied } from "./http-denied.ts";
import { KERNEL_NAMESPACE, USER_NAMESPACE } from "./imports.ts";
import {
  extismLogger,
  extismLogLevel,
  fuelUsed,
  type Instance,
  type InstanceConfig,
  type RunOutcome,
} from "./instance.ts";
import { PAGE_BYTES } from "./limits.ts";

/** Creates a main-thread instance; throws a `load_error` SandboxAbort if it cannot start. */
export async function createMainInstance(config: InstanceConfig): Promise<Instance> {
  const capBytes = BigInt(config.memoryPages * PAGE_BYTES);
  const memoryAbort = (message: string): never => {
    throw new SandboxAbort(
      "memory_limit",
      `The plugin's Extism blocks passed the ${config.memoryPages}-page memory cap (${message})`,
    );
  };
  let plugin: Plugin;
  const linear: LinearMemory = { memory: undefined };
  try {
    plugin = await createPlugin({ wasm: [{ module: config.compiled.module }] }, {
      useWasi: config.wasi,
      runInWorker: false,
      functions: {
        [USER_NAMESPACE]: { ...syncHostFunctions(config.hostFunctions), ...mainBulkIo(linear) },
        // Refuse a single oversized block before Extism allocates it; the running
        // total is checked by Extism itself (memory.maxPages) and reported through the logger.
        [KERNEL_NAMESPACE]: {
          alloc: (ctx: { alloc(n: bigint): bigint }, n: bigint) =>
            BigInt(n) > capBytes ? memoryAbort(`one block of ${n} bytes`) : ctx.alloc(n),
          // A refused http_request reported by the host, not by a log line a plugin can write.
          ...(config.allowedHosts.length === 0 ? kernelHttpDenied(config.logger) : {}),
        },
      },
      logger: extismLogger(config.logger, memoryAbort),
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
  const instance = await plugin.getInstance();
  const fuel = config.compiled.fuelGlobal === null
    ? null
    : (instance.exports[config.compiled.fuelGlobal] as WebAssembly.Global | undefined) ?? null;
  const memory = Object.values(instance.exports).find((e) => e instanceof WebAssembly.Memory) as
    | WebAssembly.Memory
    | undefined;
  linear.memory = memory;
  return new MainInstance(plugin, fuel, memory, config.memoryPages);
}

/** Why an instance could not start, as a load_error. */
export function startFailure(error: unknown, config: InstanceConfig): SandboxAbort {
  if (error instanceof SandboxAbort) return error;
  const message = error instanceof Error ? error.message : String(error);
  const hint = /unreachable/.test(message)
    ? ` (its start code may have used its whole start budget of ${config.startFuel} fuel)`
    : "";
  return new SandboxAbort("load_error", `The plugin failed to start: ${message}${hint}`);
}

class MainInstance implements Instance {
  calls = 0;
  constructor(
    private readonly plugin: Plugin,
    private readonly fuel: WebAssembly.Global | null,
    private readonly memory: WebAssembly.Memory | undefined,
    private readonly memoryCap: number,
  ) {}

  private pages(): number {
    return this.memory ? this.memory.buffer.byteLength / PAGE_BYTES : 0;
  }

  async run(exportName: string, input: Uint8Array, state: CallState): Promise<RunOutcome> {
    this.calls++;
    const budget = state.limits.fuel;
    if (this.fuel) this.fuel.value = budget;
    let output: Uint8Array | null = null;
    let thrown: unknown = undefined;
    let failed = false;
    try {
      const out = await this.plugin.call(exportName, input, state);
      output = out === null ? new Uint8Array() : out.bytes();
    } catch (error) {
      failed = true;
      thrown = error;
    }
    const fuelLeft = this.fuel ? (this.fuel.value as bigint) : null;
    const memoryPages = this.pages();
    const used = fuelUsed(budget, fuelLeft);
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
        fuelUsed: used,
        memoryPages,
        healthy: error.class === "plugin_error",
      };
    }
    return {
      ok: true,
      output: output ?? new Uint8Array(),
      fuelUsed: used,
      memoryPages,
      healthy: true,
    };
  }

  async close(): Promise<void> {
    await this.plugin.close();
  }
}
