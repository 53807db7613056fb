/**
 * Puts the host's own WASI clock and random functions in front of the
 * runtime's (docs/replay.md, "Entropy"): each import of
 * `wasi_snapshot_preview1` `clock_time_get`, `clock_res_get` or `random_get`
 * becomes a module function that, while the global `plughost_entropy_pinned`
 * is 1, answers from the seeded globals (a clock advancing 1 ms per read, a
 * splitmix64 stream), and otherwise calls the runtime's import. Runs before
 * metering, so the pinned functions are charged like plugin code: the same
 * fuel on every engine.
 * @module
 */
import binaryen from "./binaryen.ts";
import { HostError } from "../../errors.ts";
import { ENTROPY_GLOBALS, PINNED_TICK_NS, START_ENTROPY } from "../entropy.ts";

const WASI = "wasi_snapshot_preview1";
const { i32, i64, none } = binaryen;
/** WASI errno values the pinned functions answer. */
const ESUCCESS = 0;
const EFAULT = 21;
const EINVAL = 28;
/** WASI clock ids 0..3 (realtime, monotonic, process and thread CPU time) all read the one clock. */
const LAST_CLOCK_ID = 3;

const SIGNATURES: Record<string, [params: number[], result: number]> = {
  clock_time_get: [[i32, i64, i32], i32],
  clock_res_get: [[i32, i32], i32],
  random_get: [[i32, i32], i32],
};

const c64 = (m: binaryen.Module, value: bigint) => m.i64.const(value as unknown as number);

/** Rewrites `m` in place; returns false (and changes nothing) when it imports none of them. */
export function pinWasiEntropy(m: binaryen.Module): boolean {
  const found: { name: string; base: string }[] = [];
  for (let i = 0; i < m.getNumFunctions(); i++) {
    const info = binaryen.getFunctionInfo(m.getFunctionByIndex(i));
    const base = info.base;
    if (info.module !== WASI || base === null || !Object.hasOwn(SIGNATURES, base)) continue;
    const [params, result] = SIGNATURES[base]!;
    const got = binaryen.expandType(info.params);
    if (
      info.results !== result || got.length !== params.length || got.some((t, j) => t !== params[j])
    ) {
      throw new HostError(
        "load_error",
        `The module imports WASI '${base}' with a signature that is not WASI preview 1's; rebuild it with a standard WASI toolchain`,
      );
    }
    found.push({ name: info.name, base });
  }
  if (found.length === 0) return false;
  if (!m.hasMemory()) {
    throw new HostError("load_error", "The module imports WASI clock or random but has no memory");
  }
  for (const name of Object.values(ENTROPY_GLOBALS)) {
    if (m.getExport(name)) {
      throw new HostError(
        "load_error",
        `The module exports "${name}", a name the sandbox reserves; rename that export`,
      );
    }
  }
  // Start code runs before any call sets the globals: it sees START_ENTROPY, pinned.
  const start = START_ENTROPY;
  m.addGlobal(ENTROPY_GLOBALS.pinned, i32, true, m.i32.const(1));
  m.addGlobal(ENTROPY_GLOBALS.clock, i64, true, c64(m, start.clock));
  m.addGlobal(ENTROPY_GLOBALS.rng, i64, true, c64(m, start.rng));
  for (const name of Object.values(ENTROPY_GLOBALS)) m.addGlobalExport(name, name);
  for (const { name, base } of found) {
    const [params, result] = SIGNATURES[base]!;
    const real = `plughost$wasi_${base}$${name}`;
    m.removeFunction(name);
    m.addFunctionImport(real, WASI, base, binaryen.createType(params), result);
    const forward = m.return(
      m.call(real, params.map((t, j) => m.local.get(j, t)), result),
    );
    const [pinned, vars] = pinnedBody(m, base);
    const body = m.block(null, [
      m.if(m.global.get(ENTROPY_GLOBALS.pinned, i32), pinned),
      forward,
    ]);
    m.addFunction(name, binaryen.createType(params), result, vars, body);
  }
  return true;
}

/** True when [ptr, ptr + len) (i32 operands, unsigned) lies outside memory 0. */
function outside(m: binaryen.Module, ptr: binaryen.ExpressionRef, len: binaryen.ExpressionRef) {
  return m.i64.gt_u(
    m.i64.add(m.i64.extend_u(ptr), m.i64.extend_u(len)),
    m.i64.shl(m.i64.extend_u(m.memory.size()), c64(m, 16n)),
  );
}

/** The pinned branch of each function (it always returns) and the locals it adds. */
function pinnedBody(m: binaryen.Module, base: string): [binaryen.ExpressionRef, number[]] {
  const ret = (errno: number) => m.return(m.i32.const(errno));
  const clock = () => m.global.get(ENTROPY_GLOBALS.clock, i64);
  if (base === "clock_time_get" || base === "clock_res_get") {
    const out = base === "clock_time_get" ? 2 : 1;
    const value = base === "clock_time_get" ? clock() : c64(m, PINNED_TICK_NS);
    return [
      m.block(null, [
        m.if(m.i32.gt_u(m.local.get(0, i32), m.i32.const(LAST_CLOCK_ID)), ret(EINVAL)),
        m.if(outside(m, m.local.get(out, i32), m.i32.const(8)), ret(EFAULT)),
        m.i64.store(0, 1, m.local.get(out, i32), value),
        ...(base === "clock_time_get"
          ? [m.global.set(ENTROPY_GLOBALS.clock, m.i64.add(clock(), c64(m, PINNED_TICK_NS)))]
          : []),
        ret(ESUCCESS),
      ]),
      [],
    ];
  }
  // random_get(buf, len): splitmix64 outputs, little-endian, 8 bytes per step.
  const [buf, len, i, z] = [0, 1, 2, 3];
  const rng = () => m.global.get(ENTROPY_GLOBALS.rng, i64);
  const zv = () => m.local.get(z, i64);
  const mix = (shift: bigint, k: bigint) =>
    m.local.set(z, m.i64.mul(m.i64.xor(zv(), m.i64.shr_u(zv(), c64(m, shift))), c64(m, k)));
  const next = m.block(null, [
    m.global.set(ENTROPY_GLOBALS.rng, m.i64.add(rng(), c64(m, 0x9e37_79b9_7f4a_7c15n))),
    m.local.set(z, rng()),
    mix(30n, 0xbf58_476d_1ce4_e5b9n),
    mix(27n, 0x94d0_49bb_1331_11ebn),
    m.local.set(z, m.i64.xor(zv(), m.i64.shr_u(zv(), c64(m, 31n)))),
  ], none);
  const iv = () => m.local.get(i, i32);
  const loop = m.block("plughost$done", [
    m.loop(
      "plughost$fill",
      m.block(null, [
        m.br("plughost$done", m.i32.ge_u(iv(), m.local.get(len, i32))),
        m.if(m.i32.eqz(m.i32.and(iv(), m.i32.const(7))), next),
        m.i64.store8(0, 1, m.i32.add(m.local.get(buf, i32), iv()), zv()),
        m.local.set(z, m.i64.shr_u(zv(), c64(m, 8n))),
        m.local.set(i, m.i32.add(iv(), m.i32.const(1))),
        m.br("plughost$fill"),
      ], none),
    ),
  ], none);
  return [
    m.block(null, [
      m.if(outside(m, m.local.get(buf, i32), m.local.get(len, i32)), ret(EFAULT)),
      loop,
      ret(ESUCCESS),
    ]),
    [i32, i64],
  ];
}
