/**
 * RunRecords: `GET /v1/runs` (filters, cursor pagination, newest first),
 * `GET /v1/runs/{id}`, and `POST /v1/runs/{id}/replay` (docs/replay.md).
 * @module
 */
import { z } from "@hono/zod-openapi";
import { replayRun } from "../../core/replay.ts";
import { runWithDeterminism } from "../../core/run-view.ts";
import { HostError } from "../../errors.ts";
import { RunStatus } from "../../store/mod.ts";
import type { RouteModule } from "../context.ts";
import { defineRoute, guarded } from "../route.ts";
import { startedRun } from "../run-owner.ts";
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
  summary: "One RunRecord, with its determinism mode, seed and entropy sources",
  description:
    "Needs scope `read`, or the token that started the run with `?async=true` while this server keeps it. The RunRecord and `determinism` from its replay record (docs/replay.md): `mode` (strict or best-effort), the per-run `seed`, the `entropy` sources the plugin saw or used, and `unreplayable` (why it cannot be replayed, or null); `determinism` is null while the run runs or when it has no replay record. Never a recorded value (config snapshot, host-call answers), never a secret.",
  request: { params: z.object({ id: z.string().min(1).max(200) }) },
  responses: {
    200: { description: "The run", content: { "application/json": { schema: RunRecord } } },
    404: problemContent("No such run"),
  },
});

const Difference = z.object({
  field: z.enum(["outputDigest", "fuel", "status", "errorClass"]),
  original: z.union([z.string(), z.number()]).nullable(),
  replay: z.union([z.string(), z.number()]).nullable(),
});
const Side = z.object({
  status: z.string(),
  outputDigest: z.string().nullable(),
  fuel: z.number().nullable(),
});
const ReplayReportSchema = z.object({
  runId: z.string(),
  replayRunId: z.string(),
  pluginId: z.string(),
  capability: z.string().nullable(),
  mode: z.enum(["strict", "best-effort"]),
  match: z.boolean(),
  differences: z.array(Difference),
  original: Side,
  replay: Side,
}).openapi("ReplayReport");

export const replayRoute = defineRoute("admin", {
  method: "post",
  path: "/v1/runs/{id}/replay",
  tags: ["runs"],
  summary: "Replay a run and compare its output digest, fuel and outcome",
  description:
    "Re-runs the recorded run through the one invoke (trigger replay, parentRunId the original) with its recorded input, limits, determinism mode, seed and host-call answers. 200 with the report whether or not it matched: `match` false with `mode` strict is a determinism failure. 422 not_replayable with the reason when the run cannot be replayed.",
  request: { params: z.object({ id: z.string().min(1).max(200) }) },
  responses: {
    200: {
      description: "The replay report",
      content: { "application/json": { schema: ReplayReportSchema } },
    },
    404: problemContent("No such run"),
    422: problemContent("The run cannot be replayed (not_replayable, with the reason)"),
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
    app.openapi(guarded(app, getRun, { except: startedRun(deps) }), async (c) => {
      const id = c.req.valid("param").id;
      const record = await runWithDeterminism(deps.store, id);
      if (!record) throw new HostError("not_found", `No run '${id}': see GET /v1/runs`);
      return c.json(record, 200);
    });
    app.openapi(guarded(app, replayRoute), async (c) => {
      const id = c.req.valid("param").id;
      const report = await replayRun({
        runs: deps.store.runs,
        replay: deps.store.replay,
        get: (pluginId) => deps.runtime.get(pluginId),
        invoke: (request) => deps.runtime.invoke(request),
      }, id);
      return c.json(report, 200);
    });
  },
};
