/**
 * CPU-heavy kernels for the metering benchmark, written in AssemblyScript and
 * compiled in-process with `asc` (a dev dependency), so the bench needs no
 * build step: SHA-256 compression, a tight integer loop, recursive fib.
 * @module
 */
import asc from "assemblyscript/asc";

const source = `
const K: StaticArray<u32> = [
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];
const W = new StaticArray<u32>(64);
const H = new StaticArray<u32>(8);
const DATA = new StaticArray<u8>(4096);

function compress(block: usize): void {
  for (let i = 0; i < 16; i++) W[i] = bswap<u32>(load<u32>(block + (i << 2)));
  for (let i = 16; i < 64; i++) {
    const a = W[i - 15], b = W[i - 2];
    const s0 = rotr<u32>(a, 7) ^ rotr<u32>(a, 18) ^ (a >>> 3);
    const s1 = rotr<u32>(b, 17) ^ rotr<u32>(b, 19) ^ (b >>> 10);
    W[i] = W[i - 16] + s0 + W[i - 7] + s1;
  }
  let a = H[0], b = H[1], c = H[2], d = H[3], e = H[4], f = H[5], g = H[6], h = H[7];
  for (let i = 0; i < 64; i++) {
    const S1 = rotr<u32>(e, 6) ^ rotr<u32>(e, 11) ^ rotr<u32>(e, 25);
    const ch = (e & f) ^ (~e & g);
    const t1 = h + S1 + ch + K[i] + W[i];
    const S0 = rotr<u32>(a, 2) ^ rotr<u32>(a, 13) ^ rotr<u32>(a, 22);
    const maj = (a & b) ^ (a & c) ^ (b & c);
    const t2 = S0 + maj;
    h = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
  }
  H[0] += a; H[1] += b; H[2] += c; H[3] += d; H[4] += e; H[5] += f; H[6] += g; H[7] += h;
}

/** Hashes the 4 KiB buffer (compression only, no padding) rounds times; returns H[0]. */
export function sha256(rounds: i32): u32 {
  for (let i = 0; i < 4096; i++) DATA[i] = <u8>(i * 31 + 7);
  H[0] = 0x6a09e667; H[1] = 0xbb67ae85; H[2] = 0x3c6ef372; H[3] = 0xa54ff53a;
  H[4] = 0x510e527f; H[5] = 0x9b05688c; H[6] = 0x1f83d9ab; H[7] = 0x5be0cd19;
  const base = changetype<usize>(DATA);
  for (let r = 0; r < rounds; r++) {
    for (let off: usize = 0; off < 4096; off += 64) compress(base + off);
  }
  return H[0];
}

/** A tight integer loop (xorshift). */
export function mix(n: i32): u32 {
  let x: u32 = 2463534242;
  let acc: u32 = 0;
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    acc += x & 0xff;
  }
  return acc;
}

/** Recursive fib: one metered call per node. */
export function fib(n: i32): i32 {
  return n < 2 ? n : fib(n - 1) + fib(n - 2);
}
`;

/** Compiles the kernels (-O3, stub runtime) and returns the module bytes. */
export async function buildKernels(): Promise<Uint8Array> {
  const result = await asc.compileString(source, {
    optimizeLevel: 3,
    shrinkLevel: 0,
    runtime: "stub",
    noAssert: true,
  });
  if (result.error !== null || result.binary === null) {
    throw new Error(`asc failed: ${result.error?.message}\n${result.stderr.toString()}`);
  }
  return result.binary;
}
