/**
 * The way past `read` to one run: the token that started it with
 * `?async=true` follows it where the 202 points (GET /v1/runs/{id} and its
 * stream) without `read`, which would show every run of every plugin. Only
 * while this server's run queue keeps the run (queued, running, and
 * `asyncResultTtlMs` after it ends): the owner is not stored with the
 * RunRecord (docs/http-api.md, "Tokens and scopes").
 * @module
 */
import type { ScopeException } from "./auth.ts";
import type { ServerDeps } from "./context.ts";

/** Lets through the token that started the async run named by the path parameter `id`. */
export function startedRun(deps: ServerDeps): ScopeException {
  return {
    test: (c, token) => {
      const id = c.req.param("id");
      return id !== undefined && deps.runQueue.owner(id) === token.id;
    },
    what: "did not start this run with ?async=true on this server (or it is no longer kept)",
  };
}
