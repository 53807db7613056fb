/**
 * The abort handler plugins are built with: `asc ... --use abort=<dir>/abort/plughostAbort`
 * (without it the module imports `env.abort`, which Extism does not provide).
 * It logs the message at error level and sets it as the call's Extism error,
 * then the compiler-inserted `unreachable` traps.
 * @module
 */

import { error_set, log_error } from "@extism/as-pdk/lib/env";
import { Memory } from "@extism/as-pdk/lib/pdk";

/** Reports an AssemblyScript abort (failed assertion, bad cast, `abort()`) through Extism. */
export function plughostAbort(
  message: string | null = null,
  fileName: string | null = null,
  line: u32 = 0,
  column: u32 = 0,
): void {
  let text = message === null ? "abort" : message;
  if (fileName !== null) {
    text += " (" + fileName + ":" + line.toString() + ":" + column.toString() +
      ")";
  }
  // Two blocks: the kernel frees a block once it has logged it.
  log_error(Memory.allocateString(text).offset);
  error_set(Memory.allocateString(text).offset);
}
