/**
 * Event delivery (docs/delivery.md): `GET /v1/events/subscribers` (cursor,
 * lag and counts per onEvent subscriber), `GET /v1/events/dead-letters`, and
 * `POST /v1/events/dead-letters/{id}/redeliver` (admin scope), which queues
 * the event for one more attempt by the host delivering to that plugin.
 * @module
 */
import { z } from "@hono/zod-openapi";
import { deadLetterStates } from "../../store/schema/delivery.ts";
import type { RouteModule } from "../context.ts";
import { defineRoute, guarded } from "../route.ts";
import { problemContent } from "../schemas.ts";

const SubscriberSchema = z.object({
  pluginId: z.string(),
  cursor: z.number().int().describe("Rowid of the last event handled (an event cursor)"),
  lag: z.number().int().describe("Events in the log after the cursor"),
  holder: z.string().nullable().describe("The host delivering to it, if any"),
  leaseExpiresAt: z.number().int(),
  delivered: z.number().int(),
  failures: z.number().int(),
  deadLettered: z.number().int(),
  expired: z.number().int(),
  updatedAt: z.number().int(),
}).openapi("EventSubscriber");

const DeadLetterSchema = z.object({
  id: z.string(),
  pluginId: z.string(),
  eventId: z.string(),
  eventCursor: z.number().int(),
  topic: z.string(),
  attempts: z.number().int(),
  errorClass: z.string(),
  errorMessage: z.string(),
  lastRunId: z.string().nullable(),
  state: z.enum(deadLetterStates),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
}).openapi("DeadLetter");

export const listSubscribers = defineRoute("read", {
  method: "get",
  path: "/v1/events/subscribers",
  tags: ["events"],
  summary: "Event subscribers: cursor, lag and delivery counts",
  request: { query: z.object({ pluginId: z.string().min(1).max(200).optional() }) },
  responses: {
    200: {
      description: "Every subscriber the database knows",
      content: {
        "application/json": { schema: z.object({ subscribers: z.array(SubscriberSchema) }) },
      },
    },
  },
});

export const listDeadLetters = defineRoute("read", {
  method: "get",
  path: "/v1/events/dead-letters",
  tags: ["events"],
  summary: "Events a subscriber failed on every attempt, newest first",
  request: {
    query: z.object({
      pluginId: z.string().min(1).max(200).optional(),
      state: z.enum(deadLetterStates).optional(),
      limit: z.coerce.number().int().min(1).max(1000).optional().describe("Default 100"),
    }),
  },
  responses: {
    200: {
      description: "Dead letters",
      content: {
        "application/json": { schema: z.object({ deadLetters: z.array(DeadLetterSchema) }) },
      },
    },
    400: problemContent("Bad filter"),
  },
});

export const redeliver = defineRoute("admin", {
  method: "post",
  path: "/v1/events/dead-letters/{id}/redeliver",
  tags: ["events"],
  summary: "Queue a dead letter for redelivery",
  description: "The host delivering to the plugin makes one more attempt at its next poll; " +
    "the dead letter ends `redelivered`, or `dead` again with the new error.",
  request: { params: z.object({ id: z.string().min(1).max(100) }) },
  responses: {
    202: {
      description: "Queued (state pending)",
      content: { "application/json": { schema: DeadLetterSchema } },
    },
    404: problemContent("No such dead letter"),
    409: problemContent("Already pending or redelivered"),
  },
});

export const delivery: RouteModule = {
  name: "delivery",
  register(app, deps) {
    app.openapi(guarded(app, listSubscribers), async (c) => {
      const { pluginId } = c.req.valid("query");
      const head = await deps.store.delivery.head();
      const subscribers = (await deps.store.delivery.subscriptions())
        .filter((s) => pluginId === undefined || s.pluginId === pluginId)
        .map((s) => ({ ...s, lag: Math.max(0, head - s.cursor) }));
      return c.json({ subscribers }, 200);
    });
    app.openapi(guarded(app, listDeadLetters), async (c) => {
      const q = c.req.valid("query");
      const deadLetters = await deps.store.delivery.deadLetters({
        pluginId: q.pluginId,
        state: q.state,
        ...(q.limit === undefined ? {} : { limit: q.limit }),
      });
      return c.json({ deadLetters }, 200);
    });
    app.openapi(guarded(app, redeliver), async (c) => {
      const letter = await deps.store.delivery.requestRedelivery(
        c.req.valid("param").id,
        Date.now(),
      );
      deps.log(`queued dead letter ${letter.id} (event ${letter.eventId} to ${letter.pluginId})`);
      return c.json(letter, 202);
    });
  },
};
