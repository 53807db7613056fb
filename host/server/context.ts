/**
 * What the HTTP app is built from (a `Host`, what `createHost` returns, plus
 * server options) and the per-request variables middleware sets.
 * @module
 */
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { PluginRuntime } from "../core/mod.ts";
import type { Host } from "../host.ts";
import type { ApiToken, Store } from "../store/mod.ts";
import type { Inflight } from "./inflight.ts";
import type { Metrics } from "./metrics.ts";
import type { RunQueue } from "./run-queue.ts";
import type { StreamCounts } from "./stream-caps.ts";
import type { EventHub } from "./stream-hub.ts";
import type { TokenVerifier } from "./token-cache.ts";

/** Tunables of the HTTP API; every field has a default (see `serverDefaults`). */
export interface ServerOptions {
  /** Largest JSON request body, in bytes (default 1 MiB). */
  maxBodyBytes: number;
  /** Largest plugin upload, in bytes (default 64 MiB). */
  maxUploadBytes: number;
  /** Requests per second each token may make on average; 0 turns the limit off (default 100). */
  rateLimitPerSecond: number;
  /** Requests a token may make at once above the average (default 200). */
  rateLimitBurst: number;
  /** Check capability output against its schema (development; default false). */
  validateOutput: boolean;
  /** How often the event streams' shared follower polls the store, in ms (default 250). */
  streamPollMs: number;
  /** Event and run streams one token may hold open at once (default 8); more answer 429. */
  maxStreamsPerToken: number;
  /** Event and run streams open at once across all tokens (default 500); more answer 429. */
  maxStreams: number;
  /** Events per query and per write when a stream replays the log (default 200). */
  streamBatch: number;
  /**
   * Bytes of events one stream may have waiting for a slow client, and the most one replay
   * holds (default 4 MiB); past it the stream ends with `server.stream.end` (`slow_client`).
   */
  streamQueueBytes: number;
  /** How often a run stream checks a run running on another server, in ms (default 1000). */
  runStreamPollMs: number;
  /**
   * Longest a run stream follows a run running on another server, in ms (default 30 min);
   * then it ends with `server.stream.end` (`follow_limit`).
   */
  runStreamFollowMs: number;
  /** Failed bearer-token checks per second one client address may make on average (default 2; 0 turns it off). */
  authFailuresPerSecond: number;
  /** Failed bearer-token checks one client address may make at once (default 30). */
  authFailureBurst: number;
  /** Serve /openapi.json only to tokens with scope `read` (default false: it is public). */
  privateOpenApi: boolean;
  /** Async runs (`?async=true`) queued or running at once (default 100); more answer 429. */
  asyncMaxQueued: number;
  /** Async runs of one plugin executing at once (default 2); the rest wait their turn. */
  asyncPerPlugin: number;
  /** How long an async run's output stays retrievable after it ends, in ms (default 10 min). */
  asyncResultTtlMs: number;
  /** Most finished async outcomes kept in memory (default 1000; the oldest go first). */
  asyncMaxResults: number;
}

/** Defaults of `ServerOptions`. */
export const serverDefaults: Readonly<ServerOptions> = Object.freeze({
  maxBodyBytes: 1024 * 1024,
  maxUploadBytes: 64 * 1024 * 1024,
  rateLimitPerSecond: 100,
  rateLimitBurst: 200,
  validateOutput: false,
  streamPollMs: 250,
  maxStreamsPerToken: 8,
  maxStreams: 500,
  streamBatch: 200,
  streamQueueBytes: 4 * 1024 * 1024,
  runStreamPollMs: 1000,
  runStreamFollowMs: 30 * 60_000,
  authFailuresPerSecond: 2,
  authFailureBurst: 30,
  privateOpenApi: false,
  asyncMaxQueued: 100,
  asyncPerPlugin: 2,
  asyncResultTtlMs: 10 * 60_000,
  asyncMaxResults: 1000,
});

/** Everything routes use. Built by `createApp`; route modules receive it. */
export interface ServerDeps {
  /** The host served: the one source of everything below that is not the server's own. */
  host: Host;
  /** `host.store`, at hand for routes. */
  store: Store;
  /** `host.runtime`, at hand for routes. */
  runtime: PluginRuntime;
  /** Where uploaded plugins are kept by digest: `host.paths.plugins`. */
  pluginsDir: string;
  tokens: TokenVerifier;
  metrics: Metrics;
  /** Capability calls in progress, for graceful shutdown. */
  inflight: Inflight;
  /** Async runs: the bounded queue and the outcomes kept for their streams. */
  runQueue: RunQueue;
  /** The one follower of the event log that event and run streams share. */
  eventHub: EventHub;
  /** Open event and run streams, against `maxStreamsPerToken` and `maxStreams`. */
  openStreams: StreamCounts;
  options: ServerOptions;
  /** Aborted when the server shuts down: long-lived responses (event streams) end. */
  shutdown: AbortSignal;
  /** Writes one operator log line (the CLI: stderr), for changes made over HTTP. */
  log(line: string): void;
  /** Readiness beyond the store check: false until plugins are loaded, and after shutdown starts. */
  ready(): boolean;
  /** The text of the key that seals database secrets (`$PLUGHOST_SECRETS_KEY`), if the server has one. */
  secretsKey(): string | undefined;
}

/** Hono environment of the app: variables set by middleware. */
export interface AppEnv {
  /** Set by the listener (host/server/start.ts); absent under `app.request` in tests. */
  Bindings: { remoteAddress?: string };
  Variables: {
    /** The authenticated token, when the request carried a valid one. */
    token: ApiToken | undefined;
  };
}

/** The app type route modules register on. */
export type ServerApp = OpenAPIHono<AppEnv>;

/**
 * A group of routes. `host/server/app.ts` composes the app from a list of
 * these; a new group is one file under host/server/routes/ and one line there.
 */
export interface RouteModule {
  name: string;
  register(app: ServerApp, deps: ServerDeps): void;
}
