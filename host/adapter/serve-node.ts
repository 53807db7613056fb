/**
 * Serving on Node: `@hono/node-server` over node:http.
 * @module
 */
import { serve } from "@hono/node-server";
import type { Server } from "node:http";
import { HostError } from "../errors.ts";
import { type Listener, listenFailure, type ListenOptions } from "./serve-types.ts";

/** Listens with node:http; rejects with a `network_error` HostError when the bind fails. */
export function listenNode(options: ListenOptions): Promise<Listener> {
  const timeout = options.requestTimeoutMs ?? 30_000;
  return new Promise((resolve, reject) => {
    const server = serve(
      {
        fetch: (request: Request, env: { incoming?: { socket?: { remoteAddress?: string } } }) =>
          options.fetch(request, { remoteAddress: env.incoming?.socket?.remoteAddress }),
        hostname: options.hostname,
        port: options.port,
        serverOptions: {
          requestTimeout: timeout,
          headersTimeout: Math.min(timeout, 20_000),
          // How often Node checks those timeouts (default 30 s, longer than a short limit).
          connectionsCheckingInterval: Math.min(1000, timeout),
        },
      },
      (info) => {
        server.off("error", onError);
        resolve({
          hostname: options.hostname,
          port: info.port,
          close: (graceMs) => closeNode(server as Server, graceMs),
        });
      },
    );
    const onError = (error: Error) =>
      reject(
        new HostError(
          "network_error",
          listenFailure(options.hostname, options.port, error),
          { cause: error },
        ),
      );
    server.once("error", onError);
  });
}

function closeNode(server: Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => server.closeAllConnections(), graceMs);
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
    server.closeIdleConnections();
  });
}
