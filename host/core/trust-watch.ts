/**
 * Live trust for a running host: when the trust store changes (watched,
 * periodically checked, or reloaded on SIGHUP), every loaded plugin none of
 * whose signers is still trusted is stopped (unloaded) with a
 * `plugin.stopped` event, reason `key_revoked` (or `key_expired` when a
 * signer's expiry passes while the host runs, checked on the same period,
 * whether or not the directory changed). Installs on this runtime
 * refresh the store first, so an upload right after a revocation is checked
 * against it. Plugins that required a stopped plugin are stopped after it
 * (reason `dependency_stopped`).
 * @module
 */
import { dependenciesOf, unmetDependencies } from "../deps/mod.ts";
import type { LiveTrustStore, TrustChange } from "../trust/live.ts";
import type { PluginRuntime } from "./runtime.ts";

const live = new WeakMap<PluginRuntime, LiveTrustStore>();

/** The live trust store `watchTrust` attached to `runtime`, if any. */
export function liveTrustOf(runtime: PluginRuntime): LiveTrustStore | undefined {
  return live.get(runtime);
}

/** Options of `watchTrust`. */
export interface TrustWatchOptions {
  /** Period of the directory check in ms (default 1000). */
  intervalMs?: number;
  /** Called after plugins were stopped (e.g. to log). */
  onStopped?(stopped: { id: string; keyIds: string[] }[]): void;
}

/**
 * Watches `trust` (the store `runtime` verifies with) and stops plugins whose
 * signers lost trust. Returns a function that stops watching.
 */
export function watchTrust(
  runtime: PluginRuntime,
  trust: LiveTrustStore,
  options: TrustWatchOptions = {},
): () => void {
  live.set(runtime, trust);
  trust.watch({
    ...(options.intervalMs !== undefined ? { intervalMs: options.intervalMs } : {}),
    onChange: async (change) => {
      const stopped = await stopUntrusted(runtime, trust, change);
      if (stopped.length > 0) options.onStopped?.(stopped);
    },
    onError(error) {
      void runtime.store.events.append({
        type: "host.trust_reload_failed",
        level: "error",
        source: "host",
        payload: { path: trust.path, error: error.message },
      }).catch(() => {});
    },
  });
  // Expiry is time, not a change on disk: look at the loaded plugins' signers on the same period.
  // One sweep at a time: an unload slower than the period must not stop (and report) a plugin twice.
  let sweeping = false;
  const expiry = setInterval(() => {
    if (sweeping) return;
    const expired = runtime.list().filter((info) =>
      !info.unsigned && info.signers.length > 0 &&
      !info.signers.some((s) => trust.trusts(s.keyId))
    ).flatMap((info) => info.signers.map((s) => s.keyId));
    if (expired.length === 0) return;
    sweeping = true;
    void stopUntrusted(
      runtime,
      trust,
      { untrusted: [...new Set(expired)], trusted: [] },
    )
      .then((stopped) => {
        if (stopped.length > 0) options.onStopped?.(stopped);
      })
      .finally(() => {
        sweeping = false;
      });
  }, options.intervalMs ?? 1000);
  (expiry as { unref?: () => void }).unref?.();
  void runtime.store.events.append({
    type: "host.trust_watching",
    source: "host",
    payload: { path: trust.path, keys: trust.keys.size, revoked: trust.revoked.size },
  }).catch(() => {});
  return () => {
    clearInterval(expiry);
    trust.close();
    live.delete(runtime);
  };
}

/** Unloads every signed plugin with no signer trusted now; returns them. */
export async function stopUntrusted(
  runtime: PluginRuntime,
  trust: LiveTrustStore,
  change: TrustChange,
): Promise<{ id: string; keyIds: string[] }[]> {
  const stopped: { id: string; keyIds: string[] }[] = [];
  for (const info of runtime.list()) {
    // Dev-mode plugins (unsigned or untrusted signers) were never trusted by key; they stay.
    if (info.unsigned || info.signers.length === 0) continue;
    const keyIds = info.signers.map((s) => s.keyId);
    if (keyIds.some((id) => trust.trusts(id))) continue;
    if (runtime.get(info.id)?.digest !== info.digest) continue; // replaced meanwhile
    // Its signer is no longer trusted: none of its code runs again, not even onShutdown.
    await runtime.unload(info.id, { trusted: false }).catch(() => {});
    stopped.push({ id: info.id, keyIds });
    void runtime.store.events.append({
      type: "plugin.stopped",
      level: "warn",
      source: "host",
      pluginId: info.id,
      payload: {
        // Revoked or removed: key_revoked; still listed but past its expiry: key_expired.
        reason: keyIds.some((id) => trust.revoked.has(id) || !trust.keys.has(id))
          ? "key_revoked"
          : "key_expired",
        version: info.version,
        digest: info.digest,
        keyIds,
        revoked: keyIds.filter((id) => trust.revoked.has(id)),
        untrusted: change.untrusted,
      },
    }).catch(() => {});
  }
  // Calls still running in sandboxes replaced or unloaded before the change (an upgrade's old
  // version, a config restart's old pool) end too: their code must not run on either.
  await runtime.endRetiring((signers) => !signers.some((s) => trust.trusts(s.keyId)));
  if (stopped.length > 0) await stopDependents(runtime, stopped.map((s) => s.id));
  return stopped;
}

/**
 * Stops the loaded plugins that required one of `gone` (and, in turn, their
 * dependents): a plugin is not active without its required dependencies.
 * Each is a `plugin.stopped` event with reason `dependency_stopped`.
 */
async function stopDependents(runtime: PluginRuntime, gone: string[]): Promise<void> {
  const missing = new Set(gone);
  for (let changed = true; changed;) {
    changed = false;
    const present = new Map(runtime.list().map((p) => [p.id, p.version]));
    for (const info of runtime.list()) {
      const unmet = unmetDependencies(dependenciesOf(info.manifest), present)
        .filter((u) => missing.has(u.id));
      if (unmet.length === 0) continue;
      await runtime.unload(info.id).catch(() => {});
      missing.add(info.id);
      changed = true;
      void runtime.store.events.append({
        type: "plugin.stopped",
        level: "warn",
        source: "host",
        pluginId: info.id,
        payload: {
          reason: "dependency_stopped",
          version: info.version,
          digest: info.digest,
          dependencies: unmet.map((u) => u.id),
        },
      }).catch(() => {});
      break;
    }
  }
}
