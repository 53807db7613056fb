/**
 * One run as `GET /v1/runs/{id}` and `host runs show` present it: the
 * RunRecord with its determinism (mode, seed, entropy sources) from its
 * replay record (docs/replay.md). Lists leave it out (one query per page).
 * @module
 */
import type { ReplayRecord, RunRecord, Store } from "../store/mod.ts";

/** The run with `determinism` (null when it has no replay record), or undefined. */
export async function runWithDeterminism(
  store: Pick<Store, "runs" | "replay">,
  runId: string,
): Promise<RunRecord | undefined> {
  const run = await store.runs.get(runId);
  if (run === undefined) return undefined;
  // While it runs there is no replay record yet: no read needed.
  const replay = run.status === "running" ? undefined : await store.replay.get(runId);
  return { ...run, determinism: replay === undefined ? null : determinismOf(replay) };
}

/** What of a replay record a run shows: never the config snapshot nor the tape. */
function determinismOf(replay: ReplayRecord): NonNullable<RunRecord["determinism"]> {
  return {
    mode: replay.mode,
    seed: replay.seed,
    entropy: replay.entropy,
    unreplayable: replay.unreplayable,
  };
}
