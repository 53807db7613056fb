/**
 * The event log: `GET /v1/events` (filters, cursor pagination, oldest first)
 * and `GET /v1/events/stream` (server-sent events; each event's `id` is its
 * cursor, so a client resumes with `Last-Event-ID`).
 * @module
 */
import { z } from "@hono/zod-openapi";
import { streamSSE } from "hono/streaming";
import type { EventQuery } from "../../store/mod.ts";
import type { RouteModule, ServerDeps } from "../context.ts";
import { ProblemError } from "../problem.ts";
import { defineRoute, guarded } from "../route.ts";
import { EventPageSchema, problemContent } from "../schemas.ts";

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
    "at the time of the request.",
  request: { query: z.object(filters) },
  responses: {
    200: {
      description: "An event stream",
      content: { "text/event-stream": { schema: z.string() } },
    },
    400: problemContent("Bad filter or cursor"),
  },
});

export const events: RouteModule = {
  name: "events",
  register(app, deps) {
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
      const filter: EventQuery = { type: q.type, pluginId: q.pluginId, runId: q.runId };
      const since = cursor === undefined ? Date.now() : undefined;
      return streamSSE(c, (stream) => follow(deps, stream, filter, cursor, since));
    });
  },
};

type SseStream = Parameters<Parameters<typeof streamSSE>[1]>[0];

/** Sends matching events one by one (each with its own cursor as id) until the client or server goes. */
async function follow(
  deps: ServerDeps,
  stream: SseStream,
  filter: EventQuery,
  start: string | undefined,
  since: number | undefined,
): Promise<void> {
  let cursor = start;
  let closed = false;
  const stop = () => {
    closed = true;
  };
  stream.onAbort(stop);
  deps.shutdown.addEventListener("abort", stop, { once: true });
  let lastWrite = Date.now();
  try {
    while (!closed && !deps.shutdown.aborted) {
      // One event per query: each SSE id is then that event's own cursor, so a resume never
      // repeats or skips an event.
      const page = await deps.store.events.query({ ...filter, after: cursor, since, limit: 1 });
      const event = page.events[0];
      if (event && page.cursor !== null) {
        cursor = page.cursor;
        await stream.writeSSE({ id: cursor, event: event.type, data: JSON.stringify(event) });
        lastWrite = Date.now();
        continue;
      }
      if (Date.now() - lastWrite > 15_000) {
        await stream.write(": keep-alive\n\n");
        lastWrite = Date.now();
      }
      await stream.sleep(deps.options.streamPollMs);
    }
  } finally {
    deps.shutdown.removeEventListener("abort", stop);
  }
}
