/**
 * The WebAssembly page size, on its own so that the instrumenter's thread,
 * which needs only this of the limits, does not load zod with limits.ts
 * (~25-40 ms of every thread's start).
 * @module
 */

/** Bytes in one WebAssembly page. */
export const PAGE_BYTES = 65_536;
