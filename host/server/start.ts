/**
 * A running HTTP server over a `Host` (what `createHost` returns), with
 * graceful shutdown: stop accepting, end event streams, let calls in flight
 * finish within the grace period, mark the rest interrupted, then close the
 * host (draining the store's writer). Used by `host serve`, tests and the benchmark.
 * @module
 */
import { listen, type Listener } from "../adapter/serve.ts";
import { interruptRuns } from "../core/mod.ts";
import type { Host } from "../host.ts";
import type { RegistryService } from "../registry/service.ts";
import { createApp } from "./app.ts";
import { AllowedHostName, type AllowedHosts, hostCheckFor } from "./host-check.ts";
import { HostError } from "../errors.ts";
import type { ServerApp, ServerDeps, ServerOptions } from "./context.ts";

/** Options of `startServer`. */
export interface StartOptions {
  /**
   * The host to serve, the server's one source of store, plugins, metrics and
   * paths (uploads go to `host.paths.plugins`). The server closes it last.
   */
  host: Host;
  hostname?: string;
  /**
   * Host header names accepted besides loopback names and `hostname` itself
   * (`.example.com`: it and its subdomains), or `"any"` to answer every Host.
   * Default: none, so a loopback server answers only loopback names and any
   * other server every Host (docs/http-api.md#host-header-check).
   */
  allowedHosts?: AllowedHosts;
  /** Default 8787; 0 picks a free port. */
  port?: number;
  options?: Partial<ServerOptions>;
  /** Where the server writes operator log lines (uploads); default: nowhere. */
  log?: (line: string) => void;
  /** Serve a plugin registry under /v1/registry/. */
  registry?: RegistryService;
  /** How long shutdown waits for calls in flight, in ms (default 10000). */
  graceMs?: number;
  /** The database secrets key's text, for the secrets routes (default: none: setting one answers 409). */
  secretsKey?: () => string | undefined;
  /** Longest a request may take to arrive (slow or stalled bodies), in ms (default 30000; Node). */
  requestTimeoutMs?: number;
}

/** A listening server. `close` is idempotent. */
export interface RunningServer {
  url: string;
  port: number;
  app: ServerApp;
  deps: ServerDeps;
  /** Shuts down gracefully; resolves with the run ids it had to mark interrupted. */
  close(): Promise<{ interrupted: string[] }>;
}

/** Builds the app and listens. */
export async function startServer(options: StartOptions): Promise<RunningServer> {
  const hostname = options.hostname ?? "127.0.0.1";
  const hostCheck = hostCheckFor(hostname, allowedHostsOf(options.allowedHosts));
  const stopping = new AbortController();
  const { app, deps } = createApp({
    host: options.host,
    options: options.options,
    ...(options.log ? { log: options.log } : {}),
    ...(options.registry ? { registry: options.registry } : {}),
    ...(options.secretsKey ? { secretsKey: options.secretsKey } : {}),
    ...(hostCheck ? { hostCheck } : {}),
    shutdown: stopping.signal,
    ready: () => !stopping.signal.aborted,
  });
  const listener: Listener = await listen({
    // The peer address goes to the app as a binding (auth counts failed token checks by it).
    fetch: (request, peer) => app.fetch(request, { remoteAddress: peer.remoteAddress }),
    hostname,
    port: options.port ?? 8787,
    ...(options.requestTimeoutMs === undefined
      ? {}
      : { requestTimeoutMs: options.requestTimeoutMs }),
  });
  const graceMs = options.graceMs ?? 10_000;
  let closing: Promise<{ interrupted: string[] }> | undefined;
  const urlHost = hostname.includes(":") ? `[${hostname}]` : hostname;
  const url = `http://${urlHost}:${listener.port}`;
  // What this server loaded (also from --plugins, which the plugins table does not hold), so
  // `host plugins` over the same database can list what a running server serves.
  void deps.store.events.append({
    type: "server.started",
    payload: {
      url,
      plugins: deps.runtime.list().map((p) => ({
        id: p.id,
        version: p.version,
        digest: p.digest,
        source: p.source,
      })),
    },
  }).catch(() => {});
  return {
    url,
    port: listener.port,
    app,
    deps,
    close() {
      closing ??= (async () => {
        stopping.abort();
        const [, drained] = await Promise.all([
          listener.close(graceMs),
          deps.inflight.drain(graceMs),
        ]);
        // Past the grace period: no HTTP run starts any more, then what is in flight is given up.
        if (!drained) deps.runtime.stopStarting(["http", "route"]);
        const interrupted = drained ? [] : await interruptRuns(deps.store, deps.inflight.ids());
        await deps.store.events.append({ type: "server.stopped", payload: { url } })
          .catch(() => {});
        // The plugins' onShutdown hooks get at most the grace period too.
        await options.host.close({ graceMs });
        return { interrupted };
      })();
      return closing;
    },
  };
}

/** The operator's names, normalized; a name that is none is a usage error before anything listens. */
function allowedHostsOf(allowed: AllowedHosts | undefined): AllowedHosts {
  if (allowed === undefined || allowed === "any") return allowed ?? [];
  return allowed.map((name) => {
    const parsed = AllowedHostName.safeParse(name);
    if (!parsed.success) {
      throw new HostError("usage", `allowedHosts: ${parsed.error.issues[0]?.message}`);
    }
    return parsed.data;
  });
}
