/**
 * Pinned WASI entropy (docs/replay.md, "Entropy"). In a strict run the WASI
 * clock and randomness a plugin sees come from the run's seed, not from the
 * runtime: the instrumenter (instrument/wasi-entropy.ts) puts its own
 * `clock_time_get`, `clock_res_get` and `random_get` in front of WASI's, and
 * they read three globals the host sets before every call. Binaryen-free, so
 * instances can use it without loading binaryen.
 * @module
 */

/** The exported globals the pinned functions read: i32 switch, i64 clock (ns), i64 generator state. */
export const ENTROPY_GLOBALS = {
  pinned: "plughost_entropy_pinned",
  clock: "plughost_entropy_clock",
  rng: "plughost_entropy_rng",
} as const;

/** Where the pinned clock starts: 2024-01-01T00:00:00Z, in nanoseconds. */
export const PINNED_EPOCH_NS = 1_704_067_200_000_000_000n;
/** How far the pinned clock moves per read (and its reported resolution): 1 ms. */
export const PINNED_TICK_NS = 1_000_000n;

/** The seed of a strict call that was given none: all zeros. */
export const ZERO_SEED = "0".repeat(32);

/** The globals' values for one call. */
export interface EntropyState {
  /** 1: the pinned functions answer; 0: the runtime's WASI does. */
  pinned: 0 | 1;
  clock: bigint;
  rng: bigint;
}

const MASK_32 = 0xffff_ffffn;

/**
 * The pinned state a seed (32 hex digits) gives: the clock starts at
 * PINNED_EPOCH_NS plus the seed's first 64 bits mod 2^32 in milliseconds (a
 * point in the 49.7 days after it); the generator (splitmix64) starts at the
 * seed's last 64 bits.
 */
export function pinnedEntropy(seed: string): EntropyState {
  if (!/^[0-9a-f]{32}$/.test(seed)) {
    throw new Error(`The run's seed must be 32 lowercase hex digits, got '${seed}'`);
  }
  const hi = BigInt(`0x${seed.slice(0, 16)}`);
  const lo = BigInt(`0x${seed.slice(16)}`);
  return { pinned: 1, clock: PINNED_EPOCH_NS + (hi & MASK_32) * PINNED_TICK_NS, rng: lo };
}

/**
 * What instance start code sees, before any call sets the globals (in either
 * mode: the host cannot set them before the start code runs): pinned, the
 * clock at 0 (the Unix epoch) and the generator at 0. Any later clock a call
 * reads is ahead of it, pinned (2024 on) or real, so no clock the plugin
 * remembers from its start runs backwards.
 */
export const START_ENTROPY: EntropyState = { pinned: 1, clock: 0n, rng: 0n };

/** The state of a best-effort call: the runtime's own clock and randomness. */
export const REAL_ENTROPY: EntropyState = { pinned: 0, clock: 0n, rng: 0n };

/** The state for a call of `determinism` with `seed` (strict without a seed: the zero seed). */
export function entropyFor(
  determinism: "strict" | "best-effort" | undefined,
  seed: string | undefined,
): EntropyState {
  return determinism === "strict" ? pinnedEntropy(seed ?? ZERO_SEED) : REAL_ENTROPY;
}

/** splitmix64, as the pinned `random_get` runs it: the next state and its output. */
export function splitmix64(state: bigint): { state: bigint; value: bigint } {
  const M = (1n << 64n) - 1n;
  const next = (state + 0x9e37_79b9_7f4a_7c15n) & M;
  let z = next;
  z = ((z ^ (z >> 30n)) * 0xbf58_476d_1ce4_e5b9n) & M;
  z = ((z ^ (z >> 27n)) * 0x94d0_49bb_1331_11ebn) & M;
  return { state: next, value: z ^ (z >> 31n) };
}
