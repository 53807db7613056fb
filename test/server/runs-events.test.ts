import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type Harness, harness, jsonBody } from "./harness.ts";

interface SseMessage {
  id: string;
  event: string;
  data: { id: string; type: string };
}

/** Reads `count` SSE messages from a response, then cancels it. */
async function readSse(res: Response, count: number): Promise<SseMessage[]> {
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  const messages: SseMessage[] = [];
  let buffer = "";
  while (messages.length < count) {
    const { done, value } = await reader.read();
    if (done) break;
    buffer += value;
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const fields = Object.fromEntries(
        block.split("\n").filter((l) => !l.startsWith(":")).map((l) => {
          const i = l.indexOf(":");
          return [l.slice(0, i), l.slice(i + 1).trimStart()];
        }),
      );
      if (fields.data !== undefined) {
        messages.push({
          id: fields.id ?? "",
          event: fields.event ?? "",
          data: JSON.parse(fields.data),
        });
      }
    }
  }
  await reader.cancel();
  // Streams write a batch of messages at once: keep the first `count`.
  return messages.slice(0, count);
}

describe("runs and events", () => {
  let h: Harness;
  beforeEach(async () => {
    h = await harness({ streamPollMs: 20 });
  });
  afterEach(async () => await h.close());

  async function greet(name: string): Promise<string> {
    const res = await h.call("/v1/plugins/example.hello/capabilities/greet", {
      ...jsonBody({ name }),
      token: h.tokens.invoke,
    });
    return res.headers.get("x-run-id")!;
  }

  it("pages runs newest first with a cursor and filters by status and plugin", async () => {
    const ids = [await greet("a"), await greet("b"), await greet("c")];
    const first = await (await h.call("/v1/runs?limit=2", { token: h.tokens.read })).json();
    expect(first.runs.map((r: { id: string }) => r.id)).toEqual([ids[2], ids[1]]);
    const second = await (await h.call(`/v1/runs?limit=2&cursor=${first.cursor}`, {
      token: h.tokens.read,
    })).json();
    expect(second.runs.map((r: { id: string }) => r.id)).toEqual([ids[0]]);
    expect(second.cursor).toBeNull();
    const none = await (await h.call("/v1/runs?status=error&pluginId=example.hello", {
      token: h.tokens.read,
    })).json();
    expect(none.runs).toEqual([]);
    const bad = await h.call("/v1/runs?status=nope&limit=0", { token: h.tokens.read });
    expect(bad.status).toBe(400);
    expect((await bad.json()).errors.length).toBe(2);
    expect((await h.call("/v1/runs/NOPE", { token: h.tokens.read })).status).toBe(404);
  });

  it("pages events with filters and a cursor", async () => {
    const runId = await greet("e");
    const byRun = await (await h.call(`/v1/events?runId=${runId}`, { token: h.tokens.read }))
      .json();
    expect(byRun.events.map((e: { type: string }) => e.type)).toEqual(["run.finished"]);
    const all = await (await h.call("/v1/events?limit=1000", { token: h.tokens.read })).json();
    const page = await (await h.call("/v1/events?limit=1", { token: h.tokens.read })).json();
    const rest = await (await h.call(`/v1/events?cursor=${page.cursor}&limit=1000`, {
      token: h.tokens.read,
    })).json();
    expect([...page.events, ...rest.events]).toEqual(all.events);
    const runs = await (await h.call("/v1/events?type=run.*", { token: h.tokens.read })).json();
    expect(runs.events.every((e: { type: string }) => e.type.startsWith("run."))).toBe(true);
    expect((await h.call("/v1/events?cursor=abc", { token: h.tokens.read })).status).toBe(400);
  });

  it("streams events as SSE and resumes after Last-Event-ID without gaps or repeats", async () => {
    for (const name of ["s1", "s2", "s3", "s4"]) await greet(name);
    const all = (await (await h.call("/v1/events?type=run.*&limit=1000", {
      token: h.tokens.read,
    })).json()).events as { id: string }[];
    expect(all.length).toBe(4);
    const start = await (await h.call("/v1/events?type=run.*&limit=1", {
      token: h.tokens.read,
    })).json();
    const stream = await h.call("/v1/events/stream?type=run.*", {
      token: h.tokens.read,
      headers: { "last-event-id": start.cursor },
    });
    expect(stream.status).toBe(200);
    expect(stream.headers.get("content-type")).toContain("text/event-stream");
    const firstTwo = await readSse(stream, 2);
    expect(firstTwo.map((m) => m.data.id)).toEqual([all[1]!.id, all[2]!.id]);
    expect(firstTwo[0]!.event).toBe("run.finished");
    // Reconnect from the first message received: the next is the second, then the rest, then live.
    const resumed = await h.call("/v1/events/stream?type=run.*", {
      token: h.tokens.read,
      headers: { "last-event-id": firstTwo[0]!.id },
    });
    const live = greet("live");
    const next = await readSse(resumed, 3);
    const liveRun = await live;
    expect(next.map((m) => m.data.id).slice(0, 2)).toEqual([all[2]!.id, all[3]!.id]);
    expect((next[2]!.data as { runId?: string }).runId).toBe(liveRun);
    const bad = await h.call("/v1/events/stream", {
      token: h.tokens.read,
      headers: { "last-event-id": "not-a-cursor" },
    });
    expect(bad.status).toBe(400);
  });

  /** Counts the store's batch reads (the real method runs; only the calls are counted). */
  function countBatches(): { calls: { filtered: boolean }[] } {
    const seen = { calls: [] as { filtered: boolean }[] };
    const real = h.store.events.readBatch.bind(h.store.events);
    h.store.events.readBatch = (filter = {}) => {
      seen.calls.push({ filtered: filter.type !== undefined || filter.pluginId !== undefined });
      return real(filter);
    };
    return seen;
  }

  async function until(check: () => boolean): Promise<void> {
    for (let i = 0; i < 1000 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
    expect(check()).toBe(true);
  }

  it("replays a long log in batches: every event once, in order, one query per batch", async () => {
    const total = 1000;
    await Promise.all(
      Array.from(
        { length: total },
        (_, i) => h.store.events.append({ type: "t.e", payload: { i } }),
      ),
    );
    const counted = countBatches();
    const stream = await h.call("/v1/events/stream?type=t.*&cursor=0", { token: h.tokens.read });
    const messages = await readSse(stream, total);
    expect(messages.map((m) => (m.data as unknown as { payload: { i: number } }).payload.i))
      .toEqual(Array.from({ length: total }, (_, i) => i));
    // Each message's id is its own cursor: ids strictly increase.
    const ids = messages.map((m) => Number(m.id));
    expect(ids.every((id, i) => i === 0 || id > ids[i - 1]!)).toBe(true);
    // 1000 events at 200 per batch: 5 full pages and one short (not one query per event).
    expect(counted.calls.filter((c) => c.filtered).length).toBeLessThanOrEqual(7);
  });

  it("idle streams cost no query of their own: one shared read per tick", async () => {
    const counted = countBatches();
    const streams = await Promise.all(
      Array.from(
        { length: 6 },
        () => h.call("/v1/events/stream?type=nothing.*", { token: h.tokens.read }),
      ),
    );
    expect(streams.every((s) => s.status === 200)).toBe(true);
    // Ten ticks of the hub (unfiltered reads): the streams' own reads are their one empty
    // replay each, not one per stream per tick (that would be 60 and more).
    await until(() => counted.calls.filter((c) => !c.filtered).length >= 10);
    expect(counted.calls.filter((c) => c.filtered).length).toBeLessThanOrEqual(6);
    // Live events still reach a stream through the hub.
    const live = await h.call("/v1/events/stream?type=live.*", { token: h.tokens.read });
    await h.store.events.append({ type: "live.one", payload: {} });
    const [message] = await readSse(live, 1);
    expect(message!.event).toBe("live.one");
    for (const s of streams) await s.body!.cancel();
  });

  it("caps open streams per token with a 429 problem and frees the slot on close", async () => {
    const cap = h.deps.options.maxStreamsPerToken;
    const open = [];
    for (let i = 0; i < cap; i++) {
      open.push(await h.call("/v1/events/stream", { token: h.tokens.read }));
    }
    expect(open.every((s) => s.status === 200)).toBe(true);
    const over = await h.call("/v1/events/stream", { token: h.tokens.read });
    expect(over.status).toBe(429);
    expect(over.headers.get("content-type")).toBe("application/problem+json");
    expect((await over.json()).detail).toMatch(/already has \d+ streams open/);
    // Another token is not affected by this one's streams.
    const other = await h.call("/v1/events/stream", { token: h.tokens.admin });
    expect(other.status).toBe(200);
    await other.body!.cancel();
    await open[0]!.body!.cancel();
    let again: Response | undefined;
    for (let i = 0; i < 100; i++) {
      again = await h.call("/v1/events/stream", { token: h.tokens.read });
      if (again.status === 200) break;
      await again.body?.cancel();
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(again!.status).toBe(200);
    await again!.body!.cancel();
    for (const s of open.slice(1)) await s.body!.cancel();
  });
});
