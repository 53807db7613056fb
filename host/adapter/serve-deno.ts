/**
 * Serving on Deno: `Deno.serve`. Typed here by the little of it we use, so the
 * module type-checks under Node's types too.
 * @module
 */
import { HostError } from "../errors.ts";
import { type Listener, listenFailure, type ListenOptions } from "./serve-types.ts";

interface DenoServer {
  finished: Promise<void>;
  shutdown(): Promise<void>;
}

interface DenoServeInfo {
  remoteAddr?: { hostname?: string };
}

interface DenoServe {
  serve(
    options: {
      hostname: string;
      port: number;
      onListen?: (addr: { hostname: string; port: number }) => void;
    },
    handler: (request: Request, info: DenoServeInfo) => Response | Promise<Response>,
  ): DenoServer;
}

/** Listens with Deno.serve; rejects with a `network_error` HostError when the bind fails. */
export function listenDeno(options: ListenOptions): Promise<Listener> {
  const deno = (globalThis as { Deno?: DenoServe }).Deno;
  if (!deno) throw new HostError("host_error", "listenDeno runs only on Deno");
  return new Promise((resolve, reject) => {
    try {
      const server = deno.serve(
        {
          hostname: options.hostname,
          port: options.port,
          onListen: (addr) =>
            resolve({
              hostname: options.hostname,
              port: addr.port,
              close: (graceMs) => closeDeno(server, graceMs),
            }),
        },
        (request, info) => options.fetch(request, { remoteAddress: info?.remoteAddr?.hostname }),
      );
    } catch (error) {
      reject(
        new HostError(
          "network_error",
          listenFailure(options.hostname, options.port, error),
          { cause: error },
        ),
      );
    }
  });
}

/**
 * Stops accepting and waits for open requests, at most `graceMs`. No abort
 * signal is used to cut what is left: aborting a Deno.serve signal while its
 * `shutdown()` is under way throws `BadResource` from inside Deno's listener,
 * uncaught, and the process dies before the caller can mark unfinished runs
 * interrupted. The caller ends what is left (it closes the runtime, so those
 * handlers answer and `shutdown()` completes on its own).
 */
async function closeDeno(server: DenoServer, graceMs: number): Promise<void> {
  const done = server.shutdown().catch(() => {});
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([done, new Promise<void>((r) => (timer = setTimeout(r, graceMs)))]);
  clearTimeout(timer);
}
