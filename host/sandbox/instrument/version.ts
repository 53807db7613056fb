/**
 * The instrumenter's version, part of every compiled-module cache key: change
 * it whenever the rewritten bytes for the same input and options can change
 * (the meter, the memory cap, binaryen's version). Binaryen-free, so the
 * cache can be consulted without loading binaryen.
 * @module
 */

/** Bump on any change to what `instrument` emits. */
export const INSTRUMENTER_VERSION = "plughost-instrument/17 binaryen/132.0.0";
