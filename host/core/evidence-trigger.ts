/**
 * Evidence triggers (docs/replay.md, "Evidence bundles"): bundles written
 * automatically to a folder, each announced by an `evidence.written` event
 * (`evidence.failed` when it could not be written). Two triggers:
 * - a run failing with one of the error classes the operator names (or `*`):
 *   a bundle of that run; replays never trigger (they check runs already covered);
 * - a plugin moving to `suspended` (its circuit breaker opened): a bundle of
 *   the plugin's recent runs, the ones the breaker judged (`suspensionWindow`).
 * @module
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { StateMove } from "../lifecycle/mod.ts";
import type { Store } from "../store/mod.ts";
import type { SigningKey, TrustStore } from "../trust/mod.ts";
import { type EvidenceSelector, exportEvidence } from "./evidence.ts";
import type { RunEnded } from "./invoke.ts";
import type { PluginInfo } from "./types.ts";

/** Where and when bundles are written automatically. */
export interface EvidenceTriggerOptions {
  /** The folder bundles go to. */
  dir: string;
  /** Error classes whose failed runs get a bundle (`<run id>.evidence`); `*` for any. */
  onRunFailed?: readonly string[] | undefined;
  /** A plugin suspended by its circuit breaker gets a bundle of its recent runs. */
  onSuspended?: boolean | undefined;
}

/** What a trigger needs of its host. */
export interface EvidenceTriggerDeps {
  store: Store;
  trust: TrustStore;
  key: SigningKey;
  get(pluginId: string): PluginInfo | undefined;
  pluginsDir?: string | undefined;
}

/** Most runs a suspension bundle holds (the newest). */
export const SUSPENDED_MAX_RUNS = 100;

/** What `evidence.written` says started a bundle. */
type TriggerKind =
  | { kind: "run.failed"; errorClass: string }
  | { kind: "plugin.suspended"; reason: string; since: string; until: string };

/**
 * Listeners for `PluginRuntime.onRunEnded` and `Lifecycles.onMove`, and
 * `settled()` that resolves once every bundle started so far is written (a
 * host waits for it on close).
 */
export function evidenceTrigger(
  deps: EvidenceTriggerDeps,
  options: EvidenceTriggerOptions,
): {
  listener: (run: RunEnded) => void;
  moved: (move: StateMove) => void;
  settled(): Promise<void>;
} {
  const classes = new Set(options.onRunFailed ?? []);
  const pending = new Set<Promise<void>>();
  const track = (job: Promise<void>): void => {
    const quiet = job.catch(() => {});
    pending.add(quiet);
    void quiet.finally(() => pending.delete(quiet));
  };
  const write = async (
    at: { pluginId: string; runId: string | null; file: string },
    selector: () => Promise<{ selector: EvidenceSelector; trigger: TriggerKind }>,
  ): Promise<void> => {
    const file = join(options.dir, at.file);
    try {
      const picked = await selector();
      const bytes = await exportEvidence(deps, picked.selector, deps.key);
      await mkdir(options.dir, { recursive: true });
      await writeFile(file, bytes);
      await deps.store.events.append({
        type: "evidence.written",
        level: "info",
        source: "host",
        pluginId: at.pluginId,
        runId: at.runId,
        payload: { file, bytes: bytes.length, keyId: deps.key.keyId, trigger: picked.trigger },
      });
    } catch (error) {
      await deps.store.events.append({
        type: "evidence.failed",
        level: "error",
        source: "host",
        pluginId: at.pluginId,
        runId: at.runId,
        payload: { file, message: error instanceof Error ? error.message : String(error) },
      }).catch(() => {});
    }
  };
  return {
    listener(run) {
      if (run.ok || run.trigger === "replay" || run.errorClass === null) return;
      const errorClass = run.errorClass;
      if (!classes.has("*") && !classes.has(errorClass)) return;
      track(write(
        { pluginId: run.pluginId, runId: run.runId, file: `${run.runId}.evidence` },
        async () => {
          await run.written;
          await deps.store.flush();
          return { selector: { run: run.runId }, trigger: { kind: "run.failed", errorClass } };
        },
      ));
    },
    moved(move) {
      if (!options.onSuspended || move.to !== "suspended") return;
      const stamp = new Date(move.at).toISOString().replace(/[:.]/g, "-");
      track(write(
        {
          pluginId: move.pluginId,
          runId: null,
          file: `suspended-${move.pluginId.replace(/[^A-Za-z0-9._-]/g, "_")}-${stamp}.evidence`,
        },
        async () => {
          // The run that opened the breaker was queued before the move: flushed here.
          await deps.store.flush();
          const window = await suspensionWindow(deps.store, move);
          return {
            selector: { plugin: move.pluginId, ...window },
            trigger: {
              kind: "plugin.suspended",
              reason: move.reason,
              since: new Date(window.since).toISOString(),
              until: new Date(window.until).toISOString(),
            },
          };
        },
      ));
    },
    async settled() {
      while (pending.size > 0) await Promise.all([...pending]);
    },
  };
}

/**
 * The runs a suspension bundle holds, as a time window [since, until): the
 * plugin's runs started in the breaker's window (`windowMs`) before the
 * suspension, reaching further back when needed to hold its last
 * `failures` runs (a streak of consecutive failures may be older than the
 * window), at most the newest `SUSPENDED_MAX_RUNS`; up to the time the bundle
 * is written (a probe after a short cool-down is then included too).
 */
export async function suspensionWindow(
  store: Store,
  move: Pick<StateMove, "pluginId" | "at" | "breaker">,
): Promise<{ since: number; until: number }> {
  const windowStart = move.at - move.breaker.windowMs;
  let since = move.at;
  let picked = 0;
  let before: string | undefined;
  pages: for (;;) {
    const page = await store.runs.list({ pluginId: move.pluginId, before, limit: 100 });
    for (const run of page.runs) {
      const started = Date.parse(run.startedAt);
      if (started > move.at) continue; // after the suspension: in the window by `until`
      if (picked >= SUSPENDED_MAX_RUNS) break pages;
      if (picked >= move.breaker.failures && started < windowStart) break pages;
      since = Math.min(since, started);
      picked++;
    }
    if (page.cursor === null) break;
    before = page.cursor;
  }
  return { since, until: Math.max(Date.now(), move.at) + 1 };
}
