/**
 * Serving on Deno: `Deno.serve`. Typed here by the little of it we use, so the
 * module type-checks under Node's types too.
 * @module
 */
import { HostError } from "../errors.ts";
import type { Listener, ListenOptions } from "./serve-types.ts";

interface DenoServer {
  finished: Promise<void>;
  shutdown(): Promise<void>;
}

interface DenoServe {
  serve(
    options: {
      hostname: string;
      port: number;
      signal?: AbortSignal;
      onListen?: (addr: { hostname: string; port: number }) => void;
    },
    handler: (request: Request) => Response | Promise<Response>,
  ): DenoServer;
}

/** Listens with Deno.serve; rejects with a `network_error` HostError when the bind fails. */
export function listenDeno(options: ListenOptions): Promise<Listener> {
  const deno = (globalThis as { Deno?: DenoServe }).Deno;
  if (!deno) throw new HostError("host_error", "listenDeno runs only on Deno");
  return new Promise((resolve, reject) => {
    const abort = new AbortController();
    try {
      const server = deno.serve({
        hostname: options.hostname,
        port: options.port,
        signal: abort.signal,
        onListen: (addr) =>
          resolve({
            hostname: options.hostname,
            port: addr.port,
            async close(graceMs) {
              const timer = setTimeout(() => abort.abort(), graceMs);
              await server.shutdown().catch(() => {});
              clearTimeout(timer);
            },
          }),
      }, options.fetch);
    } catch (error) {
      reject(
        new HostError(
          "network_error",
          `Cannot listen on ${options.hostname}:${options.port}: ${
            error instanceof Error ? error.message : error
          }`,
          { cause: error },
        ),
      );
    }
  });
}
