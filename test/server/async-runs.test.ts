/**
 * Async runs: `?async=true` answers 202 with the run id and a Location; the
 * bounded queue keeps per-plugin concurrency and answers 429 when full;
 * `GET /v1/runs/{id}/stream` shows the run's progress events before its output.
 */
import { afterEach, describe, expect, it } from "vitest";
import { capabilityProvider } from "../../host/capabilities/mod.ts";
import type { InvokeResult } from "../../host/core/mod.ts";
import { RunQueue } from "../../host/server/run-queue.ts";
import { signedFirstParty } from "../helpers/signing.ts";
import { type Harness, harness } from "./harness.ts";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** The SSE messages of a whole (finite) stream. */
async function messages(res: Response): Promise<{ event: string; data: unknown }[]> {
  const text = await res.text();
  return text.split("\n\n").filter((block) => block.includes("data:")).map((block) => {
    const event = /^event: (.*)$/m.exec(block)?.[1] ?? "message";
    const data = block.split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6))
      .join("\n");
    return { event, data: JSON.parse(data) as unknown };
  });
}

function post(h: Harness, path: string, body: string) {
  return h.call(path, {
    method: "POST",
    token: h.tokens.invoke,
    headers: { "content-type": "application/json" },
    body,
  });
}

describe("async runs", () => {
  it("answers 202 with Location, and the stream shows progress events before the output", async () => {
    h = await harness({}, { hostFunctions: capabilityProvider() });
    await h.runtime.load(await signedFirstParty("steps", h.key), "test");
    const res = await post(
      h,
      "/v1/plugins/example.steps/capabilities/count?async=true",
      '{"to":3}',
    );
    expect(res.status).toBe(202);
    const accepted = await res.json() as { runId: string; location: string; stream: string };
    expect(res.headers.get("location")).toBe(`/v1/runs/${accepted.runId}`);
    expect(accepted.stream).toBe(`/v1/runs/${accepted.runId}/stream`);
    const stream = await h.call(accepted.stream, { token: h.tokens.read });
    expect(stream.status).toBe(200);
    expect(stream.headers.get("content-type")).toContain("text/event-stream");
    const all = await messages(stream);
    const kinds = all.map((m) => m.event);
    // (A call re-run after its main-thread slice reports again: docs/sandbox.md.)
    expect(kinds.filter((k) => k === "run.progress").length).toBeGreaterThanOrEqual(3);
    // Progress first, the output last (the stream closes after it).
    expect(kinds.indexOf("run.progress")).toBeLessThan(kinds.indexOf("result"));
    expect(kinds.at(-1)).toBe("result");
    expect(kinds).toContain("plugin.log");
    // Each event once, in commit order.
    const ids = all.filter((m) => m.event !== "result").map((m) => (m.data as { id: string }).id);
    expect(new Set(ids).size).toBe(ids.length);
    const progress = all.filter((m) => m.event === "run.progress").map((m) =>
      (m.data as { payload: { message: string; percent: number } }).payload
    );
    expect(progress.slice(-3)).toEqual([
      { message: "step 1", percent: 33 },
      { message: "step 2", percent: 67 },
      { message: "step 3", percent: 100 },
    ]);
    expect(all.at(-1)!.data).toMatchObject({
      runId: accepted.runId,
      ok: true,
      output: { counted: 3 },
      outputKept: true,
    });
    const record = await h.store.runs.get(accepted.runId);
    expect(record).toMatchObject({ status: "ok", trigger: "http", capability: "count" });
    // The output stays retrievable: a second stream replays the events and the output.
    const again = await messages(await h.call(accepted.stream, { token: h.tokens.read }));
    expect(again.at(-1)!.data).toMatchObject({ ok: true, output: { counted: 3 } });
  });

  it("checks the input before queueing: 422 naming the field, no run", async () => {
    h = await harness({}, { hostFunctions: capabilityProvider() });
    await h.runtime.load(await signedFirstParty("steps", h.key), "test");
    const res = await post(
      h,
      "/v1/plugins/example.steps/capabilities/count?async=true",
      '{"to":0}',
    );
    expect(res.status).toBe(422);
    expect((await res.json() as { detail: string }).detail).toContain("/to");
    expect(h.deps.runQueue.active).toBe(0);
    const bad = await post(h, "/v1/plugins/example.steps/capabilities/count?async=yes", '{"to":1}');
    expect(bad.status).toBe(400);
  });

  it("answers 429 with Retry-After when the queue is full", async () => {
    h = await harness({ asyncMaxQueued: 1 });
    let release!: () => void;
    const held = new Promise<InvokeResult>((resolve) => {
      release = () =>
        resolve({
          runId: "held",
          ok: true,
          output: new Uint8Array(),
          usage: { fuel: 0, memoryPages: 0, durationMs: 0 },
        });
    });
    h.deps.runQueue.submit("held", "example.hello", () => held);
    const res = await post(
      h,
      "/v1/plugins/example.hello/capabilities/greet?async=true",
      '{"name":"x"}',
    );
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBe("1");
    release();
    await h.deps.runQueue.outcome("held");
    const after = await post(
      h,
      "/v1/plugins/example.hello/capabilities/greet?async=true",
      '{"name":"x"}',
    );
    expect(after.status).toBe(202);
    const { stream } = await after.json() as { stream: string };
    const end = (await messages(await h.call(stream, { token: h.tokens.read }))).at(-1)!;
    expect(end).toMatchObject({
      event: "result",
      data: { ok: true, output: { message: "Hello, x!" } },
    });
  });

  it("a finished synchronous run streams its events and a result without output; unknown is 404", async () => {
    h = await harness();
    const res = await post(h, "/v1/plugins/example.hello/capabilities/greet", '{"name":"y"}');
    const runId = res.headers.get("x-run-id")!;
    const all = await messages(await h.call(`/v1/runs/${runId}/stream`, { token: h.tokens.read }));
    expect(all.map((m) => m.event)).toEqual(["run.finished", "result"]);
    expect(all[1]!.data).toMatchObject({ ok: true, status: "ok", output: null, outputKept: false });
    expect((await h.call("/v1/runs/nope/stream", { token: h.tokens.read })).status).toBe(404);
  });
});

describe("RunQueue", () => {
  const usage = { fuel: 0, memoryPages: 0, durationMs: 0 };
  it("runs at most perPlugin runs of a plugin at once, in order, others unaffected", async () => {
    const queue = new RunQueue({
      maxQueued: 10,
      perPlugin: 2,
      resultTtlMs: 60_000,
      maxResults: 10,
    });
    const started: string[] = [];
    const releases = new Map<string, () => void>();
    const start = (id: string) => () => {
      started.push(id);
      return new Promise<InvokeResult>((resolve) => {
        releases.set(
          id,
          () => resolve({ runId: id, ok: true, output: new Uint8Array([49]), usage }),
        );
      });
    };
    for (const id of ["a1", "a2", "a3"]) queue.submit(id, "a", start(id));
    queue.submit("b1", "b", start("b1"));
    expect(started).toEqual(["a1", "a2", "b1"]);
    expect(queue.state("a3")).toBe("queued");
    releases.get("a1")!();
    await queue.outcome("a1");
    expect(started).toEqual(["a1", "a2", "b1", "a3"]);
    expect(await queue.outcome("a1")).toMatchObject({ ok: true, output: new Uint8Array([49]) });
    expect(queue.active).toBe(3);
  });

  it("keeps at most maxResults outcomes and ends queued runs at close", async () => {
    const queue = new RunQueue({ maxQueued: 10, perPlugin: 1, resultTtlMs: 60_000, maxResults: 1 });
    const quick = (id: string) => () =>
      Promise.resolve<InvokeResult>({ runId: id, ok: true, output: new Uint8Array(), usage });
    queue.submit("r1", "p", quick("r1"));
    await queue.outcome("r1");
    queue.submit("r2", "p", quick("r2"));
    await queue.outcome("r2");
    expect(queue.state("r1")).toBeUndefined();
    expect(queue.state("r2")).toBe("done");
    queue.submit("r3", "p", () => new Promise(() => {}));
    queue.submit("r4", "p", quick("r4"));
    queue.close();
    expect(await queue.outcome("r4")).toMatchObject({ ok: false, error: { class: "not_ready" } });
    expect(() => queue.submit("r5", "p", quick("r5"))).toThrow("shutting down");
  });
});
