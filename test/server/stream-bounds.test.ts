/**
 * The bounds of event and run streams: run streams count against the same
 * caps as event streams (429 alike), a run running on another server is
 * followed at most `runStreamFollowMs`, and a client that does not read makes
 * the server hold at most `streamQueueBytes` for it before its stream ends
 * with `server.stream.end` (a real server on 127.0.0.1, a client that pauses).
 */
import { request } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { type RunningServer, startServer } from "../../host/server/start.ts";
import { type Harness, harness } from "./harness.ts";

interface Message {
  id: string | undefined;
  event: string;
  data: Record<string, unknown>;
}

/** The SSE messages of `text` (comments skipped). */
function parse(text: string): Message[] {
  return text.split("\n\n").filter((block) => /^data: /m.test(block)).map((block) => {
    const field = (name: string) =>
      block.split("\n").find((l) => l.startsWith(`${name}: `))?.slice(name.length + 2);
    return {
      id: field("id"),
      event: field("event") ?? "message",
      data: JSON.parse(field("data")!) as Record<string, unknown>,
    };
  });
}

/** Reads `res` until `count` messages came (or it ends), then cancels it. */
async function take(res: Response, count: number): Promise<Message[]> {
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  // Only whole messages (up to the last blank line) are parsed.
  const whole = () => text.slice(0, text.lastIndexOf("\n\n") + 2);
  while (parse(whole()).length < count) {
    const { done, value } = await reader.read();
    if (done) break;
    text += value;
  }
  await reader.cancel();
  return parse(whole()).slice(0, count);
}

let h: Harness | undefined;
let server: RunningServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
  await h?.close();
  h = undefined;
});

/** A run another server is running: `running` in the shared store, not in this server's queue. */
async function runningElsewhere(h: Harness): Promise<string> {
  const run = await h.store.runs.start({
    pluginId: "example.hello",
    moduleDigest: "sha256:" + "0".repeat(64),
    export: "greet",
    trigger: "http",
    input: new Uint8Array(),
  });
  return run.id;
}

describe("run streams under the stream caps", () => {
  it("count with event streams per token and per server: 429 rate_limited, Retry-After 5", async () => {
    h = await harness({ maxStreamsPerToken: 2, maxStreams: 3, streamPollMs: 20 });
    const runId = await runningElsewhere(h);
    const path = `/v1/runs/${runId}/stream`;
    const mine = [
      await h.call(path, { token: h.tokens.read }),
      await h.call("/v1/events/stream", { token: h.tokens.read }),
    ];
    expect(mine.map((r) => r.status)).toEqual([200, 200]);
    const over = await h.call(path, { token: h.tokens.read });
    expect(over.status).toBe(429);
    expect(over.headers.get("content-type")).toBe("application/problem+json");
    expect(over.headers.get("retry-after")).toBe("5");
    const problem = await over.json();
    expect(problem.code ?? problem.type).toMatch(/rate_limited/);
    expect(problem.detail).toMatch(/already has 2 streams open \(event and run streams\)/);
    // The server's cap counts every token's streams.
    const other = await h.call(path, { token: h.tokens.admin });
    expect(other.status).toBe(200);
    const full = await h.call(path, { token: h.tokens.admin });
    expect(full.status).toBe(429);
    expect((await full.json()).detail).toMatch(/The server has 3 streams open/);
    // Closing a run stream frees its slot.
    await mine[0]!.body!.cancel();
    let again: Response | undefined;
    for (let i = 0; i < 200; i++) {
      again = await h.call(path, { token: h.tokens.read });
      if (again.status === 200) break;
      await again.body?.cancel();
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(again!.status).toBe(200);
    for (const res of [again!, mine[1]!, other]) await res.body!.cancel();
  });
});

describe("a run running on another server", () => {
  it("is followed at most runStreamFollowMs, then the stream ends with follow_limit; it resumes after Last-Event-ID", async () => {
    h = await harness({ runStreamFollowMs: 300, runStreamPollMs: 20, streamPollMs: 20 });
    const runId = await runningElsewhere(h);
    const log = await h.store.events.append({
      type: "plugin.log",
      level: "info",
      pluginId: "example.hello",
      runId,
      payload: { message: "working" },
    });
    const res = await h.call(`/v1/runs/${runId}/stream`, { token: h.tokens.read });
    expect(res.status).toBe(200);
    const all = parse(await res.text());
    expect(all.map((m) => m.event)).toEqual(["plugin.log", "server.stream.end"]);
    const end = all[1]!;
    expect(end.id).toBeUndefined();
    expect(end.data.reason).toBe("follow_limit");
    expect(end.data.cursor).toBe(all[0]!.id);
    expect(String(end.data.detail)).toMatch(/still running on another server/);
    expect((await h.call(`/v1/events?runId=${runId}`, { token: h.tokens.read })).status).toBe(200);
    expect(all[0]!.data.id).toBe(log.id);

    // The run ends; a client resuming after its cursor gets what is new and the result.
    await h.store.runs.finish(runId, { status: "ok", output: new Uint8Array() });
    const resumed = parse(
      await (await h.call(`/v1/runs/${runId}/stream`, {
        token: h.tokens.read,
        headers: { "last-event-id": String(end.data.cursor) },
      })).text(),
    );
    expect(resumed.map((m) => m.event)).not.toContain("plugin.log");
    expect(resumed.at(-1)!.event).toBe("result");
    expect(resumed.at(-1)!.data).toMatchObject({ runId, ok: true, status: "ok" });
    const bad = await h.call(`/v1/runs/${runId}/stream`, {
      token: h.tokens.read,
      headers: { "last-event-id": "nope" },
    });
    expect(bad.status).toBe(400);
  });
});

describe("a client that does not read (real server on 127.0.0.1)", () => {
  const QUEUE = 256 * 1024;
  const BIG = "x".repeat(60_000);

  for (const kind of ["event", "run"] as const) {
    it(
      `the ${kind} stream holds at most streamQueueBytes, then ends with slow_client; the client resumes`,
      async () => {
        h = await harness();
        server = await startServer({
          host: h.host,
          port: 0,
          graceMs: 100,
          options: { streamQueueBytes: QUEUE, streamPollMs: 20, rateLimitPerSecond: 0 },
        });
        const hub = server.deps.eventHub;
        const runId = await runningElsewhere(h);
        const path = kind === "event" ? "/v1/events/stream?type=big.*" : `/v1/runs/${runId}/stream`;
        const url = new URL(path, server.url);

        // Open the stream and stop reading once its headers came.
        const res = await new Promise<import("node:http").IncomingMessage>((resolve, reject) => {
          const req = request(url, {
            agent: false,
            headers: { authorization: `Bearer ${h!.tokens.read}` },
          }, resolve);
          req.on("error", reject);
          req.end();
        });
        expect(res.statusCode).toBe(200);
        res.pause();
        while (hub.size === 0) await new Promise((r) => setTimeout(r, 10));

        // Events until the hub drops this stream's queue (socket buffers fill first).
        const ids: string[] = [];
        for (let batch = 0; hub.overflows === 0; batch++) {
          expect(batch).toBeLessThan(400); // at most ~400 MiB: something else is wrong
          for (let i = 0; i < 16; i++) {
            const e = await h.store.events.append({
              type: "big.e",
              pluginId: "example.hello",
              runId,
              payload: { i: ids.length, s: BIG },
            });
            ids.push(e.id);
          }
          await new Promise((r) => setTimeout(r, 20));
        }
        expect(hub.peakPendingBytes).toBeGreaterThan(0);
        expect(hub.peakPendingBytes).toBeLessThanOrEqual(QUEUE);

        // Now read: what was in flight, then the end message, then the stream closes.
        res.setEncoding("utf8");
        res.resume();
        let text = "";
        res.on("data", (chunk: string) => (text += chunk));
        await new Promise((r) => res.once("end", r));
        const got = parse(text);
        const end = got.at(-1)!;
        expect(end.event).toBe("server.stream.end");
        expect(end.id).toBeUndefined();
        expect(end.data.reason).toBe("slow_client");
        const events = got.filter((m) => m.event === "big.e");
        expect(events.length).toBeLessThan(ids.length);
        expect(end.data.cursor).toBe(events.at(-1)!.id);
        expect(events.map((m) => m.data.id)).toEqual(ids.slice(0, events.length));

        // Resuming after the cursor reads on from the log: every event once, in order.
        const rest = await take(
          await fetch(url, {
            headers: {
              authorization: `Bearer ${h.tokens.read}`,
              "last-event-id": String(end.data.cursor),
            },
          }),
          ids.length - events.length,
        );
        expect([...events, ...rest].map((m) => m.data.id)).toEqual(ids);
      },
      120_000,
    );
  }
});
