/**
 * The request path's cheap refusals: a ProblemError carries no stack (it is a
 * client's answer; capturing one was the largest cost of a refused request)
 * and leaves the stack limit as it was; a guarded route checks the scope
 * before the query, in the one middleware `guarded` installs.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { HostError } from "../../host/errors.ts";
import { ProblemError, problemFromError } from "../../host/server/problem.ts";
import { type Harness, harness } from "./harness.ts";

describe("ProblemError", () => {
  it("has no stack frames, keeps Error.stackTraceLimit and still answers problem+json", async () => {
    const limit = Error.stackTraceLimit;
    const error = new ProblemError("unsupported_media_type", "Send JSON", {
      headers: { "x-test": "1" },
    });
    expect(Error.stackTraceLimit).toBe(limit);
    expect(error.stack ?? "").not.toMatch(/\n\s+at /);
    expect(error).toBeInstanceOf(HostError);
    expect(error.message).toBe("Send JSON");
    // Other errors still get their stack (host bugs are logged with it).
    expect(new HostError("host_error", "bug").stack).toMatch(/\n\s+at /);

    const res = problemFromError(error);
    expect(res.status).toBe(415);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect(res.headers.get("x-test")).toBe("1");
    const body = await res.json();
    expect(body.code).toBe("unsupported_media_type");
    expect(body.detail).toBe("Send JSON");
    expect(JSON.stringify(body)).not.toContain(" at ");
  });
});

describe("guarded routes", () => {
  let h: Harness;
  beforeEach(async () => (h = await harness()));
  afterEach(async () => await h.close());

  it("check the scope before the query, and pass a request without a query", async () => {
    // No token: 401 even with an unknown query parameter (the scope is checked first).
    const anonymous = await h.call("/v1/runs?plugin=x");
    expect(anonymous.status).toBe(401);
    // A token without the scope: 403, not the query's 400.
    const wrongScope = await h.call("/v1/plugins/example.hello/capabilities/greet?x=1", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"name":"a"}',
      token: h.tokens.invokeOther,
    });
    expect(wrongScope.status).toBe(403);
    // The right scope: the query is checked (400 naming it), and without one the call runs.
    const unknown = await h.call("/v1/plugins/example.hello/capabilities/greet?x=1", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"name":"a"}',
      token: h.tokens.invoke,
    });
    expect(unknown.status).toBe(400);
    expect((await unknown.json()).unknown).toEqual(["x"]);
    const ok = await h.call("/v1/plugins/example.hello/capabilities/greet", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"name":"a"}',
      token: h.tokens.invoke,
    });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ message: "Hello, a!" });
  });
});
