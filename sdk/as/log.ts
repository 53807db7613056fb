/**
 * Logging through Extism's log functions; the host writes each message to
 * its event log at the same level (rate-limited per run).
 * @module
 */

import {
  log_debug,
  log_error,
  log_info,
  log_warn,
} from "@extism/as-pdk/lib/env";
import { storeBytes } from "./io";
import { utf8Encode } from "./json";

/** The `log` functions. */
export class log {
  /** Logs at info level. */
  static info(message: string): void {
    // The kernel frees the block once it has logged it.
    log_info(storeBytes(utf8Encode(message)));
  }
  /** Logs at warn level. */
  static warn(message: string): void {
    log_warn(storeBytes(utf8Encode(message)));
  }
  /** Logs at error level. */
  static error(message: string): void {
    log_error(storeBytes(utf8Encode(message)));
  }
  /** Logs at debug level. */
  static debug(message: string): void {
    log_debug(storeBytes(utf8Encode(message)));
  }
}
