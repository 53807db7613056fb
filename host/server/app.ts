/**
 * The HTTP app, one definition for every runtime: global middleware (auth,
 * rate limit, metrics, problem+json errors) and the route modules below. A
 * new group of routes is one module in `routeModules`.
 * @module
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import { bodyLimit } from "hono/body-limit";
import { authenticate } from "./auth.ts";
import { bodyCutShort } from "./body.ts";
import {
  type AppEnv,
  type RouteModule,
  type ServerApp,
  serverDefaults,
  type ServerDeps,
  type ServerOptions,
} from "./context.ts";
import { type HostCheck, hostGuard } from "./host-check.ts";
import { Inflight } from "./inflight.ts";
import { allowedMethods } from "./methods.ts";
import { Metrics } from "./metrics.ts";
import { isClientError, ProblemError, problemFromError, problemResponse } from "./problem.ts";
import { RateLimiter } from "./rate-limit.ts";
import { RunQueue } from "./run-queue.ts";
import { StreamCounts } from "./stream-caps.ts";
import { EventHub } from "./stream-hub.ts";
import { capabilities } from "./routes/capabilities.ts";
import { contracts } from "./routes/contracts.ts";
import { delivery } from "./routes/delivery.ts";
import { events } from "./routes/events.ts";
import { health } from "./routes/health.ts";
import { index } from "./routes/index.ts";
import { meta } from "./routes/meta.ts";
import { pluginRoutes } from "./routes/plugin-routes.ts";
import { plugins } from "./routes/plugins.ts";
import { runStream } from "./routes/run-stream.ts";
import { runs } from "./routes/runs.ts";
import { schedules } from "./routes/schedules.ts";
import { registryRoutes } from "./routes/registry.ts";
import { registryInstallRoutes } from "./routes/registry-install.ts";
import type { Host } from "../host.ts";
import type { RegistryService } from "../registry/service.ts";
import { secrets } from "./routes/secrets.ts";
import { cachedVerifier, type TokenVerifier } from "./token-cache.ts";

/** Every route group of the API, in registration order. */
export const routeModules: readonly RouteModule[] = [
  index,
  health,
  capabilities,
  plugins,
  runs,
  runStream,
  events,
  delivery,
  schedules,
  contracts,
  secrets,
  meta,
  pluginRoutes,
];

/** What `createApp` needs; everything but the host has a default. */
export interface AppParts {
  /**
   * The host to serve (what `createHost` returns): the routes reach its store,
   * plugins and metrics through it, uploads go to `host.paths.plugins`, and
   * POST /v1/plugins/install installs with it.
   */
  host: Host;
  /** Token lookup (default: the store's api_tokens, cached 5 s). */
  tokens?: TokenVerifier;
  options?: Partial<ServerOptions>;
  /** Extra readiness condition (default: always ready). */
  ready?: () => boolean;
  /** Operator log lines, e.g. an upload (default: dropped). */
  log?: (line: string) => void;
  /** Aborted at shutdown, ending event streams (default: never). */
  shutdown?: AbortSignal;
  /** Serve a plugin registry under /v1/registry/ (`host serve --registry`). */
  registry?: RegistryService;
  /** The database secrets key's text (default: none; `PUT .../secrets/{name}` then answers 409). */
  secretsKey?: () => string | undefined;
  /** The Host header check (`hostCheckFor`; default: none, every Host is answered). */
  hostCheck?: HostCheck;
}

/**
 * Builds the app and the dependencies its routes share.
 *
 * @example
 * ```ts
 * const host = await createHost({ home });
 * const { app } = createApp({ host });
 * const res = await app.request("/healthz"); // 200 {"status":"ok"}
 * ```
 */
export function createApp(parts: AppParts): { app: ServerApp; deps: ServerDeps } {
  const options: ServerOptions = { ...serverDefaults, ...parts.options };
  const shutdown = parts.shutdown ?? new AbortController().signal;
  const { host } = parts;
  const deps: ServerDeps = {
    host,
    store: host.store,
    runtime: host.runtime,
    pluginsDir: host.paths.plugins,
    tokens: parts.tokens ?? cachedVerifier(host.store.tokens),
    metrics: new Metrics(host.metrics),
    inflight: new Inflight(),
    runQueue: new RunQueue({
      maxQueued: options.asyncMaxQueued,
      perPlugin: options.asyncPerPlugin,
      resultTtlMs: options.asyncResultTtlMs,
      maxResults: options.asyncMaxResults,
    }, shutdown),
    eventHub: new EventHub(host.store, {
      pollMs: options.streamPollMs,
      maxPendingBytes: options.streamQueueBytes,
      signal: shutdown,
    }),
    openStreams: new StreamCounts(),
    options,
    shutdown,
    ready: parts.ready ?? (() => true),
    log: parts.log ?? (() => {}),
    secretsKey: parts.secretsKey ?? (() => undefined),
  };
  const app: ServerApp = new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) {
        const issues = result.error.issues.map((i) => ({
          path: `/${i.path.join("/")}`,
          message: i.message,
        }));
        throw new ProblemError(
          "invalid_input",
          `Invalid request ${result.target}: ${
            issues.map((i) => `${i.path} ${i.message}`).join("; ")
          }`,
          { extensions: { errors: issues } },
        );
      }
    },
  });
  app.use(async (c, next) => {
    await next();
    deps.metrics.response(c.res.status);
  });
  // Before auth and bodies: a page reaching the server by DNS rebinding gets nothing else.
  if (parts.hostCheck) app.use(hostGuard(parts.hostCheck));
  app.use(
    authenticate(
      deps.tokens,
      new RateLimiter(options.rateLimitPerSecond, options.rateLimitBurst),
      new RateLimiter(options.authFailuresPerSecond, options.authFailureBurst),
    ),
  );
  // Every body has a limit; the capability route and uploads also count bytes as they read.
  const tooLarge = (limit: number) => () => {
    throw new ProblemError(
      "payload_too_large",
      `The request body is larger than ${limit} bytes: send less, or raise the server's limit`,
      { extensions: { limit } },
    );
  };
  const jsonLimit = bodyLimit({
    maxSize: options.maxBodyBytes,
    onError: tooLarge(options.maxBodyBytes),
  });
  const uploadLimit = bodyLimit({
    maxSize: options.maxUploadBytes,
    onError: tooLarge(options.maxUploadBytes),
  });
  app.use(async (c, next) => {
    if (c.req.method === "GET" || c.req.method === "HEAD") return await next();
    const upload = c.req.method === "POST" &&
      (c.req.path === "/v1/plugins" || c.req.path === "/v1/registry/artifacts");
    const limit = upload ? options.maxUploadBytes : options.maxBodyBytes;
    // With a Content-Length the header decides, without touching the body: on Node, reaching
    // for the body makes @hono/node-server build a whole web Request, a large part of a
    // small call's cost. Streamed bodies are counted as they arrive.
    const declared = c.req.header("content-length");
    if (declared !== undefined && c.req.header("transfer-encoding") === undefined) {
      if (Number(declared) > limit) tooLarge(limit)();
      return await next();
    }
    // Hono's limiter reads a streamed body before the route: a client that hangs up
    // midway is its error (400), not the host's (500 with a server.error event).
    let reached = false;
    try {
      return await (upload ? uploadLimit : jsonLimit)(c, () => {
        reached = true;
        return next();
      });
    } catch (error) {
      throw reached || isClientError(error) ? error : bodyCutShort(error);
    }
  });
  app.onError((error, c) => {
    if (!isClientError(error)) {
      void deps.store.events.append({
        type: "server.error",
        level: "error",
        payload: {
          method: c.req.method,
          path: new URL(c.req.url).pathname,
          // No stack: events are readable by `read` tokens (docs/security.md).
          error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
        },
      }).catch(() => {});
    }
    return problemFromError(error);
  });
  const allowed = allowedMethods(app);
  app.notFound((c) => {
    const path = new URL(c.req.url).pathname;
    const methods = allowed(path);
    if (methods.length > 0) {
      return problemResponse(
        "method_not_allowed",
        `${path.slice(0, 200)} answers ${methods.join(", ")}, not ${c.req.method.slice(0, 20)}`,
        { headers: { allow: methods.join(", ") }, extensions: { allow: methods } },
      );
    }
    return problemResponse(
      "route_not_found",
      `No route ${c.req.method.slice(0, 20)} ${path.slice(0, 200)}: see /openapi.json`,
    );
  });
  for (const module of routeModules) module.register(app, deps);
  if (parts.registry) registryRoutes(parts.registry).register(app, deps);
  registryInstallRoutes(host).register(app, deps);
  return { app, deps };
}
