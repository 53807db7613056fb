import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type Harness, harness, jsonBody } from "./harness.ts";

const greet = "/v1/plugins/example.hello/capabilities/greet";

describe("POST /v1/plugins/{id}/capabilities/{name}", () => {
  let h: Harness;
  beforeEach(async () => {
    h = await harness();
  });
  afterEach(async () => await h.close());

  it("returns the output with x-run-id, and the RunRecord is already durable", async () => {
    const res = await h.call(greet, { ...jsonBody({ name: "Zoë" }), token: h.tokens.invoke });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(await res.json()).toEqual({ message: "Hello, Zoë!" });
    const runId = res.headers.get("x-run-id")!;
    expect(runId).toMatch(/^[0-9A-Z]{26}$/);
    // Read through a second connection that shares nothing with the writer's queue.
    const row = await h.store.client.execute({
      sql: "SELECT status, trigger FROM run_records WHERE id = ?",
      args: [runId],
    });
    expect(row.rows[0]?.[0]).toBe("ok");
    expect(row.rows[0]?.[1]).toBe("http");
    const read = await h.call(`/v1/runs/${runId}`, { token: h.tokens.read });
    expect(read.status).toBe(200);
    expect(await read.json()).toMatchObject({ id: runId, status: "ok", capability: "greet" });
  });

  it("answers 422 problem+json with the failing paths when the input is off-schema", async () => {
    const res = await h.call(greet, {
      ...jsonBody({ name: "", extra: 1 }),
      token: h.tokens.invoke,
    });
    expect(res.status).toBe(422);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    const body = await res.json();
    expect(body).toMatchObject({
      type: "https://plughost.dev/problems/schema_mismatch",
      status: 422,
      code: "schema_mismatch",
    });
    expect(body.errors.map((e: { path: string }) => e.path).sort()).toEqual(["/extra", "/name"]);
    expect(JSON.stringify(body)).not.toMatch(/\n\s+at /);
  });

  it("refuses malformed JSON (400), other media types (415), oversized bodies (413)", async () => {
    const bad = await h.call(greet, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{nope",
      token: h.tokens.invoke,
    });
    expect(bad.status).toBe(400);
    expect((await bad.json()).code).toBe("invalid_json");
    const text = await h.call(greet, {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: "{}",
      token: h.tokens.invoke,
    });
    expect(text.status).toBe(415);
    const big = await h.call(greet, {
      ...jsonBody({ name: "x".repeat(2 * 1024 * 1024) }),
      token: h.tokens.invoke,
    });
    expect(big.status).toBe(413);
    expect((await big.json()).code).toBe("payload_too_large");
    // Proves: a streamed body without Content-Length is counted as it arrives, and the server
    // stops reading once it passes the limit. The body never ends: a server that read it whole
    // would never answer (the test would time out); this one answers 413.
    const chunk = new TextEncoder().encode(" ".repeat(64 * 1024));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        sent++;
        controller.enqueue(chunk);
      },
    });
    const streamed = await h.call(
      greet,
      {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: stream,
        duplex: "half",
        token: h.tokens.invoke,
      } as RequestInit & { duplex: string; token: string },
    );
    expect(streamed.status).toBe(413);
    // What it pulled before stopping: the 2 MiB limit (32 chunks), one chunk past it, and what the
    // stream queues ahead; a count of chunks, not a time.
    expect(sent * chunk.byteLength).toBeLessThan(2 * 1024 * 1024 + 4 * chunk.byteLength);
    // Other routes have the same limit.
    const schedule = await h.call("/v1/schedules", {
      ...jsonBody({ pad: "x".repeat(2 * 1024 * 1024) }),
      token: h.tokens.admin,
    });
    expect(schedule.status).toBe(413);
  });

  it("answers 404 for an unknown plugin or capability, 409 when disabled", async () => {
    const plugin = await h.call("/v1/plugins/nope/capabilities/greet", {
      ...jsonBody({}),
      token: h.tokens.admin,
    });
    expect(plugin.status).toBe(404);
    const cap = await h.call("/v1/plugins/example.hello/capabilities/nope", {
      ...jsonBody({}),
      token: h.tokens.admin,
    });
    expect(cap.status).toBe(404);
    expect((await cap.json()).detail).toContain("it has: greet");
    expect(
      (await h.call("/v1/plugins/example.hello/disable", {
        method: "POST",
        token: h.tokens.admin,
      })).status,
    ).toBe(200);
    const disabled = await h.call(greet, { ...jsonBody({ name: "a" }), token: h.tokens.invoke });
    expect(disabled.status).toBe(409);
  });

  it("maps a failed call to its class with x-run-id, and counts it in /metrics", async () => {
    // The manifest's schema demands a name; with the input check off the plugin itself fails.
    h.runtime.get("example.hello")!.manifest.capabilities.greet!.input = undefined;
    const res = await h.call(greet, { ...jsonBody({}), token: h.tokens.invoke });
    expect(res.status).toBe(422);
    const body = await res.json();
    expect(body.code).toBe("plugin_error");
    expect(body.runId).toBe(res.headers.get("x-run-id"));
    const record = await h.call(`/v1/runs/${body.runId}`, { token: h.tokens.read });
    expect(await record.json()).toMatchObject({
      status: "error",
      error: { class: "plugin_error" },
    });
    const metrics = await (await h.call("/metrics", { token: h.tokens.read })).text();
    const labels = 'plugin="example.hello",capability="greet",trigger="http"';
    expect(metrics).toContain(`plughost_call_errors_total{${labels},class="plugin_error"} 1`);
    expect(metrics).toContain(`plughost_calls_total{${labels}} 1`);
  });
});
