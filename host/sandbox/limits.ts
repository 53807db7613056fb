/**
 * Per-call resource limits, their defaults, and how host policy caps what a
 * plugin (its manifest) or a caller asks for.
 * @module
 */
import { z } from "zod";

/** What one call may use. A call that exceeds any of them ends with a classified error. */
export interface Limits {
  /** Instruction budget (metering units, ~1 per WebAssembly operation). */
  fuel: bigint;
  /** Cap on the module's linear memory and on Extism's host-side blocks, in 64 KiB pages. */
  memoryPages: number;
  /** Wall-clock backstop for the whole call, host functions included. */
  timeoutMs: number;
  /** Largest output a call may return. */
  maxOutputBytes: number;
  /** Largest input a call may receive. */
  maxInputBytes: number;
}

export { PAGE_BYTES } from "./page.ts";

/**
 * Defaults: generous for real plugins (every Extism conformance plugin runs
 * within them) and small enough that a hostile plugin ends quickly: 1e9 fuel
 * is roughly 0.5-2 s of CPU, 1024 pages is 64 MiB.
 */
export const defaultLimits: Readonly<Limits> = Object.freeze({
  fuel: 1_000_000_000n,
  memoryPages: 1024,
  timeoutMs: 10_000,
  maxOutputBytes: 16 * 1024 * 1024,
  maxInputBytes: 16 * 1024 * 1024,
});

/** The most a host allows any plugin; requests above it are lowered to it. */
export const defaultPolicy: Readonly<Limits> = Object.freeze({
  fuel: 100_000_000_000n,
  memoryPages: 16_384,
  timeoutMs: 300_000,
  maxOutputBytes: 256 * 1024 * 1024,
  maxInputBytes: 256 * 1024 * 1024,
});

const positiveInt = z.number().int().positive();

/** zod schema for a partial Limits object (from config files, flags or JSON). */
export const partialLimitsSchema = z.object({
  fuel: z.union([z.bigint(), z.number().int().positive().transform(BigInt)]).refine(
    (v) => v > 0n,
    "fuel must be positive",
  ),
  memoryPages: positiveInt.max(65_536),
  timeoutMs: positiveInt,
  maxOutputBytes: positiveInt,
  maxInputBytes: positiveInt,
}).partial().strict();

/**
 * Merges requested limits over a base and caps every field by the policy.
 * `requested` is what a manifest or a caller asks; `policy` is the host's ceiling.
 * @example
 * applyPolicy({ memoryPages: 99999 }, { ...defaultPolicy, memoryPages: 256 }).memoryPages // 256
 */
export function applyPolicy(
  requested: Partial<Limits> | undefined,
  policy: Readonly<Limits> = defaultPolicy,
  base: Readonly<Limits> = defaultLimits,
): Limits {
  // Every call passes here twice (core, then sandbox): what this function made is valid already.
  const r: Partial<Limits> = requested === undefined
    ? {}
    : validated.has(requested)
    ? requested
    : partialLimitsSchema.parse(stripUndefined(requested));
  const min = <T extends number | bigint>(a: T, b: T): T => (a < b ? a : b);
  const limits: Limits = {
    fuel: min(r.fuel ?? base.fuel, policy.fuel),
    memoryPages: min(r.memoryPages ?? base.memoryPages, policy.memoryPages),
    timeoutMs: min(r.timeoutMs ?? base.timeoutMs, policy.timeoutMs),
    maxOutputBytes: min(r.maxOutputBytes ?? base.maxOutputBytes, policy.maxOutputBytes),
    maxInputBytes: min(r.maxInputBytes ?? base.maxInputBytes, policy.maxInputBytes),
  };
  validated.add(limits);
  return limits;
}

/**
 * Limits objects applyPolicy returned: built from parsed values, so not parsed
 * again (a zod parse was ~20 us of each call). Values written into one later
 * are the caller's to check.
 */
const validated = new WeakSet<object>();

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<
    T
  >;
}
