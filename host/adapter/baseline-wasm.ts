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
import { setFlagsFromString } from "node:v8";
import { isDeno } from "./worker-args.ts";

/** Loads under way with the flag set; the flag goes back when the last one settles. */
let open = 0;
/** Settles when the flag goes back; null while it is not set. */
let settled: { promise: Promise<void>; resolve: () => void } | null = null;

/** `load()` with V8 compiling WebAssembly by its baseline compiler only until it settles. */
export function withBaselineWasm<T>(load: () => Promise<T>): Promise<T> {
  if (isDeno) return load();
  if (open++ === 0) {
    setFlagsFromString("--liftoff-only");
    let resolve!: () => void;
    settled = { promise: new Promise<void>((r) => (resolve = r)), resolve };
  }
  return (async () => {
    try {
      return await load();
    } finally {
      if (--open === 0) {
        setFlagsFromString("--no-liftoff-only");
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
