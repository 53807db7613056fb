/**
 * Picks the HTTP listener of the runtime we run on: Deno.serve on Deno,
 * @hono/node-server on Node. The app is the same on both.
 * @module
 */
import type { Listener, ListenOptions } from "./serve-types.ts";

export type { Listener, ListenOptions, PeerInfo } from "./serve-types.ts";

/** Serves `options.fetch` on the current runtime. */
export async function listen(options: ListenOptions): Promise<Listener> {
  if ("Deno" in globalThis) return (await import("./serve-deno.ts")).listenDeno(options);
  return (await import("./serve-node.ts")).listenNode(options);
}
