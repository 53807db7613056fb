/**
 * RunRecords: `GET /v1/runs` (filters, cursor pagination, newest first) and
 * `GET /v1/runs/{id}`.
 * @module
 */
import { z } from "@hono/zod-openapi";
import { HostError } from "../../errors.ts";
import { RunStatus } from "../../store/mod.ts";
import type { RouteModule } from "../context.ts";
import { defineRoute, guarded } from "../route.ts";
import { problemContent, RunPageSchema, RunRecord } from "../schemas.ts";

export const listRuns = defineRoute("read", {
  method: "get",
  path: "/v1/runs",
  tags: ["runs"],
  summary: "List RunRecords, newest first",
  request: {
    query: z.object({
      pluginId: z.string().min(1).max(200).optional(),
      status: RunStatus.optional(),
      cursor: z.string().min(1).max(200).optional().describe("From a previous page"),
      limit: z.coerce.number().int().min(1).max(1000).optional().describe("Default 50"),
    }),
  },
  responses: {
    200: {
      description: "A page of runs",
      content: { "application/json": { schema: RunPageSchema } },
    },
    400: problemContent("Bad filter"),
  },
});

export const getRun = defineRoute("read", {
  method: "get",
  path: "/v1/runs/{id}",
  tags: ["runs"],
  summary: "One RunRecord",
  request: { params: z.object({ id: z.string().min(1).max(200) }) },
  responses: {
    200: { description: "The run", content: { "application/json": { schema: RunRecord } } },
    404: problemContent("No such run"),
  },
});

export const runs: RouteModule = {
  name: "runs",
  register(app, deps) {
    app.openapi(guarded(app, listRuns), async (c) => {
      const q = c.req.valid("query");
      const page = await deps.store.runs.list({
        pluginId: q.pluginId,
        status: q.status,
        before: q.cursor,
        limit: q.limit,
      });
      return c.json(page, 200);
    });
    app.openapi(guarded(app, getRun), async (c) => {
      const id = c.req.valid("param").id;
      const record = await deps.store.runs.get(id);
      if (!record) throw new HostError("not_found", `No run '${id}': see GET /v1/runs`);
      return c.json(record, 200);
    });
  },
};
