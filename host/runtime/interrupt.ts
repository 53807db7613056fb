/**
 * Ending runs a host gives up on while it stops (graceful shutdown past its
 * grace period): each is marked `interrupted` with a `run.interrupted` event,
 * as the store does on start for runs of a process that died. A late finish
 * of such a run is then ignored (finish only updates `running` runs).
 * @module
 */
import type { Store } from "../store/mod.ts";

const MESSAGE = "The host shut down before the run ended";

/** Marks these runs interrupted if still `running`; returns the ids it marked. */
export async function interruptRuns(store: Store, runIds: readonly string[]): Promise<string[]> {
  if (runIds.length === 0) return [];
  // Their `running` rows may still sit in the writer's queue.
  await store.flush();
  const now = Date.now();
  const marked: string[] = [];
  for (const id of runIds) {
    const result = await store.client.execute({
      sql: "UPDATE run_records SET status = 'interrupted', error_class = 'interrupted', " +
        "error_message = ?, ended_at = ?, duration_ms = ? - started_at " +
        "WHERE id = ? AND status = 'running' RETURNING plugin_id",
      args: [MESSAGE, now, now, id],
    });
    const row = result.rows[0];
    if (row === undefined) continue;
    marked.push(id);
    void store.events.append({
      type: "run.interrupted",
      level: "warn",
      pluginId: String(row[0]),
      runId: id,
      payload: { message: MESSAGE },
    });
  }
  await store.flush();
  return marked;
}
