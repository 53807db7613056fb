/**
 * Opens everything a running host needs from its data paths: the store, the
 * trust store and a runtime with the installed plugins (and optionally every
 * plugin file in a directory) loaded. `createHost` (host/host.ts) builds the
 * public Host on it; tests use it directly.
 * @module
 */
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { capabilityProvider } from "../capabilities/mod.ts";
import type { HostPaths } from "../config/paths.ts";
import type { Limits } from "../sandbox/mod.ts";
import { openStore, type Store } from "../store/mod.ts";
import { loadTrustStore, type TrustStore } from "../trust/mod.ts";
import { loadFolder } from "./folder-load.ts";
import { loadInstalled, pinConflict } from "./install.ts";
import { nestedPinConflict } from "./namespace-pins.ts";
import { createRuntime, type PluginRuntime } from "./runtime.ts";
import type { HostFunctionProvider, PluginInfo, RuntimeOptions } from "./types.ts";

/** Options of `openHost`. */
export interface OpenHostOptions {
  paths: HostPaths;
  /** Also load every `*.wasm` in these directories (e.g. `--plugins DIR`). */
  pluginDirs?: string[];
  /** Load the plugins installed in the store (default true). */
  installed?: boolean;
  allowUnsigned?: boolean;
  policy?: Limits;
  /** Limits for plugins whose manifest does not ask (default: the sandbox's defaults). */
  defaults?: Partial<Limits>;
  /** Keep compiled modules in `paths.cache` (default true). */
  cache?: boolean;
  /**
   * Instrument modules on the instrumenter's threads (default true), keeping
   * the event loop free while binaryen works (host/sandbox/instrument-pool.ts);
   * false instruments on the calling thread, which a one-shot command that
   * loads one plugin finishes sooner (no thread to start).
   */
  instrumentThreads?: boolean;
  /** Host functions per plugin (default: host/capabilities' provider, secrets from the environment). */
  hostFunctions?: HostFunctionProvider;
  /** libSQL auth token for a `libsql://` URL. */
  authToken?: string | undefined;
  /** The operator policy's load-time check (host/policy `admitter`). */
  admit?: RuntimeOptions["admit"];
  /** Hook timeouts and circuit breakers per plugin (host/policy `lifecycleSettings`). */
  lifecycle?: RuntimeOptions["lifecycle"];
  /** The trust store to verify with (default: loaded once from `paths.trust`); `host serve` passes a live one. */
  trust?: TrustStore;
  /** Plugin config: this host's environment (its overlay applies) and where PLUGHOST_CONFIG__ variables come from. */
  config?: RuntimeOptions["config"];
}

/** An open host: close it to unload plugins and drain the store. */
export interface OpenHost {
  store: Store;
  runtime: PluginRuntime;
  loaded: PluginInfo[];
  /** Plugins that failed verification or loading, with the reason; the rest started. */
  failed: { source: string; error: string }[];
  /** `graceMs` bounds the plugins' onShutdown hooks (a server's shutdown grace). */
  close(options?: { graceMs?: number }): Promise<void>;
}

/** Opens the store and trust store at `paths` and loads plugins. */
export async function openHost(options: OpenHostOptions): Promise<OpenHost> {
  const store = await openStore({ url: options.paths.db, authToken: options.authToken });
  try {
    const trust = options.trust ?? await loadTrustStore(options.paths.trust);
    const runtime = createRuntime({
      store,
      trust,
      ...(options.policy ? { policy: options.policy } : {}),
      ...(options.defaults ? { defaults: options.defaults } : {}),
      ...(options.allowUnsigned ? { allowUnsigned: true } : {}),
      ...(options.admit ? { admit: options.admit } : {}),
      ...(options.lifecycle ? { lifecycle: options.lifecycle } : {}),
      ...(options.config ? { config: options.config } : {}),
      // Every plugin gets the ABI's host functions, scoped to its grants (host/capabilities).
      hostFunctions: options.hostFunctions ?? capabilityProvider(),
      ...(options.cache ?? true ? { cacheDir: options.paths.cache } : {}),
      ...(options.instrumentThreads === false ? { instrumentThreads: false } : {}),
    });
    const loaded: PluginInfo[] = [];
    const failed: { source: string; error: string }[] = [];
    if (options.installed ?? true) {
      const result = await loadInstalled(runtime, options.paths.plugins);
      loaded.push(...result.loaded);
      failed.push(...result.failed.map((f) => ({ source: `installed:${f.id}`, error: f.error })));
    }
    for (const dir of options.pluginDirs ?? []) {
      // A file served from a folder obeys the id's signer pin like an upload: it must not
      // shadow an installed (or uninstalled) plugin's KV and grants under another signer's key.
      const outcomes = await loadFolder(runtime, await wasmFiles(dir), {
        accept: async (candidate, signers) => {
          const pinned = await store.plugins.pin(candidate.id) ?? [];
          const keyIds = signers.map((s) => s.keyId);
          if (pinned.length > 0 && !keyIds.some((k) => pinned.includes(k))) {
            throw pinConflict(candidate.id, pinned, keyIds);
          }
          // Nor write into, or hold, another signer's event namespace (namespace-pins.ts).
          const nested = await nestedPinConflict(
            store.plugins,
            candidate.id,
            pinned.length > 0 ? pinned : keyIds,
          );
          if (nested) throw nested;
        },
      });
      for (const outcome of outcomes) {
        if ("info" in outcome) {
          loaded.push(outcome.info);
          continue;
        }
        const message = outcome.error.message;
        failed.push({ source: outcome.file, error: message });
        void store.events.append({
          type: "plugin.load_failed",
          level: "error",
          payload: { source: outcome.file, error: message },
        });
      }
    }
    return {
      store,
      runtime,
      loaded,
      failed,
      async close(closeOptions) {
        await runtime.close(closeOptions);
        await store.close();
      },
    };
  } catch (error) {
    await store.close();
    throw error;
  }
}

/** The `*.wasm` files of a directory (not `*.raw.wasm` build intermediates), sorted. */
async function wasmFiles(dir: string): Promise<string[]> {
  const names = await readdir(dir);
  return names.filter((n) => n.endsWith(".wasm") && !n.endsWith(".raw.wasm")).sort().map((n) =>
    join(dir, n)
  );
}
