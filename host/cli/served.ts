/**
 * What the last server over a database loaded at start, read from its
 * `server.started` event: plugins from `--plugins DIR` have no row in the
 * plugins table, so without this `host plugins` would not show them.
 * @module
 */
import { z } from "zod";
import type { Store } from "../store/mod.ts";

const StartedPayload = z.object({
  url: z.string(),
  plugins: z.array(z.object({
    id: z.string(),
    version: z.string(),
    digest: z.string(),
    source: z.string(),
  })),
});

/** The plugins of the server running over the store, if one is (its last start had no stop). */
export interface Served {
  url: string;
  startedAt: string;
  plugins: z.infer<typeof StartedPayload>["plugins"];
}

/**
 * The latest `server.started` not followed by a `server.stopped`. A server
 * killed without a shutdown leaves its start as the latest: the listing says
 * when that server started, so a stale entry can be recognised.
 */
export async function servedPlugins(store: Store): Promise<Served | undefined> {
  const latest = async (type: string) =>
    (await store.events.query({ type, limit: 1, tail: true })).events.at(-1);
  const [started, stopped] = await Promise.all([
    latest("server.started"),
    latest("server.stopped"),
  ]);
  if (started === undefined) return undefined;
  if (stopped !== undefined && stopped.id > started.id) return undefined;
  const payload = StartedPayload.safeParse(started.payload);
  if (!payload.success) return undefined;
  return {
    url: payload.data.url,
    startedAt: started.ts,
    plugins: payload.data.plugins,
  };
}
