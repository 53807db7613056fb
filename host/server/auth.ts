/**
 * Bearer-token auth. `authenticate` (on every request) resolves the token
 * and applies the per-token rate limit; `requireScope(scope)` guards a route.
 * Scopes: `admin` (everything), `read`, `invoke`, `invoke:<plugin id>`,
 * `registry:publish` (publish to a registry's draft or beta channel) and
 * `registry:admin` (also promote, yank and publish to ga).
 * @module
 */
import type { Context, MiddlewareHandler } from "hono";
import type { ApiToken } from "../store/mod.ts";
import type { AppEnv } from "./context.ts";
import { ProblemError } from "./problem.ts";
import type { RateLimiter } from "./rate-limit.ts";
import type { TokenVerifier } from "./token-cache.ts";

/** The scope a route needs; `public` routes need no token. */
export type Scope = "admin" | "read" | "invoke" | "registry:publish" | "registry:admin";

const challenge = { "www-authenticate": 'Bearer realm="plughost"' };

/**
 * Reads `Authorization: Bearer <token>`. A missing header leaves the request
 * anonymous (routes that need a scope answer 401); a header with an unknown,
 * revoked or expired token is refused at once with 401. Authenticated
 * requests are counted against the token's rate limit (429 when over).
 * Failed checks are counted per client address (`failures`): past its limit
 * an address gets 429 before any token lookup, so guessing tokens costs the
 * server a map lookup, not a query.
 */
export function authenticate(
  tokens: TokenVerifier,
  limiter: RateLimiter,
  failures?: RateLimiter,
): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const header = c.req.header("authorization");
    if (header === undefined) {
      c.set("token", undefined);
      return await next();
    }
    // The listener's peer address; never a header, which the client could write.
    const address = c.env?.remoteAddress ?? "unknown";
    const match = /^Bearer[ ]+([^\s]{1,512})\s*$/i.exec(header);
    const blocked = failures?.peek(address) ?? 0;
    // A token this server verified moments ago still gets in: one client's guesses from a shared
    // address (a proxy, a NAT) must not lock out the others, and a cache hit costs no lookup.
    if (blocked > 0 && !(match && tokens.known?.(match[1]!))) {
      throw new ProblemError(
        "rate_limited",
        `Too many failed token checks from this address: retry after ${blocked} s with a valid token`,
        { headers: { "retry-after": String(blocked) } },
      );
    }
    if (!match) {
      failures?.take(address);
      throw new ProblemError(
        "unauthorized",
        "The Authorization header must be 'Bearer <token>': ask the server's operator for a token",
        { headers: challenge },
      );
    }
    // A cache hit answers without the verifier's promise (one microtask hop less per request).
    const token = tokens.known?.(match[1]!) ?? await tokens.verify(match[1]!);
    if (!token) {
      failures?.take(address);
      throw new ProblemError(
        "unauthorized",
        "The bearer token is unknown, revoked or expired: ask the server's operator for a new one",
        { headers: challenge },
      );
    }
    const wait = limiter.take(token.id);
    if (wait > 0) {
      throw new ProblemError(
        "rate_limited",
        `Token '${token.name}' is over its rate limit: retry after ${wait} s`,
        { headers: { "retry-after": String(wait) } },
      );
    }
    c.set("token", token);
    await next();
  };
}

/** Whether a token's scopes grant `scope` (for `invoke`, on `pluginId` when given). */
export function grants(token: ApiToken, scope: Scope, pluginId?: string): boolean {
  for (const s of token.scopes) {
    if (s === "admin" || s === scope) return true;
    if (scope === "registry:publish" && s === "registry:admin") return true;
    if (scope === "invoke" && pluginId !== undefined && s === `invoke:${pluginId}`) return true;
  }
  return false;
}

/** A way past a scope for one request: `what` says which, in the 403 of a token that has neither. */
export interface ScopeException {
  test(c: Context<AppEnv>, token: ApiToken): boolean;
  what: string;
}

/** Options of `requireScope`. */
export interface ScopeOptions {
  /** The path parameter naming the plugin, for `invoke` (default `id`). */
  pluginParam?: string;
  /** Also let a token through that passes this test (e.g. a run it started). */
  except?: ScopeException;
}

/**
 * Middleware that lets a request through only with a token granting `scope`
 * (or passing `except`): 401 without a token, 403 without the scope. For
 * `invoke`, the plugin id is read from the path parameter `pluginParam`
 * (default `id`), so a token limited to some plugins reaches only those.
 *
 * @example
 * ```ts
 * app.use("/v1/schedules/*", requireScope("admin"));
 * ```
 */
export function requireScope(
  scope: Scope,
  options: ScopeOptions = {},
): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const token = c.get("token");
    if (!token) {
      throw new ProblemError(
        "unauthorized",
        `This route needs a bearer token with scope '${scope}': send 'Authorization: Bearer <token>'`,
        { headers: challenge },
      );
    }
    const pluginId = scope === "invoke" ? param(c, options.pluginParam ?? "id") : undefined;
    if (!grants(token, scope, pluginId) && !options.except?.test(c, token)) {
      throw new ProblemError(
        "forbidden",
        `Token '${token.name}' lacks scope '${scope}${
          pluginId === undefined ? "" : ` (or invoke:${pluginId})`
        }' needed here${options.except ? `, and ${options.except.what}` : ""}`,
      );
    }
    await next();
  };
}

function param(c: Context<AppEnv>, name: string): string | undefined {
  const value = c.req.param(name) as string | undefined;
  return value === undefined ? undefined : value;
}
