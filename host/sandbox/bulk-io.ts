/**
 * The bulk-copy host functions (ABI 1.1, wit/host.wit `interface bulk-io`):
 * they copy a whole Extism block into the plugin's linear memory, or a range
 * of linear memory into a new block, in one host call. Extism's kernel moves
 * 8 bytes per call (`input_load_u64`, `store_u64`), which caps a 64 KiB echo
 * at a few tens of MiB/s; one `Uint8Array.set` moves gigabytes per second.
 *
 * They need the instance's linear memory, which the host holds only for
 * main-thread instances. The module built for workers replaces the two
 * imports by WebAssembly copies that run in the worker (worker-bulk.ts) and
 * charge the same fuel, so a call takes the same path and fuel in both modes.
 * Where neither can copy (no memory known) both answer {@link BULK_UNAVAILABLE};
 * the SDKs then take the 8-byte kernel path.
 * @module
 */
import type { CallContext } from "@extism/extism";
import { meterCopy } from "./host-functions.ts";

/** The core import names, in the "extism:host/user" namespace. */
export const BULK_IO_FUNCTIONS: readonly string[] = [
  "plughost_block_read",
  "plughost_block_write",
];

/** The answer of both functions when they cannot copy here: all 64 bits set. */
export const BULK_UNAVAILABLE = 0xffff_ffff_ffff_ffffn;

/** Where the bulk functions find the instance's memory; set once the instance exists. */
export interface LinearMemory {
  memory: WebAssembly.Memory | undefined;
  /** Marks bytes the host writes, for a module with write tracking (instrument/dirty.ts). */
  markWrite?: (at: number, length: number) => void;
  /**
   * The size the module's code sees, in bytes, when it keeps its own
   * (instrument/virtual-memory.ts): a reset instance's memory can be larger.
   */
  size?: () => number;
}

type BulkFunction = (ctx: CallContext, a: bigint, b: bigint) => bigint;

/** A plugin bug, not a host failure: traps the call with a message that says what was wrong. */
function misuse(name: string, message: string): never {
  throw new Error(`${name}: ${message}`);
}

/** Bounds-checked view of linear memory [at, at + n), within the size the code sees. */
function range(name: string, linear: LinearMemory, at: bigint, n: number): Uint8Array {
  const memory = linear.memory as WebAssembly.Memory;
  const size = linear.size?.() ?? memory.buffer.byteLength;
  if (at < 0n || at + BigInt(n) > BigInt(size)) {
    misuse(name, `bytes [${at}, ${at + BigInt(n)}) are outside linear memory (${size} bytes)`);
  }
  return new Uint8Array(memory.buffer, Number(at), n);
}

/** The functions for a main-thread instance, reading the memory from `linear` at each call. */
export function mainBulkIo(linear: LinearMemory): Record<string, BulkFunction> {
  return {
    /** (handle, dst) -> bytes copied: the whole block at `handle` into linear memory at `dst`. */
    plughost_block_read: (ctx, handle, dst) => {
      const memory = linear.memory;
      if (memory === undefined) return BULK_UNAVAILABLE;
      // Handle 0 is "no block" (the input of a call without input): nothing to copy.
      if (handle === 0n) return 0n;
      const block = ctx.read(handle);
      if (block === null) misuse("plughost_block_read", `no Extism block at handle ${handle}`);
      const bytes = block.bytes(); // a view of the block, no copy
      meterCopy(ctx, "plughost_block_read", bytes.length);
      const target = range("plughost_block_read", linear, dst, bytes.length);
      // Marked before the write: a reset must put these bytes back like the plugin's own stores.
      linear.markWrite?.(Number(dst), bytes.length);
      target.set(bytes);
      return BigInt(bytes.length);
    },
    /** (src, len) -> handle: a new block holding linear memory [src, src + len). */
    plughost_block_write: (ctx, src, len) => {
      const memory = linear.memory;
      if (memory === undefined) return BULK_UNAVAILABLE;
      if (len < 0n || len > BigInt(linear.size?.() ?? memory.buffer.byteLength)) {
        misuse("plughost_block_write", `length ${len} is larger than linear memory`);
      }
      meterCopy(ctx, "plughost_block_write", Number(len));
      const view = range("plughost_block_write", linear, src, Number(len));
      // store() copies a partial view into a new block but would keep a view of the whole
      // buffer as the block itself: linear memory must never become a block, so copy that one.
      return ctx.store(view.byteLength === memory.buffer.byteLength ? view.slice() : view);
    },
  };
}

/**
 * The host-side functions for a worker-mode instance: no linear memory here.
 * Reached only by a module whose imports worker-bulk.ts could not replace.
 */
export function workerBulkIo(): Record<string, BulkFunction> {
  return {
    plughost_block_read: () => BULK_UNAVAILABLE,
    plughost_block_write: () => BULK_UNAVAILABLE,
  };
}
