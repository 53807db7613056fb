/**
 * Ending runs a host gives up on while it stops (graceful shutdown past its
 * grace period): the store marks each `interrupted` with a `run.interrupted`
 * event, the same path it takes on start for runs of a process that died.
 * @module
 */
import type { Store } from "../store/mod.ts";

/** Marks these runs interrupted if still `running`; returns the ids it marked. */
export async function interruptRuns(store: Store, runIds: readonly string[]): Promise<string[]> {
  return await store.interruptRuns(runIds);
}
