/**
 * What a call into the host costs in fuel (docs/metering.md, "Host calls").
 * Static costs are charged by the metered code itself, so they are the same
 * in both execution modes and on every runtime; byte costs are charged by the
 * sandbox's host-function wrapper on the thread that runs the host function.
 * @module
 */

/**
 * Charged in the caller's region for every call to an import (Extism kernel
 * functions, host functions, WASI), and for every `call_indirect` when a
 * table of the module holds an import. A kernel call costs the host ~0.1-1 us,
 * about what this many metered operations take.
 */
export const HOST_CALL_FUEL = 500;

/** Added by the sandbox for each call of a host function (extism:host/user). */
export const HOST_FUNCTION_FUEL = 20_000n;

/** Added by the sandbox per byte a host function reads (its input) or returns. */
export const HOST_BYTE_FUEL = 16n;

/**
 * memory.copy, memory.fill and memory.init cost, on top of their node,
 * `size >> BULK_BYTES_SHIFT` fuel, charged by the metered code when the size
 * is known: 1 fuel per 64 bytes (a cache line), about what moving them takes
 * next to one metered operation. Without it a 16 MiB copy cost 1 fuel.
 */
export const BULK_BYTES_SHIFT = 6;

/**
 * Charged per byte copied by `plughost_block_read` / `plughost_block_write`.
 * The one figure both implementations charge: JavaScript on the main thread
 * ({@link bulkCopyFuel}, host/sandbox/bulk-io.ts) and WebAssembly in a worker
 * (host/sandbox/worker-bulk.ts, `bytes * BULK_COPY_BYTE_FUEL`), so a plugin's
 * fuel does not depend on where it runs. One fuel a byte is ~1.5-2x what the
 * main-thread copy takes next to metered code (a 64 KiB block each way in
 * ~18 us; the slice's 20e6 fuel is ~4 ms of a tight loop). It was
 * HOST_BYTE_FUEL (16), which made a 1 MiB echo cost 33.5e6 fuel: past the
 * slice, so every such plugin was moved to workers.
 */
export const BULK_COPY_BYTE_FUEL = 1;

/** The fuel of a bulk copy of `bytes` bytes. */
export function bulkCopyFuel(bytes: number): bigint {
  return BigInt(BULK_COPY_BYTE_FUEL) * BigInt(bytes);
}
