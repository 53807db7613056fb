/**
 * What every runtime's HTTP listener offers the server: listen with a fetch
 * handler, report the bound address, stop gracefully.
 * @module
 */

/** What the listener knows of a request's peer. */
export interface PeerInfo {
  /** The connection's remote IP address, when the runtime reports it. */
  remoteAddress?: string | undefined;
}

/** Where and what to serve. */
export interface ListenOptions {
  fetch: (request: Request, peer: PeerInfo) => Response | Promise<Response>;
  /** Interface to bind (the host binds 127.0.0.1 unless told otherwise). */
  hostname: string;
  /** Port; 0 picks a free one. */
  port: number;
  /**
   * Longest a request may take to arrive, headers and body, in ms: a client
   * that sends a body slowly or stops halfway is cut off (Node; on Deno the
   * runtime has no such limit). Default 30,000.
   */
  requestTimeoutMs?: number;
}

/** A listening server. */
export interface Listener {
  hostname: string;
  /** The bound port (the real one when 0 was asked). */
  port: number;
  /**
   * Stops accepting connections and resolves when open requests have ended,
   * or after `graceMs`, when remaining connections are cut.
   */
  close(graceMs: number): Promise<void>;
}

/**
 * The message for a listen that failed: with the fix when the port is taken
 * (Node's EADDRINUSE, Deno's AddrInUse), which is the common case on a
 * developer's machine (another plughost, or a second `npm start`).
 */
export function listenFailure(hostname: string, port: number, error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown } | null)?.code;
  const taken = code === "EADDRINUSE" || (error instanceof Error && error.name === "AddrInUse");
  return `Cannot listen on ${hostname}:${port}: ${message}` +
    (taken
      ? `. The port is taken (another server, maybe another plughost): stop it, or pick another ` +
        `port with --port ${port === 0 ? 8788 : port + 1} (npm start: PORT=${
          port === 0 ? 8788 : port + 1
        })`
      : "");
}
