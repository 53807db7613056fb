/**
 * Loads a tool module whose WebAssembly should be compiled by V8's baseline
 * compiler only (Liftoff): binaryen, the instrumenter's ~10 MB module, which
 * a process uses for a few calls per plugin it has not seen before. With V8's
 * default tiering its hot functions are recompiled by the optimizing compiler
 * on background threads while the first plugins are instrumented; on 2 cores
 * `host call` of a plugin not in the module cache took 856-929 ms that way and
 * 667-701 ms with this, while a long run of instrumentations is as fast
 * either way (docs/performance.md). V8's flags are process-wide, so the flag
 * is set only while that module is compiled and instantiated, and whatever
 * compiles or instantiates plugin code first waits for `baselineSettled()`:
 * a plugin module (or Extism's kernel, compiled with a plugin's first
 * instance) compiled meanwhile would run baseline code for its life. Node
 * only; elsewhere it just loads.
 * @module
 */
import process from "node:process";
import { setFlagsFromString } from "node:v8";
import { isDeno } from "./worker-args.ts";

/** The V8 flags this process was started with (command line and NODE_OPTIONS). */
const startFlags = ` ${process.execArgv.join(" ")} ${process.env["NODE_OPTIONS"] ?? ""} `;

/** Whether the process was started with `--FLAG` (V8 reads `-` and `_` alike). */
function startedWith(flag: string): boolean {
  const name = flag.replace(/[-_]/g, "[-_]");
  return new RegExp(`\\s--${name}(?=[\\s=])`).test(startFlags);
}

/**
 * Baseline-only for the whole process (started so, or `baselineProcess`): a window would change
 * nothing, and closing one would undo the flag.
 */
let baselineAlready = startedWith("liftoff-only");

/**
 * What closing a window sets: `--liftoff-only` also turns tier-up off (V8's
 * flag implications), and turning it off does not turn tier-up back on, so
 * without these every module compiled afterwards, each plugin and Extism's
 * kernel, would stay in baseline code for the life of the process. Each is
 * put back only where the process was not started without it.
 */
const closeFlags = ["--no-liftoff-only"].concat(
  ["wasm-tier-up", "wasm-dynamic-tiering"].filter((flag) => !startedWith(`no-${flag}`))
    .map((flag) => `--${flag}`),
);

/** Loads under way with the flag set; the flag goes back when the last one settles. */
let open = 0;
/** Counts each window's opening and closing: see `baselineEpoch`. */
let epoch = 0;
/** Settles when the flag goes back; null while it is not set. */
let settled: { promise: Promise<void>; resolve: () => void } | null = null;

/** `load()` with V8 compiling WebAssembly by its baseline compiler only until it settles. */
export function withBaselineWasm<T>(load: () => Promise<T>): Promise<T> {
  if (isDeno || baselineAlready) return load();
  if (open++ === 0) {
    epoch++;
    setFlagsFromString("--liftoff-only");
    let resolve!: () => void;
    settled = { promise: new Promise<void>((r) => (resolve = r)), resolve };
  }
  return (async () => {
    try {
      return await load();
    } finally {
      if (--open === 0) {
        if (!baselineAlready) { for (const flag of closeFlags) setFlagsFromString(flag); }
        epoch++;
        settled?.resolve();
        settled = null;
      }
    }
  })();
}

/** A promise to wait for before compiling plugin code, or undefined when none is needed. */
export function baselineSettled(): Promise<void> | undefined {
  return settled?.promise;
}

/**
 * Changes whenever a window opens or closes (odd while one is open). Plugin
 * code compiled on another thread from one reading to an equal, even one was
 * compiled with no window open: V8's flags are process-wide.
 */
export function baselineEpoch(): number {
  return epoch;
}

/** Whether no window was open at any time since `baselineEpoch()` read `since`. */
export function noBaselineWindowSince(since: number): boolean {
  return since % 2 === 0 && epoch === since;
}

/**
 * Keeps this whole process on V8's baseline compiler for WebAssembly (Node;
 * nothing on Deno, whose flags are fixed at start): for a command that loads
 * one plugin and calls it once (`host call`, `host run`). binaryen is then
 * never tiered up while it instruments the one module (`host call` of hello
 * with an empty cache: ~360 ms, against ~630 ms when tier-up comes back after
 * binaryen is loaded); the plugin and Extism's kernel run baseline code too,
 * which one call does not feel. A host that serves calls never does this.
 */
export function baselineProcess(): void {
  if (isDeno || baselineAlready) return;
  setFlagsFromString("--liftoff-only");
  baselineAlready = true;
}
