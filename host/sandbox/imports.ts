/**
 * Load-time import check: every import a module asks for must be something
 * the host provides, or the load fails naming it. Done before Extism sees the
 * module, because an unresolvable import kills Node's process in worker mode
 * and hangs `createPlugin` on Deno.
 * @module
 */
import { SandboxAbort } from "./classify.ts";

/** Extism's kernel namespace. */
export const KERNEL_NAMESPACE = "extism:host/env";
/** Extism's namespace for host (user) functions. */
export const USER_NAMESPACE = "extism:host/user";
const WASI_NAMESPACE = "wasi_snapshot_preview1";

/** The whole current kernel ABI, as @extism/extism 2.0.0-rc13 provides it. */
export const KERNEL_FUNCTIONS: ReadonlySet<string> = new Set([
  "alloc",
  "free",
  "length",
  "length_unsafe",
  "load_u8",
  "load_u64",
  "store_u8",
  "store_u64",
  "input_offset",
  "input_length",
  "input_load_u8",
  "input_load_u64",
  "output_set",
  "error_set",
  "error_get",
  "config_get",
  "var_get",
  "var_set",
  "http_request",
  "http_status_code",
  "http_headers",
  "log_trace",
  "log_debug",
  "log_info",
  "log_warn",
  "log_error",
  "get_log_level",
]);

/** What the host will provide to a module. */
export interface ProvidedImports {
  wasi: boolean;
  hostFunctions: ReadonlySet<string>;
}

/** Throws a `load_error` naming the first import the host does not provide. */
export function checkImports(module: WebAssembly.Module, provided: ProvidedImports): void {
  for (const { module: ns, name, kind } of WebAssembly.Module.imports(module)) {
    const what = `'${ns}' '${name}'`;
    if (kind !== "function") {
      throw new SandboxAbort(
        "load_error",
        `The plugin imports ${kind} ${what}; the host provides only functions`,
      );
    }
    if (ns === KERNEL_NAMESPACE) {
      if (KERNEL_FUNCTIONS.has(name)) continue;
      throw new SandboxAbort(
        "load_error",
        `The plugin imports ${what}, which is not part of the Extism kernel this host provides; rebuild it with a compatible PDK`,
      );
    }
    if (ns === USER_NAMESPACE) {
      if (provided.hostFunctions.has(name)) continue;
      throw new SandboxAbort(
        "load_error",
        `The plugin imports the host function ${what}, which this host does not provide (or the plugin was not granted)`,
      );
    }
    if (ns === WASI_NAMESPACE) {
      if (provided.wasi) continue;
      throw new SandboxAbort(
        "load_error",
        `The plugin imports WASI (${what}); run it with WASI enabled (--wasi)`,
      );
    }
    throw new SandboxAbort(
      "load_error",
      `The plugin imports ${what}, which the host does not provide (known namespaces: ${KERNEL_NAMESPACE}, ${USER_NAMESPACE}, ${WASI_NAMESPACE})`,
    );
  }
}
