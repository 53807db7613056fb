import { createClient } from "@libsql/client";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { followEvents, parseSince } from "../../host/cli/events.ts";
import { main } from "../../host/cli/main.ts";
import { sha256Id as sha256 } from "../../host/artifact/mod.ts";
import { type Event, openStore } from "../../host/store/mod.ts";
import { tempDb } from "./helpers.ts";

let db: ReturnType<typeof tempDb>;
beforeEach(() => {
  db = tempDb();
});
afterEach(() => db.cleanup());

async function host(args: string[], env: Record<string, string> = {}) {
  let stdout = "";
  let stderr = "";
  const code = await main(args, {
    stdout: (t) => void (stdout += t),
    stderr: (t) => void (stderr += t),
    env,
    cwd: db.dir,
  });
  return { code, stdout, stderr };
}

async function seed() {
  const store = await openStore({ url: db.url });
  const input = new TextEncoder().encode('{"name":"Zoë"}');
  const ok = await store.runs.start({
    pluginId: "example.hello",
    moduleDigest: sha256("m"),
    export: "greet",
    trigger: "cli",
    input,
    limits: { timeoutMs: 2000 },
  });
  await store.runs.finish(ok.id, {
    status: "ok",
    output: new TextEncoder().encode("hi"),
    usage: { fuel: 42, memoryPages: 2, durationMs: 7 },
  });
  const bad = await store.runs.start({
    pluginId: "example.other",
    moduleDigest: sha256("n"),
    export: "spin",
    trigger: "http",
    input,
  });
  await store.runs.finish(bad.id, {
    status: "error",
    errorClass: "timeout",
    errorMessage: "took too long",
  });
  await store.events.append({ type: "run.finished", pluginId: "example.hello", runId: ok.id });
  await store.events.append({ type: "plugin.loaded", pluginId: "example.other" });
  await store.close();
  return { ok, bad };
}

describe("host runs", () => {
  it("lists runs as JSON with digests, usage and status; --db relative to the working directory", async () => {
    const { ok, bad } = await seed();
    const result = await host(["runs", "--db", "file:./host.db", "--json"]);
    expect(result.code).toBe(0);
    const runs = JSON.parse(result.stdout);
    expect(runs.map((r: { id: string }) => r.id)).toEqual([bad.id, ok.id]);
    expect(runs[1]).toMatchObject({
      status: "ok",
      inputDigest: sha256('{"name":"Zoë"}'),
      outputDigest: sha256("hi"),
      usage: { fuel: 42, memoryPages: 2, durationMs: 7 },
    });
    const filtered = await host(["runs", "--status", "error", "--json"], { PLUGHOST_DB: db.url });
    expect(JSON.parse(filtered.stdout)).toMatchObject([{
      id: bad.id,
      error: { class: "timeout" },
    }]);
    const table = await host(["runs", "--db", db.url, "--plugin", "example.hello"]);
    expect(table.stdout).toMatch(/RUN\s+STATUS/);
    expect(table.stdout).toContain(ok.id);
    expect(table.stdout).not.toContain(bad.id);
  });

  it("shows one run, and says when a run does not exist", async () => {
    const { bad } = await seed();
    const shown = await host(["runs", "show", bad.id, "--db", db.url]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/error:\s+timeout: took too long/);
    const missing = await host(["runs", "show", "nope", "--db", db.url]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/No run 'nope'/);
  });

  it("rejects a bad --status with a usage error and leaves a missing database uncreated", async () => {
    expect((await host(["runs", "--status", "bogus", "--db", db.url])).code).toBe(64);
    const empty = await host(["runs", "--db", db.url]);
    expect(empty).toMatchObject({ code: 0, stdout: expect.stringMatching(/No runs recorded/) });
    expect((await host(["doctor", "--db", db.url])).code).toBe(1);
  });
});

describe("host events", () => {
  it("prints events filtered by type prefix, plugin, run and time", async () => {
    const { ok } = await seed();
    const all = await host(["events", "--db", db.url, "--json"]);
    const lines = all.stdout.trim().split("\n").map((l) => JSON.parse(l) as Event);
    expect(lines.map((e) => e.type)).toEqual(["run.finished", "plugin.loaded"]);
    const byType = await host(["events", "--db", db.url, "--json", "--type", "run.*"]);
    expect(byType.stdout.trim().split("\n")).toHaveLength(1);
    const byRun = await host(["events", "--db", db.url, "--run", ok.id]);
    expect(byRun.stdout).toMatch(/info\s+run\.finished host plugin=example\.hello run=/);
    const future = await host(["events", "--db", db.url, "--since", "2999-01-01T00:00:00Z"]);
    expect(future.stdout).toBe("No matching events\n");
    expect((await host(["events", "--db", db.url, "--since", "yesterday"])).code).toBe(64);
  });

  it("--limit keeps the newest events", async () => {
    await seed();
    const last = await host(["events", "--db", db.url, "--json", "--limit", "1"]);
    expect(JSON.parse(last.stdout).type).toBe("plugin.loaded");
  });

  it("follows new events until stopped", async () => {
    const store = await openStore({ url: db.url });
    const first = await store.events.append({ type: "follow.one" });
    const seen: Event[] = [];
    const stop = new AbortController();
    const following = followEvents(store, { type: "follow.*" }, stop.signal, (e) => {
      seen.push(e);
      if (seen.length === 3) stop.abort();
    }, 10);
    await store.events.append({ type: "follow.two" });
    await store.events.append({ type: "other.skip" });
    await store.events.append({ type: "follow.three" });
    await following;
    expect(seen.map((e) => e.type)).toEqual(["follow.one", "follow.two", "follow.three"]);
    expect(seen[0]).toEqual(first);
    await store.close();
  });

  it("parses --since as an ISO time or a duration ago", () => {
    expect(parseSince("15m", 1_000_000)).toBe(100_000);
    expect(parseSince("2026-01-31T12:00:00Z", 0)).toBe(Date.parse("2026-01-31T12:00:00Z"));
  });
});

describe("host doctor", () => {
  it("passes on a healthy database; a missing trust store is a warning (exit 2 with --strict)", async () => {
    const { bad } = await seed();
    // Every ended run has its terminal event in a healthy database (else: a coverage gap).
    const store = await openStore({ url: db.url });
    await store.events.append({ type: "run.failed", pluginId: "example.other", runId: bad.id });
    await store.close();
    const healthy = await host(["doctor", "--db", db.url, "--json"]);
    expect(healthy.code).toBe(0);
    const report = JSON.parse(healthy.stdout);
    expect(report.ok).toBe(true);
    expect(report.checks.filter((c: { status: string }) => c.status !== "ok")).toEqual([
      expect.objectContaining({ name: "trust", status: "warn" }),
    ]);
    expect(report.checks.map((c: { name: string }) => c.name)).toEqual([
      "database",
      "integrity",
      "wal",
      "migrations",
      "append-only",
      "run-coverage",
      "stuck-runs",
      "run-events",
      "plugins",
      "trust",
    ]);
    expect((await host(["doctor", "--db", db.url, "--strict"])).code).toBe(2);
  });

  it("fails on a file that is not a database", async () => {
    writeFileSync(db.path, "this is not a database, just some text ".repeat(200));
    const broken = await host(["doctor", "--db", db.url]);
    expect(broken.code).toBe(1);
    expect(broken.stdout).toMatch(/^fail\s+database\s+.*(not a database|file is encrypted)/m);
  });

  it("fails when the append-only triggers were dropped", async () => {
    await seed();
    const raw = createClient({ url: db.url });
    await raw.execute("DROP TRIGGER events_no_delete");
    raw.close();
    const result = await host(["doctor", "--db", db.url]);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/fail\s+append-only\s+missing trigger\(s\) events_no_delete/);
  });

  it("fails on a database that was never migrated, and on a broken trust store", async () => {
    const raw = createClient({ url: db.url });
    await raw.execute("CREATE TABLE unrelated (x)");
    raw.close();
    const trust = join(db.dir, "trust");
    mkdirSync(trust);
    writeFileSync(join(trust, "bad.pub"), "{not json");
    const result = await host(["doctor", "--db", db.url, "--trust", trust]);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/fail\s+migrations\s+\d+ of \d+ migrations not applied/);
    expect(result.stdout).toMatch(/fail\s+trust/);
  });
});
