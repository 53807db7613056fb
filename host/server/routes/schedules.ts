/**
 * Schedules: `GET/POST /v1/schedules`, `GET/PATCH/DELETE /v1/schedules/{name}`
 * (admin scope). Schedules are checked when added (cron, time zone,
 * capability, input schema); running hosts pick changes up at their next poll.
 * Manifest schedules are named `<plugin id>/<name>`: encode the slash (`%2F`).
 * @module
 */
import { z } from "@hono/zod-openapi";
import { HostError } from "../../errors.ts";
import type { Manifest } from "../../manifest/mod.ts";
import {
  addSchedule,
  installedManifest,
  parseDuration,
  scheduleView,
} from "../../scheduler/mod.ts";
import { MissedPolicy, ScheduleState } from "../../store/mod.ts";
import type { RouteModule, ServerDeps } from "../context.ts";
import { defineRoute, guarded } from "../route.ts";
import { problemContent } from "../schemas.ts";

const ScheduleViewSchema = z.object({
  name: z.string(),
  id: z.string(),
  pluginId: z.string(),
  capability: z.string(),
  cron: z.string().nullable(),
  every: z.string().nullable().describe("Interval as a duration (e.g. 5m), for interval schedules"),
  timezone: z.string().nullable(),
  input: z.unknown(),
  state: ScheduleState,
  missed: MissedPolicy,
  source: z.enum(["manifest", "api"]),
  pluginVersion: z.string().nullable(),
  nextRun: z.iso.datetime().nullable().describe("Next planned run (null when paused)"),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
}).openapi("Schedule");

const NewSchedule = z.object({
  name: z.string().min(1).max(128).optional().describe("Default <capability>-<random>"),
  pluginId: z.string().min(1).max(200),
  capability: z.string().min(1).max(200),
  cron: z.string().min(1).max(200).optional().describe("5 fields, or 6 with seconds first"),
  every: z.string().min(1).max(50).optional().describe("Interval instead of cron: 30s, 5m, 1h30m"),
  input: z.unknown().optional(),
  timezone: z.string().min(1).max(100).optional().describe("IANA zone of the cron (default UTC)"),
  missed: MissedPolicy.optional(),
}).openapi("NewSchedule");

const NameParam = z.object({ name: z.string().min(1).max(400) });

export const listSchedules = defineRoute("admin", {
  method: "get",
  path: "/v1/schedules",
  tags: ["schedules"],
  summary: "List schedules with their next run times",
  request: { query: z.object({ pluginId: z.string().min(1).max(200).optional() }) },
  responses: {
    200: {
      description: "Every schedule, by name",
      content: {
        "application/json": { schema: z.object({ schedules: z.array(ScheduleViewSchema) }) },
      },
    },
  },
});

export const getSchedule = defineRoute("admin", {
  method: "get",
  path: "/v1/schedules/{name}",
  tags: ["schedules"],
  summary: "One schedule (by name or id)",
  request: { params: NameParam },
  responses: {
    200: {
      description: "The schedule",
      content: { "application/json": { schema: ScheduleViewSchema } },
    },
    404: problemContent("No such schedule"),
  },
});

export const createSchedule = defineRoute("admin", {
  method: "post",
  path: "/v1/schedules",
  tags: ["schedules"],
  summary: "Add a schedule (cron or interval) that calls a capability",
  request: { body: { required: true, content: { "application/json": { schema: NewSchedule } } } },
  responses: {
    201: { description: "Added", content: { "application/json": { schema: ScheduleViewSchema } } },
    400: problemContent("Invalid cron, time zone, interval or input"),
    404: problemContent("No such plugin or capability"),
    409: problemContent("The name is taken"),
  },
});

export const updateSchedule = defineRoute("admin", {
  method: "patch",
  path: "/v1/schedules/{name}",
  tags: ["schedules"],
  summary: "Pause or resume a schedule",
  request: {
    params: NameParam,
    body: {
      required: true,
      content: { "application/json": { schema: z.object({ state: ScheduleState }) } },
    },
  },
  responses: {
    200: {
      description: "The schedule after the change",
      content: { "application/json": { schema: ScheduleViewSchema } },
    },
    404: problemContent("No such schedule"),
  },
});

export const deleteSchedule = defineRoute("admin", {
  method: "delete",
  path: "/v1/schedules/{name}",
  tags: ["schedules"],
  summary: "Remove a schedule",
  request: { params: NameParam },
  responses: {
    204: { description: "Removed" },
    404: problemContent("No such schedule"),
  },
});

export const schedules: RouteModule = {
  name: "schedules",
  register(app, deps) {
    const repo = () => deps.store.schedules;
    const missing = (name: string) =>
      new HostError("not_found", `No schedule '${name}': see GET /v1/schedules`);

    app.openapi(guarded(app, listSchedules), async (c) => {
      const list = await repo().list({ pluginId: c.req.valid("query").pluginId });
      return c.json({ schedules: list.map((s) => scheduleView(s)) }, 200);
    });
    app.openapi(guarded(app, getSchedule), async (c) => {
      const name = c.req.valid("param").name;
      const found = await repo().get(name);
      if (!found) throw missing(name);
      return c.json(scheduleView(found), 200);
    });
    app.openapi(guarded(app, createSchedule), async (c) => {
      const body = c.req.valid("json");
      if ((body.cron === undefined) === (body.every === undefined)) {
        throw new HostError("invalid_input", "Give exactly one of cron and every");
      }
      const added = await addSchedule(deps.store, await manifestOf(deps, body.pluginId), {
        name: body.name ?? `${body.capability}-${crypto.randomUUID().slice(0, 8)}`,
        pluginId: body.pluginId,
        capability: body.capability,
        ...(body.cron === undefined ? {} : { cron: body.cron }),
        ...(body.every === undefined ? {} : { intervalMs: parseDuration(body.every) }),
        ...(body.timezone === undefined ? {} : { timezone: body.timezone }),
        input: body.input ?? {},
        ...(body.missed === undefined ? {} : { missed: body.missed }),
      });
      return c.json(scheduleView(added), 201);
    });
    app.openapi(guarded(app, updateSchedule), async (c) => {
      const name = c.req.valid("param").name;
      const changed = await repo().setState(name, c.req.valid("json").state);
      if (!changed) throw missing(name);
      return c.json(scheduleView(changed), 200);
    });
    app.openapi(guarded(app, deleteSchedule), async (c) => {
      const name = c.req.valid("param").name;
      if (!(await repo().remove(name))) throw missing(name);
      return c.body(null, 204);
    });
  },
};

/** The manifest of the plugin as this host has it loaded, else as installed. */
async function manifestOf(deps: ServerDeps, pluginId: string): Promise<Manifest> {
  return deps.runtime.get(pluginId)?.manifest ??
    await installedManifest(deps.store, deps.pluginsDir, pluginId);
}
