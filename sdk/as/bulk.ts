// deno-fmt-ignore-file: deno fmt drops decorators on declared functions.
/**
 * Bulk copies between Extism blocks and linear memory (ABI 1.1, wit/host.wit
 * `interface bulk-io`): one host call per block instead of one kernel call per
 * 8 bytes. Where the host answers BULK_UNAVAILABLE (Extism's worker mode) the
 * helpers take the kernel path, so plugins built with them run in both modes.
 * @module
 */

import {
  alloc,
  length,
  load_u64,
  load_u8,
  store_u64,
  store_u8,
} from "@extism/as-pdk/lib/env";

/** The handle of the call's input block (Extism kernel). */
// @ts-ignore: decorator
@external("extism:host/env", "input_offset")
declare function input_offset(): u64;

/** Copies the whole block at `handle` into linear memory at `dst`; returns its length. */
// @ts-ignore: decorator
@external("extism:host/user", "plughost_block_read")
export declare function plughost_block_read(handle: u64, dst: u64): u64;

/** Copies linear memory [src, src + len) into a new block; returns its handle. */
// @ts-ignore: decorator
@external("extism:host/user", "plughost_block_write")
export declare function plughost_block_write(src: u64, len: u64): u64;

/** What both bulk functions answer when the host cannot copy here. */
export const BULK_UNAVAILABLE: u64 = 0xFFFFFFFFFFFFFFFF;

/** The bytes of the block at `handle` (0: none). */
export function blockBytes(handle: u64): Uint8Array {
  const n = <i32> length(handle);
  const out = new Uint8Array(n);
  const base = out.dataStart;
  if (plughost_block_read(handle, <u64> base) == <u64> n) return out;
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    store<u64>(base + <usize> i, load_u64(handle + <u64> i));
  }
  for (; i < n; i++) store<u8>(base + <usize> i, load_u8(handle + <u64> i));
  return out;
}

/** The call's input bytes. */
export function inputBlockBytes(): Uint8Array {
  return blockBytes(input_offset());
}

/** Copies bytes into a new block and returns its handle. */
export function newBlock(bytes: Uint8Array): u64 {
  const n = bytes.length;
  const base = bytes.dataStart;
  const handle = plughost_block_write(<u64> base, <u64> n);
  if (handle != BULK_UNAVAILABLE) return handle;
  const offset = alloc(<u64> n);
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    store_u64(offset + <u64> i, load<u64>(base + <usize> i));
  }
  for (; i < n; i++) store_u8(offset + <u64> i, load<u8>(base + <usize> i));
  return offset;
}
