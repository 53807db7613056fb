/**
 * The bulk-copy ABI (host/sandbox/bulk-io.ts, wit/host.wit `interface
 * bulk-io`): the AssemblyScript SDK's echo gives the same bytes through the
 * bulk path and the 8-byte kernel fallback, uses one bulk call per direction
 * when it can, and runs in the sandbox's main and worker modes; a plugin
 * that passes a range outside its memory fails with a message saying so.
 */
import { join } from "node:path";
import createPlugin, { type CallContext } from "@extism/extism";
import wabtInit from "wabt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  BULK_UNAVAILABLE,
  type LinearMemory,
  mainBulkIo,
  workerBulkIo,
} from "../../host/sandbox/bulk-io.ts";
import { loadPlugin, type SandboxedPlugin } from "../../host/sandbox/mod.ts";
import { BULK_COPY_BYTE_FUEL } from "../../host/sandbox/instrument/costs.ts";
import { sdkPlugin } from "./abi-harness.ts";
import { compileAssemblyScript, root } from "./asc.ts";

let echoWasm: Uint8Array;

function bytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + 7) & 0xff;
  return out;
}

// The kernel path makes n/4 host calls for an n-byte echo: 1 MiB only on the bulk path.
const sizes = [0, 1, 7, 8, 1023, 64 * 1024];

beforeAll(async () => {
  echoWasm = await compileAssemblyScript(join(root, "sdk/as/test/echo.ts"));
});

describe("bulk-copy host functions with the AssemblyScript SDK", () => {
  it("echoes the same bytes through the bulk path and the kernel fallback", async () => {
    for (const path of ["bulk", "kernel"] as const) {
      const plugin = await sdkPlugin(echoWasm, { path });
      try {
        for (const n of path === "bulk" ? [...sizes, 1024 * 1024] : sizes) {
          const input = bytes(n);
          const out = await plugin.call("echo", input);
          expect(out?.bytes() ?? new Uint8Array(), `${path}, ${n} bytes`).toEqual(input);
        }
      } finally {
        await plugin.close();
      }
    }
  }, 120_000);

  it("makes one bulk call each way when the host can copy, and falls back when it cannot", async () => {
    const counts = { read: 0, write: 0 };
    const linear: LinearMemory = { memory: undefined };
    const bulk = mainBulkIo(linear);
    const counted = {
      plughost_block_read: (ctx: CallContext, a: bigint, b: bigint) => {
        counts.read++;
        return bulk.plughost_block_read!(ctx, a, b);
      },
      plughost_block_write: (ctx: CallContext, a: bigint, b: bigint) => {
        counts.write++;
        return bulk.plughost_block_write!(ctx, a, b);
      },
    };
    const plugin = await createPlugin({ wasm: [{ data: echoWasm }] }, {
      useWasi: false,
      functions: { "extism:host/user": counted },
    });
    try {
      const input = bytes(64 * 1024);
      // Before the memory is attached the functions answer "unavailable": the SDK still echoes.
      expect((await plugin.call("echo", input))?.bytes()).toEqual(input);
      expect(counts).toEqual({ read: 1, write: 1 });
      const instance = await plugin.getInstance();
      linear.memory = instance.exports.memory as WebAssembly.Memory;
      expect((await plugin.call("echo", input))?.bytes()).toEqual(input);
      expect(counts).toEqual({ read: 2, write: 2 });
    } finally {
      await plugin.close();
    }
  });

  it("copies only within the memory size the module's code sees (a reset grown instance's is smaller)", () => {
    const memory = new WebAssembly.Memory({ initial: 3 });
    const linear: LinearMemory = { memory, size: () => 65536 };
    const bulk = mainBulkIo(linear);
    const block = new Uint8Array(16).fill(7);
    const ctx = {
      hostContext: () => null,
      read: () => ({ bytes: () => block }),
      store: (bytes: Uint8Array) => BigInt(bytes.length),
    } as unknown as CallContext;
    expect(bulk.plughost_block_read!(ctx, 1n, 65536n - 16n)).toBe(16n);
    expect(() => bulk.plughost_block_read!(ctx, 1n, 65536n)).toThrow(
      /plughost_block_read: bytes \[65536, 65552\) are outside linear memory \(65536 bytes\)/,
    );
    expect(() => bulk.plughost_block_write!(ctx, 65536n - 8n, 16n)).toThrow(
      /outside linear memory/,
    );
    expect(() => bulk.plughost_block_write!(ctx, 0n, 65537n)).toThrow(/larger than linear memory/);
    expect(new Uint8Array(memory.buffer)[65536]).toBe(0);
  });

  it("answers 'unavailable' in worker mode without touching memory", () => {
    const worker = workerBulkIo();
    const ctx = {} as CallContext;
    expect(worker.plughost_block_read!(ctx, 1n, 0n)).toBe(BULK_UNAVAILABLE);
    expect(worker.plughost_block_write!(ctx, 0n, 8n)).toBe(BULK_UNAVAILABLE);
  });
});

describe("bulk copies in the sandbox", () => {
  const plugins: SandboxedPlugin[] = [];
  afterAll(async () => {
    await Promise.all(plugins.map((p) => p.close()));
  });

  it("echoes in main mode (bulk, 1 MiB) and in worker mode (kernel fallback)", async () => {
    for (const mode of ["main", "worker"] as const) {
      const plugin = await loadPlugin(echoWasm, { mode });
      plugins.push(plugin);
      for (const n of mode === "main" ? [0, 1000, 1024 * 1024] : [0, 1000, 64 * 1024]) {
        const input = bytes(n);
        const result = await plugin.call("echo", input);
        expect(result.ok, `${mode}, ${n} bytes`).toBe(true);
        if (result.ok) expect(result.output).toEqual(input);
      }
    }
  }, 120_000);

  it(
    "charges bulk copies by their bytes, like host functions (a copy loop is bounded by fuel)",
    async () => {
      const plugin = await loadPlugin(echoWasm, { mode: "main" });
      plugins.push(plugin);
      const fuelOf = async (n: number) => {
        const result = await plugin.call("echo", bytes(n));
        expect(result.ok).toBe(true);
        return result.usage.fuel;
      };
      const small = await fuelOf(64 * 1024);
      const large = await fuelOf(128 * 1024);
      // One block read and one block write of 64 KiB more, at BULK_COPY_BYTE_FUEL per byte each
      // (131,072); without the charge the two calls differ by a few thousand units only.
      const charged = 2n * BigInt(BULK_COPY_BYTE_FUEL) * 64n * 1024n;
      expect(large - small).toBeGreaterThanOrEqual((charged * 9n) / 10n);
      expect(large - small).toBeLessThan(charged * 2n);
      expect(await fuelOf(128 * 1024)).toBe(large);
    },
    60_000,
  );

  it("fails a call that copies outside linear memory, saying where", async () => {
    const wabt = await wabtInit();
    const module = wabt.parseWat(
      "oob.wat",
      `(module
        (import "extism:host/user" "plughost_block_write"
          (func $write (param i64 i64) (result i64)))
        (memory (export "memory") 1)
        (func (export "run") (result i32)
          (drop (call $write (i64.const 65530) (i64.const 100)))
          (i32.const 0)))`,
    );
    const wasm = new Uint8Array(module.toBinary({}).buffer);
    module.destroy();
    const plugin = await loadPlugin(wasm, { mode: "main" });
    plugins.push(plugin);
    const result = await plugin.call("run", new Uint8Array());
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error.message).toContain(
        "plughost_block_write: bytes [65530, 65630) are outside linear memory (65536 bytes)",
      );
    }
  });
});
