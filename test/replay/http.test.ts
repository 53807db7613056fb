/** `POST /v1/runs/{id}/replay` through the Hono app (admin scope). */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type Harness, harness, jsonBody } from "../server/harness.ts";

describe("POST /v1/runs/{id}/replay", () => {
  let h: Harness;
  beforeEach(async () => {
    h = await harness();
  });
  afterEach(async () => await h.close());

  it("replays a run and answers the report; 404 for no run; admin only", async () => {
    const res = await h.call("/v1/plugins/example.hello/capabilities/greet", {
      ...jsonBody({ name: "Ada" }),
      token: h.tokens.invoke,
    });
    const runId = res.headers.get("x-run-id")!;
    const replay = await h.call(`/v1/runs/${runId}/replay`, {
      method: "POST",
      token: h.tokens.admin,
    });
    expect(replay.status).toBe(200);
    const report = await replay.json();
    expect(report).toMatchObject({ runId, match: true, mode: "strict", differences: [] });
    const child = await (await h.call(`/v1/runs/${report.replayRunId}`, {
      token: h.tokens.read,
    })).json();
    expect(child).toMatchObject({ trigger: "replay", parentRunId: runId });
    const missing = await h.call("/v1/runs/NOPE/replay", { method: "POST", token: h.tokens.admin });
    expect(missing.status).toBe(404);
    expect(missing.headers.get("content-type")).toMatch(/application\/problem\+json/);
    const reader = await h.call(`/v1/runs/${runId}/replay`, {
      method: "POST",
      token: h.tokens.read,
    });
    expect(reader.status).toBe(403);
  });
});
