import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type Harness, harness } from "../server/harness.ts";

describe("/v1/schedules", () => {
  let h: Harness;
  beforeEach(async () => (h = await harness()));
  afterEach(async () => await h.close());

  const post = (body: unknown, token = h.tokens.admin) =>
    h.call("/v1/schedules", {
      method: "POST",
      token,
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });

  it("adds, lists, shows, pauses, resumes and removes schedules (admin only)", async () => {
    const before = Date.now();
    const created = await post({
      name: "greet-often",
      pluginId: "example.hello",
      capability: "greet",
      cron: "*/30 * * * * *",
      input: { name: "api" },
      timezone: "Europe/Berlin",
    });
    expect(created.status).toBe(201);
    const view = await created.json() as Record<string, unknown>;
    expect(view).toMatchObject({
      name: "greet-often",
      cron: "*/30 * * * * *",
      timezone: "Europe/Berlin",
      state: "active",
      source: "api",
    });
    const next = Date.parse(view.nextRun as string);
    expect(next % 30_000).toBe(0);
    // The next run comes after the request (however long the request took).
    expect(next).toBeGreaterThan(before);

    const interval = await post({
      pluginId: "example.hello",
      capability: "greet",
      every: "1h30m",
      input: { name: "api" },
      missed: "catch-up-once",
    });
    expect(interval.status).toBe(201);
    expect(await interval.json()).toMatchObject({ every: "1h30m", missed: "catch-up-once" });

    expect((await h.call("/v1/schedules", { token: h.tokens.read })).status).toBe(403);
    expect((await h.call("/v1/schedules")).status).toBe(401);
    expect((await post({ pluginId: "example.hello" }, h.tokens.invoke)).status).toBe(403);

    const list = await (await h.call("/v1/schedules", { token: h.tokens.admin })).json() as {
      schedules: { name: string }[];
    };
    expect(list.schedules.map((s) => s.name)).toContain("greet-often");
    expect(list.schedules).toHaveLength(2);

    const paused = await h.call("/v1/schedules/greet-often", {
      method: "PATCH",
      token: h.tokens.admin,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ state: "paused" }),
    });
    expect(await paused.json()).toMatchObject({ state: "paused", nextRun: null });
    const shown = await h.call("/v1/schedules/greet-often", { token: h.tokens.admin });
    expect(await shown.json()).toMatchObject({ state: "paused" });

    const del = await h.call("/v1/schedules/greet-often", {
      method: "DELETE",
      token: h.tokens.admin,
    });
    expect(del.status).toBe(204);
    const gone = await h.call("/v1/schedules/greet-often", { token: h.tokens.admin });
    expect(gone.status).toBe(404);
    expect(gone.headers.get("content-type")).toMatch(/application\/problem\+json/);
  });

  it("refuses invalid schedules with problem details", async () => {
    const base = { pluginId: "example.hello", capability: "greet", input: { name: "x" } };
    const badCron = await post({ ...base, cron: "99 * * * *" });
    expect(badCron.status).toBe(400);
    expect((await badCron.json() as { detail: string }).detail).toMatch(
      /Invalid cron expression '99 \* \* \* \*'/,
    );
    const unknown = await post({ ...base, capability: "shout", cron: "* * * * *" });
    expect(unknown.status).toBe(404);
    expect((await unknown.json() as { detail: string }).detail).toMatch(/no capability 'shout'/);
    const noPlugin = await post({ ...base, pluginId: "example.none", cron: "* * * * *" });
    expect(noPlugin.status).toBe(404);
    expect((await post({ ...base })).status).toBe(400);
    expect((await post({ ...base, cron: "* * * * *", every: "5s" })).status).toBe(400);
    expect((await post({ ...base, input: {}, cron: "* * * * *" })).status).toBe(400);
    await post({ ...base, name: "dup", cron: "* * * * *" });
    expect((await post({ ...base, name: "dup", every: "5s" })).status).toBe(409);
  });
});
