/**
 * Evidence triggers (docs/replay.md, "Evidence bundles"): the operator names
 * error classes (or `*`), and every run failing with one of them gets a
 * signed evidence bundle written to a folder, announced by an
 * `evidence.written` event (`evidence.failed` when it could not be written).
 * Replays never trigger (they are checks of runs already covered).
 * @module
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Store } from "../store/mod.ts";
import type { SigningKey, TrustStore } from "../trust/mod.ts";
import { exportEvidence } from "./evidence.ts";
import type { RunEnded } from "./invoke.ts";
import type { PluginInfo } from "./types.ts";

/** Where and when bundles are written automatically. */
export interface EvidenceTriggerOptions {
  /** The folder bundles go to, as `<run id>.evidence`. */
  dir: string;
  /** Error classes whose failed runs get a bundle; `*` for any. */
  onRunFailed: readonly string[];
}

/** What a trigger needs of its host. */
export interface EvidenceTriggerDeps {
  store: Store;
  trust: TrustStore;
  key: SigningKey;
  get(pluginId: string): PluginInfo | undefined;
  pluginsDir?: string | undefined;
}

/**
 * A listener for `PluginRuntime.onRunEnded`, and `settled()` that resolves
 * once every bundle started so far is written (a host waits for it on close).
 */
export function evidenceTrigger(
  deps: EvidenceTriggerDeps,
  options: EvidenceTriggerOptions,
): { listener: (run: RunEnded) => void; settled(): Promise<void> } {
  const classes = new Set(options.onRunFailed);
  const pending = new Set<Promise<void>>();
  const write = async (run: RunEnded, errorClass: string): Promise<void> => {
    await run.written;
    await deps.store.flush();
    const file = join(options.dir, `${run.runId}.evidence`);
    try {
      const bytes = await exportEvidence(deps, { run: run.runId }, deps.key);
      await mkdir(options.dir, { recursive: true });
      await writeFile(file, bytes);
      await deps.store.events.append({
        type: "evidence.written",
        level: "info",
        source: "host",
        pluginId: run.pluginId,
        runId: run.runId,
        payload: {
          file,
          bytes: bytes.length,
          keyId: deps.key.keyId,
          trigger: { kind: "run.failed", errorClass },
        },
      });
    } catch (error) {
      await deps.store.events.append({
        type: "evidence.failed",
        level: "error",
        source: "host",
        pluginId: run.pluginId,
        runId: run.runId,
        payload: { file, message: error instanceof Error ? error.message : String(error) },
      }).catch(() => {});
    }
  };
  return {
    listener(run) {
      if (run.ok || run.trigger === "replay" || run.errorClass === null) return;
      if (!classes.has("*") && !classes.has(run.errorClass)) return;
      const job = write(run, run.errorClass).catch(() => {});
      pending.add(job);
      void job.finally(() => pending.delete(job));
    },
    async settled() {
      while (pending.size > 0) await Promise.all([...pending]);
    },
  };
}
