/**
 * Publish's load check: the module is compiled and instantiated in the
 * sandbox with the host functions its manifest would get, then closed. No
 * export is called (calls go through `invoke`; a probe is not a run).
 * @module
 */
import { capabilityProvider } from "../capabilities/mod.ts";
import type { HostFunctionProvider } from "../capabilities/types.ts";
import { HostError } from "../errors.ts";
import type { Manifest } from "../manifest/schema.ts";
import { loadPlugin } from "../sandbox/mod.ts";
import type { Store } from "../store/mod.ts";

/** Loads `wasm` in the sandbox and closes it; throws `load_error` when it does not load. */
export type Probe = (wasm: Uint8Array, manifest: Manifest) => Promise<void>;

/** A probe over `store` with `hostFunctions` (default: the ABI's). */
export function sandboxProbe(store: Store, hostFunctions?: HostFunctionProvider): Probe {
  const provider = hostFunctions ?? capabilityProvider();
  return async (wasm, manifest) => {
    const functions = provider(manifest, {
      store,
      invoke: () =>
        Promise.reject(new HostError("invoke_refused", "A registry load check runs no calls")),
    });
    let sandbox;
    try {
      sandbox = await loadPlugin(wasm, {
        hostFunctions: functions.functions,
        wasi: manifest.permissions?.wasi ?? false,
        mode: functions.needsWorker || (functions.allowedHosts?.length ?? 0) > 0
          ? "worker"
          : "main",
        ...(manifest.limits?.memoryMaxPages
          ? { limits: { memoryPages: manifest.limits.memoryMaxPages } }
          : {}),
      });
    } catch (error) {
      throw new HostError(
        "load_error",
        `The plugin does not load in the sandbox: ${
          error instanceof Error ? error.message : String(error)
        }`,
      );
    }
    await sandbox.close();
  };
}
