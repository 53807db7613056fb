/**
 * Keeps the executable's stderr for the host's own messages: Node prints an
 * ExperimentalWarning for features we depend on knowingly (WASI for Extism,
 * the vm loader constant for our own start), once per run.
 * @module
 */
import process from "node:process";

const KNOWN = [
  "WASI is an experimental feature",
  "vm.USE_MAIN_CONTEXT_DEFAULT_LOADER is an experimental feature",
];

/** Drops the known ExperimentalWarnings; every other warning still prints. */
export function quietExperimentalWarnings(): void {
  const emit = process.emitWarning.bind(process) as (...args: unknown[]) => void;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    const text = typeof warning === "string" ? warning : warning.message;
    if (!KNOWN.some((known) => text.includes(known))) emit(warning, ...rest);
  }) as typeof process.emitWarning;
}
