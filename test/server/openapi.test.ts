import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, harness } from "./harness.ts";

describe("GET /openapi.json and the health routes", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness();
  });
  afterAll(async () => await h.close());

  it("documents the API and one operation per installed capability with its schemas", async () => {
    const res = await h.call("/openapi.json", { token: h.tokens.read });
    expect(res.status).toBe(200);
    const doc = await res.json();
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ scheme: "bearer" });
    const op = doc.paths["/v1/plugins/example.hello/capabilities/greet"].post;
    expect(op.operationId).toBe("example.hello.greet");
    expect(op.requestBody.content["application/json"].schema.required).toEqual(["name"]);
    expect(op.responses["200"].content["application/json"].schema.required).toEqual(["message"]);
    expect(op.responses["200"].headers["x-run-id"]).toBeDefined();
    expect(doc.paths["/v1/runs/{id}"].get.responses["200"]).toBeDefined();
    expect(doc.components.schemas.Problem).toBeDefined();
  });

  it("answers /healthz, /readyz and /metrics in the Prometheus text format", async () => {
    expect(await (await h.call("/healthz")).json()).toEqual({ status: "ok" });
    expect(await (await h.call("/readyz")).json()).toEqual({ status: "ready", plugins: 1 });
    const metrics = await h.call("/metrics", { token: h.tokens.read });
    expect(metrics.headers.get("content-type")).toContain("text/plain; version=0.0.4");
    const text = await metrics.text();
    expect(text).toContain("# TYPE plughost_call_duration_seconds histogram");
    expect(text).toMatch(/^plughost_plugins_loaded 1$/m);
    expect(text).toMatch(/^plughost_store_queue_depth \d+$/m);
    for (const line of text.trim().split("\n")) {
      expect(line).toMatch(/^(# (HELP|TYPE) \w+ .+|\w+(\{[^}]*\})? [0-9.e+-]+)$/);
    }
  });
});
