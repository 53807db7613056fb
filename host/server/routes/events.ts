/**
 * The event log: `GET /v1/events` (filters, cursor pagination, oldest first)
 * and `GET /v1/events/stream` (server-sent events; each event's `id` is its
 * cursor, so a client resumes with `Last-Event-ID`). Streams replay in
 * batches and then share one follower of the log (host/server/stream-hub.ts);
 * each token may hold a few open, the server a bounded number (run streams
 * count too, stream-caps.ts). A client too slow for its stream's bounded
 * queue gets `server.stream.end` and resumes with its last event id.
 * @module
 */
import { z } from "@hono/zod-openapi";
import { streamSSE } from "hono/streaming";
import type { RouteModule, ServerDeps } from "../context.ts";
import { ProblemError } from "../problem.ts";
import { streamHead } from "../stream-caps.ts";
import { defineRoute, guarded } from "../route.ts";
import { EventPageSchema, problemContent } from "../schemas.ts";
import {
  type EventHub,
  ReplayGate,
  replayTexts,
  streamEndMessage,
  type StreamFilter,
  unseenText,
} from "../stream-hub.ts";

const filters = {
  type: z.string().min(1).max(200).optional().describe("Exact type, or a prefix like run.*"),
  pluginId: z.string().min(1).max(200).optional(),
  runId: z.string().min(1).max(200).optional(),
  cursor: z.string().regex(/^\d{1,15}$/).optional().describe("Events after this cursor"),
};

export const listEvents = defineRoute("read", {
  method: "get",
  path: "/v1/events",
  tags: ["events"],
  summary: "List events in commit order",
  request: {
    query: z.object({
      ...filters,
      since: z.coerce.number().int().nonnegative().optional().describe("ms since the epoch"),
      limit: z.coerce.number().int().min(1).max(1000).optional().describe("Default 100"),
    }),
  },
  responses: {
    200: {
      description: "A page of events",
      content: { "application/json": { schema: EventPageSchema } },
    },
    400: problemContent("Bad filter or cursor"),
  },
});

export const streamEvents = defineRoute("read", {
  method: "get",
  path: "/v1/events/stream",
  tags: ["events"],
  summary: "Follow events as server-sent events",
  description: "Each message has `event: <type>`, `id: <cursor>` and the event JSON as data. " +
    "Resume with the `Last-Event-ID` header (or ?cursor=); without either the stream starts " +
    "at the time of the request. A client too slow for the stream's queue gets " +
    '`event: server.stream.end` with `{"reason":"slow_client","cursor","detail"}` (no id) and ' +
    "the stream closes: reconnect with `Last-Event-ID: <cursor>`.",
  request: { query: z.object(filters) },
  responses: {
    200: {
      description: "An event stream",
      content: { "text/event-stream": { schema: z.string() } },
    },
    400: problemContent("Bad filter or cursor"),
    429: problemContent("Too many streams open for this token, or on the server"),
  },
});

export const events: RouteModule = {
  name: "events",
  register(app, deps) {
    const hub = deps.eventHub;
    const gate = new ReplayGate();
    app.openapi(guarded(app, listEvents), async (c) => {
      const q = c.req.valid("query");
      const page = await deps.store.events.query({
        type: q.type,
        pluginId: q.pluginId,
        runId: q.runId,
        since: q.since,
        after: q.cursor,
        limit: q.limit,
      });
      return c.json(page, 200);
    });
    app.openapi(guarded(app, streamEvents), (c) => {
      const q = c.req.valid("query");
      const lastId = c.req.header("last-event-id")?.trim();
      if (lastId !== undefined && lastId !== "" && !/^\d{1,15}$/.test(lastId)) {
        throw new ProblemError(
          "invalid_input",
          "Last-Event-ID must be an event id this stream sent",
        );
      }
      const cursor = lastId || q.cursor;
      const filter: StreamFilter = { type: q.type, pluginId: q.pluginId, runId: q.runId };
      const since = cursor === undefined ? Date.now() : undefined;
      // HEAD: the head a GET would get, and no stream: one taken here would never be read or
      // closed, and its slot would stay taken (Hono runs GET's handler for HEAD).
      if (c.req.method === "HEAD") return streamHead(c);
      const token = c.get("token");
      const release = deps.openStreams.take(token?.id ?? "", token?.name ?? "", deps.options);
      return streamSSE(c, async (stream) => {
        try {
          await follow(deps, hub, gate, stream, filter, cursor, since);
        } catch {
          // The client went away mid-write, or the store failed: the stream just ends
          // (a client resumes with Last-Event-ID); nothing to report to anyone.
        } finally {
          release();
        }
      });
    });
  },
};

type SseStream = Parameters<Parameters<typeof streamSSE>[1]>[0];

/** Largest text written at once while replaying; a batch of big events is split. */
const MAX_WRITE = 1024 * 1024;
/** A comment line sent after this long without an event, so proxies keep the stream. */
const KEEP_ALIVE_MS = 15_000;

/**
 * Replays the log after `start` in batches (one query and one write each,
 * yielding between them, holding at most `streamQueueBytes` of text), then
 * follows the hub; ends with `server.stream.end` if the client is too slow
 * for the hub's queue. Each message's id is the event's own cursor, so a
 * resume never repeats or skips an event.
 */
async function follow(
  deps: ServerDeps,
  hub: EventHub,
  gate: ReplayGate,
  stream: SseStream,
  filter: StreamFilter,
  start: string | undefined,
  since: number | undefined,
): Promise<void> {
  let cursor = start === undefined ? -1 : Number(start);
  let closed = false;
  const sub = await hub.subscribe(filter);
  const stop = () => {
    closed = true;
    sub.close();
  };
  stream.onAbort(stop);
  deps.shutdown.addEventListener("abort", stop, { once: true });
  // A client that left while the subscription was being set up aborted before `stop` was
  // listening; without this its stream would keep its slot for good (writes fail silently).
  if (deps.shutdown.aborted || stream.aborted) stop();
  const write = async (text: string) => {
    if (!closed) await stream.write(text);
  };
  try {
    // Replay: read straight from the store, a batch at a time, taking turns with other
    // streams (the write waits for the client outside the turn).
    for (;;) {
      const after = cursor < 0 ? undefined : String(cursor);
      const { texts, full, last } = await gate.run(async () => {
        const page = await deps.store.events.readBatch({
          ...filter,
          after,
          since,
          limit: deps.options.streamBatch,
        });
        const batch = replayTexts(page.items, deps.options.streamQueueBytes, MAX_WRITE);
        const full = batch.taken < page.items.length ||
          page.items.length === deps.options.streamBatch;
        return { texts: batch.texts, full, last: batch.last };
      });
      for (const text of texts) await write(text);
      if (last !== undefined) cursor = last;
      if (closed || !full) break;
    }
    // Live: what the hub hands over, minus what the replay already sent.
    while (!closed) {
      const next = await sub.next(KEEP_ALIVE_MS);
      if (next === "closed") return;
      if (next === "overflow") {
        await write(streamEndMessage(
          "slow_client",
          cursor,
          `This stream's client read slower than events came (more than ` +
            `${deps.options.streamQueueBytes} bytes or 5000 events waiting): reconnect with ` +
            `Last-Event-ID: ${cursor < 0 ? "(none)" : cursor} to read on from the log`,
        ));
        return;
      }
      if (next === "idle") {
        await write(": keep-alive\n\n");
        continue;
      }
      const unseen = unseenText(next, cursor);
      cursor = unseen.cursor;
      if (unseen.text !== "") await write(unseen.text);
    }
  } finally {
    deps.shutdown.removeEventListener("abort", stop);
    sub.close();
  }
}
