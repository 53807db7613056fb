/**
 * The echo plugins the call and payload benchmarks measure, assembled from WAT
 * with wabt at run time:
 * - `echoModule()`: an Extism plugin whose `echo` export copies its input to its
 *   output the way the PDKs do (`input_load_u64` per 8 bytes into linear memory,
 *   `alloc` + `store_u64` per 8 bytes out), so it is what our SDK's
 *   `inputBytes()`/`outputBytes()` cost, without JSON;
 * - `blockModule()`: the same echo for a host that copies whole blocks into and
 *   out of linear memory in one call each (`read_input(dst)`, `write_output(src,
 *   len)`): the floor for a faster ABI;
 * - `bulkModule()`: the same for bare Extism with two host functions that copy
 *   whole blocks (a prototype of what our host could provide);
 * - `floorModule()`: a raw export that copies 16 bytes in linear memory.
 * @module
 */
import wabtInit from "wabt";
import { type SigningKey, signPlugin } from "../../host/trust/mod.ts";

const wabt = await wabtInit();

function assemble(text: string): Uint8Array {
  const module = wabt.parseWat("bench.wat", text, {});
  try {
    module.resolveNames();
    module.validate();
    return new Uint8Array(module.toBinary({}).buffer);
  } finally {
    module.destroy();
  }
}

// Linear memory: input lands at 0; 17 pages hold a 1 MiB input.
const ECHO_WAT = `(module
  (import "extism:host/env" "input_length" (func $input_length (result i64)))
  (import "extism:host/env" "input_load_u64" (func $input_load_u64 (param i64) (result i64)))
  (import "extism:host/env" "input_load_u8" (func $input_load_u8 (param i64) (result i32)))
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/env" "store_u64" (func $store_u64 (param i64 i64)))
  (import "extism:host/env" "store_u8" (func $store_u8 (param i64 i32)))
  (import "extism:host/env" "output_set" (func $output_set (param i64 i64)))
  (memory (export "memory") 17)
  (func (export "echo") (result i32)
    (local $n i64) (local $i i64) (local $out i64)
    (local.set $n (call $input_length))
    (block $done (loop $read
      (br_if $done (i64.gt_u (i64.add (local.get $i) (i64.const 8)) (local.get $n)))
      (i64.store (i32.wrap_i64 (local.get $i)) (call $input_load_u64 (local.get $i)))
      (local.set $i (i64.add (local.get $i) (i64.const 8)))
      (br $read)))
    (block $done (loop $tail
      (br_if $done (i64.ge_u (local.get $i) (local.get $n)))
      (i32.store8 (i32.wrap_i64 (local.get $i)) (call $input_load_u8 (local.get $i)))
      (local.set $i (i64.add (local.get $i) (i64.const 1)))
      (br $tail)))
    (local.set $out (call $alloc (local.get $n)))
    (local.set $i (i64.const 0))
    (block $done (loop $write
      (br_if $done (i64.gt_u (i64.add (local.get $i) (i64.const 8)) (local.get $n)))
      (call $store_u64 (i64.add (local.get $out) (local.get $i))
        (i64.load (i32.wrap_i64 (local.get $i))))
      (local.set $i (i64.add (local.get $i) (i64.const 8)))
      (br $write)))
    (block $done (loop $tail
      (br_if $done (i64.ge_u (local.get $i) (local.get $n)))
      (call $store_u8 (i64.add (local.get $out) (local.get $i))
        (i32.load8_u (i32.wrap_i64 (local.get $i))))
      (local.set $i (i64.add (local.get $i) (i64.const 1)))
      (br $tail)))
    (call $output_set (local.get $out) (local.get $n))
    (i32.const 0)))`;

const BLOCK_WAT = `(module
  (import "bench" "input_length" (func $input_length (result i32)))
  (import "bench" "read_input" (func $read_input (param i32)))
  (import "bench" "write_output" (func $write_output (param i32 i32)))
  (memory (export "memory") 17)
  (func (export "echo") (result i32)
    (call $read_input (i32.const 0))
    (call $write_output (i32.const 0) (call $input_length))
    (i32.const 0)))`;

// The prototype of a bulk ABI inside Extism: two host functions (which the host would
// provide from the sandbox, which owns the instance) copy the whole input into linear
// memory and the whole output into an Extism block.
const BULK_WAT = `(module
  (import "extism:host/user" "plughost_input_read" (func $read (param i64) (result i64)))
  (import "extism:host/user" "plughost_output_write" (func $write (param i64 i64) (result i64)))
  (import "extism:host/env" "output_set" (func $output_set (param i64 i64)))
  (memory (export "memory") 17)
  (func (export "echo") (result i32)
    (local $n i64)
    (local.set $n (call $read (i64.const 0)))
    (call $output_set (call $write (i64.const 0) (local.get $n)) (local.get $n))
    (i32.const 0)))`;

const FLOOR_WAT = `(module
  (memory (export "memory") 1)
  (func (export "echo16") (param $src i32) (param $dst i32)
    (i64.store (local.get $dst) (i64.load (local.get $src)))
    (i64.store offset=8 (local.get $dst) (i64.load offset=8 (local.get $src)))))`;

/** The PDK-style Extism echo plugin (export `echo`). */
export function echoModule(): Uint8Array {
  return assemble(ECHO_WAT);
}

/** The block-copy echo (imports `bench.input_length/read_input/write_output`). */
export function blockModule(): Uint8Array {
  return assemble(BLOCK_WAT);
}

/** The bulk-ABI echo (imports `plughost_input_read` and `plughost_output_write`). */
export function bulkModule(): Uint8Array {
  return assemble(BULK_WAT);
}

/** A raw export `echo16(src, dst)` copying 16 bytes. */
export function floorModule(): Uint8Array {
  return assemble(FLOOR_WAT);
}

/** The echo plugin's manifest (id `bench.echo` unless given). */
export function echoManifest(
  id = "bench.echo",
  permissions: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    schemaVersion: 1,
    id,
    version: "1.0.0",
    name: "Echo (benchmark)",
    description: "Returns its input unchanged",
    engines: { host: "^0.1.0", abi: 1 },
    capabilities: {
      echo: { export: "echo", description: "Returns the input bytes", input: {}, output: {} },
    },
    permissions,
    limits: { memoryMaxPages: 64 },
  };
}

/** The echo plugin (`module`: the PDK-style echo unless given) signed by `key` with its manifest. */
export async function signedEcho(
  key: SigningKey,
  id?: string,
  module: Uint8Array = echoModule(),
  permissions?: Record<string, unknown>,
): Promise<Uint8Array> {
  const manifest = JSON.stringify(echoManifest(id, permissions));
  return (await signPlugin(module, key, { manifest })).wasm;
}

/**
 * The Extism kernel functions the echo module imports, implemented directly on
 * a DataView (no Extism): what the 8-bytes-per-call ABI costs by itself.
 */
export function rawKernel(input: Uint8Array): {
  imports: WebAssembly.Imports;
  output(): Uint8Array;
} {
  const inView = new DataView(input.buffer, input.byteOffset, input.byteLength);
  let out = new Uint8Array(0);
  let outView = new DataView(out.buffer);
  let outLength = 0;
  const env = {
    input_length: () => BigInt(input.length),
    input_load_u64: (at: bigint) => inView.getBigUint64(Number(at), true),
    input_load_u8: (at: bigint) => inView.getUint8(Number(at)),
    alloc: (n: bigint) => {
      out = new Uint8Array(Number(n));
      outView = new DataView(out.buffer);
      return 0n;
    },
    store_u64: (at: bigint, v: bigint) => outView.setBigUint64(Number(at), v, true),
    store_u8: (at: bigint, v: number) => outView.setUint8(Number(at), v),
    output_set: (_at: bigint, n: bigint) => {
      outLength = Number(n);
    },
  };
  return {
    imports: { "extism:host/env": env },
    output: () => out.subarray(0, outLength),
  };
}
