/**
 * Every host function granted and denied, through openHost + runtime.invoke
 * with the probe plugin (real store, real sandbox, real signatures).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_ASKED } from "../../host/capabilities/audit.ts";
import { envSecrets } from "../../host/capabilities/mod.ts";
import { outputOf, type TestHost, testHost } from "./harness.ts";
import { ops, probeWasm, signedProbe } from "./probe.ts";

const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;

const SECRET = "s3cr3t-Zoë-🎉-value";

describe("capability host functions", () => {
  let t: TestHost;
  beforeAll(async () => {
    await probeWasm();
    t = await testHost({
      secrets: envSecrets("T_", { T_API_TOKEN: SECRET, T_OTHER: "other-secret" }),
      policy: { logLinesPerRun: 5, publishPerRun: 6 },
    });
    await t.host.runtime.load(
      await signedProbe(t.key, "t.kv", { kv: { quotaBytes: 100 } }),
      "test",
    );
    await t.host.runtime.load(await signedProbe(t.key, "t.kv2", { kv: { quotaBytes: 100 } }), "t");
    await t.host.runtime.load(await signedProbe(t.key, "t.none", {}), "test");
    await t.host.runtime.load(
      await signedProbe(t.key, "t.pub", {
        events: { publish: ["probe.*", "deep.**"] },
        secrets: ["API_TOKEN", "UNSET"],
      }),
      "test",
    );
  }, 120_000);
  afterAll(async () => await t?.close());

  const run = async (id: string, ...list: Record<string, unknown>[]) =>
    outputOf(await t.call(id, "run", ops(...list))) as unknown[];

  describe("kv", () => {
    it("sets, gets, lists in UTF-8 byte order with pages, and deletes", async () => {
      const keys = ["b", "a", "\u{1F389}", "\uFFFD", "a/2", "a/1"];
      await run("t.kv", ...keys.map((key) => ({ fn: "kv_set", req: { key, value: "v" } })));
      const out = await run(
        "t.kv",
        { fn: "kv_get", req: { key: "a" } },
        { fn: "kv_get", req: { key: "missing" } },
        { fn: "kv_list", req: {} },
        { fn: "kv_list", req: { prefix: "a", limit: 2 } },
        { fn: "kv_list", req: { prefix: "a", limit: 2, cursor: "a/1" } },
        { fn: "kv_delete", req: { key: "b" } },
        { fn: "kv_delete", req: { key: "b" } },
        { fn: "kv_get", req: { key: "b" } },
      );
      expect(out).toEqual([
        { ok: { value: "v" } },
        { ok: { value: null } },
        // U+FFFD (EF BF BD) sorts before U+1F389 (F0 ...) in UTF-8, unlike in UTF-16.
        { ok: { keys: ["a", "a/1", "a/2", "b", "\uFFFD", "\u{1F389}"], cursor: null } },
        { ok: { keys: ["a", "a/1"], cursor: "a/1" } },
        { ok: { keys: ["a/2"], cursor: null } },
        { ok: { deleted: true } },
        { ok: { deleted: false } },
        { ok: { value: null } },
      ]);
      // The call's writes are committed: another call (and the store) sees them.
      expect(await run("t.kv", { fn: "kv_get", req: { key: "b" } })).toEqual([
        { ok: { value: null } },
      ]);
      expect((await t.host.store.kv.usage("t.kv")).keys).toBe(5);
      // The next calls list after commits that set and delete keys: the order kv_list keeps
      // follows each commit's keys (KvSnapshot.changed), without sorting the namespace again.
      await run("t.kv", { fn: "kv_set", req: { key: "a/0", value: "v" } });
      expect(await run("t.kv", { fn: "kv_list", req: {} })).toEqual([
        { ok: { keys: ["a", "a/0", "a/1", "a/2", "\uFFFD", "\u{1F389}"], cursor: null } },
      ]);
      await run(
        "t.kv",
        { fn: "kv_delete", req: { key: "a/1" } },
        { fn: "kv_set", req: { key: "c", value: "v" } },
      );
      expect(await run("t.kv", { fn: "kv_list", req: {} })).toEqual([
        { ok: { keys: ["a", "a/0", "a/2", "c", "\uFFFD", "\u{1F389}"], cursor: null } },
      ]);
    });

    it("keeps namespaces apart: another plugin does not see the keys", async () => {
      await run("t.kv", { fn: "kv_set", req: { key: "mine", value: "1" } });
      expect(await run("t.kv2", { fn: "kv_get", req: { key: "mine" } })).toEqual([
        { ok: { value: null } },
      ]);
    });

    it("refuses a write past the quota with quota_exceeded, and lets a shrinking write through", async () => {
      const big = "x".repeat(60);
      const out = await run(
        "t.kv2",
        { fn: "kv_set", req: { key: "big", value: big } },
        { fn: "kv_set", req: { key: "big2", value: big } },
        { fn: "kv_set", req: { key: "big", value: "small" } },
        { fn: "kv_set", req: { key: "big2", value: big } },
      );
      expect(out[0]).toEqual({ ok: null });
      expect(out[1]).toMatchObject({ error: { code: "quota_exceeded" } });
      expect((out[1] as { error: { message: string } }).error.message).toContain("100-byte quota");
      expect(out[2]).toEqual({ ok: null });
      expect(out[3]).toEqual({ ok: null });
      expect(await t.host.store.kv.usage("t.kv2")).toEqual({
        keys: 2,
        bytes: 3 + 5 + 4 + 60,
      });
    });

    it("drops every write of a call that fails", async () => {
      const result = await t.call(
        "t.kv2",
        "run",
        ops({ fn: "kv_set", req: { key: "doomed", value: "1" } }, { fail: "on purpose" }),
      );
      expect(result.ok).toBe(false);
      expect(await run("t.kv2", { fn: "kv_get", req: { key: "doomed" } })).toEqual([
        { ok: { value: null } },
      ]);
    });

    it("answers invalid_input for bad requests, naming the member", async () => {
      const out = await run(
        "t.kv",
        { fn: "kv_get", req: { key: "" } },
        { fn: "kv_get", req: { key: "k".repeat(513) } },
        { fn: "kv_set", req: { key: "k" } },
        { fn: "kv_list", req: { limit: 0 } },
        { fn: "kv_get", req: { nokey: 1 } },
      );
      for (const r of out) expect(r).toMatchObject({ error: { code: "invalid_input" } });
      expect(JSON.stringify(out[2])).toContain('\\"value\\"');
    });

    it("denies all four functions without permissions.kv, each audited", async () => {
      const out = await run(
        "t.none",
        { fn: "kv_get", req: { key: "k1" } },
        { fn: "kv_set", req: { key: "k2", value: "v" } },
        { fn: "kv_delete", req: { key: "k3" } },
        { fn: "kv_list", req: { prefix: "p" } },
      );
      for (const r of out) expect(r).toMatchObject({ error: { code: "permission_denied" } });
      const audit = (await t.events({ type: "audit.denied" })).filter((e) =>
        e.pluginId === "t.none"
      );
      expect(audit.map((e) => e.payload)).toEqual([
        expect.objectContaining({ function: "kv_get", asked: { key: "k1" } }),
        expect.objectContaining({ function: "kv_set", asked: { key: "k2" } }),
        expect.objectContaining({ function: "kv_delete", asked: { key: "k3" } }),
        expect.objectContaining({ function: "kv_list", asked: { prefix: "p" } }),
      ]);
    });
  });

  describe("event_publish", () => {
    it("publishes granted topics into the event log with the run id and source", async () => {
      const result = await t.call(
        "t.pub",
        "run",
        ops(
          { fn: "event_publish", req: { topic: "probe.done", payload: { n: 1, s: "Zoë" } } },
          { fn: "event_publish", req: { topic: "deep.a.b" } },
        ),
      );
      const answers = outputOf(result) as { ok: { id: string } }[];
      expect(answers).toEqual([{ ok: { id: expect.stringMatching(ULID) } }, {
        ok: { id: expect.stringMatching(ULID) },
      }]);
      const events = await t.events({ runId: result.runId });
      const published = events.filter((e) => e.type !== "run.finished");
      expect(published.map((e) => e.id)).toEqual(answers.map((a) => a.ok.id));
      expect(published).toEqual([
        expect.objectContaining({
          // Namespaced under the publisher: plugin.<id>.<topic>.
          type: "plugin.t.pub.probe.done",
          source: "plugin:t.pub",
          pluginId: "t.pub",
          runId: result.runId,
          payload: { n: 1, s: "Zoë" },
        }),
        expect.objectContaining({ type: "plugin.t.pub.deep.a.b", payload: null }),
      ]);
    });

    it("denies a topic that would land in the namespace of a plugin whose id extends the publisher's", async () => {
      // t.pub publishing probe.done writes plugin.t.pub.probe.done: with a plugin t.pub.probe
      // loaded, that is the type of its own `done`.
      await t.host.runtime.load(await signedProbe(t.key, "t.pub.probe", {}), "test");
      try {
        const out = await run(
          "t.pub",
          { fn: "event_publish", req: { topic: "probe.done" } },
          { fn: "event_publish", req: { topic: "deep.x" } },
        );
        expect(out[0]).toMatchObject({ error: { code: "permission_denied" } });
        expect(JSON.stringify(out[0])).toContain("t.pub.probe");
        expect(out[1]).toMatchObject({ ok: { id: expect.stringMatching(ULID) } });
      } finally {
        await t.host.runtime.unload("t.pub.probe");
      }
    });

    it("denies topics outside the patterns and the host's own topics, audited; refuses bad topics", async () => {
      const out = await run(
        "t.pub",
        { fn: "event_publish", req: { topic: "probe.a.b" } },
        { fn: "event_publish", req: { topic: "other.x" } },
        { fn: "event_publish", req: { topic: "run.finished" } },
        { fn: "event_publish", req: { topic: "probe..x" } },
      );
      expect(out.slice(0, 3)).toEqual([
        expect.objectContaining({ error: expect.objectContaining({ code: "permission_denied" }) }),
        expect.objectContaining({ error: expect.objectContaining({ code: "permission_denied" }) }),
        expect.objectContaining({ error: expect.objectContaining({ code: "permission_denied" }) }),
      ]);
      expect(out[3]).toMatchObject({ error: { code: "invalid_input" } });
      const asked = (await t.events({ type: "audit.denied" })).filter((e) => e.pluginId === "t.pub")
        .map((e) => (e.payload as { asked: unknown }).asked);
      expect(asked).toEqual(
        expect.arrayContaining([
          { topic: "probe.a.b" },
          { topic: "other.x" },
          { topic: "run.finished" },
        ]),
      );
    });

    it("rate-limits publishing per run, log lines counting against the same budget", async () => {
      const out = await run(
        "t.pub",
        ...Array.from({ length: 7 }, () => ({ fn: "event_publish", req: { topic: "probe.x" } })),
      );
      expect(out[5]).toEqual({ ok: { id: expect.stringMatching(ULID) } });
      expect(out[6]).toMatchObject({ error: { code: "rate_limited" } });
      const mixed = await run(
        "t.pub",
        { log: "a" },
        { log: "b" },
        ...Array.from({ length: 5 }, () => ({ fn: "event_publish", req: { topic: "probe.x" } })),
      );
      // Log ops answer nothing: the five answers are the publishes; 2 lines + 4 publishes = 6.
      expect(mixed[3]).toEqual({ ok: { id: expect.stringMatching(ULID) } });
      expect(mixed[4]).toMatchObject({ error: { code: "rate_limited" } });
    });
  });

  describe("secret_get", () => {
    it("returns a declared secret; undeclared is permission_denied (audited); unset is not_found", async () => {
      const out = await run(
        "t.pub",
        { fn: "secret_get", req: { name: "API_TOKEN" } },
        { fn: "secret_get", req: { name: "OTHER" } },
        { fn: "secret_get", req: { name: "UNSET" } },
      );
      // The output the host hands back has the value redacted (the next test but one shows the
      // plugin got it).
      expect(out[0]).toEqual({ ok: { value: "[redacted]" } });
      expect(out[1]).toMatchObject({ error: { code: "permission_denied" } });
      expect(out[2]).toMatchObject({ error: { code: "not_found" } });
      const audit = (await t.events({ type: "audit.denied" })).filter((e) =>
        JSON.stringify(e.payload).includes("OTHER")
      );
      expect(audit).toHaveLength(1);
      expect(JSON.stringify(audit)).not.toContain("other-secret");
    });

    it("audits a denial of a huge name with the name cut, not dropped past the payload limit", async () => {
      const name = "N".repeat(300_000);
      const out = await run("t.pub", { fn: "secret_get", req: { name } });
      expect(out[0]).toMatchObject({ error: { code: "permission_denied" } });
      const audit = (await t.events({ type: "audit.denied" })).filter((e) =>
        JSON.stringify(e.payload).includes("NNNN")
      );
      expect(audit).toHaveLength(1);
      const asked = (audit[0]!.payload as { asked: Record<string, string> }).asked;
      const text = Object.values(asked).find((v) => v.startsWith("NNNN"))!;
      expect(text.length).toBe(MAX_ASKED);
      expect(text.endsWith("…")).toBe(true);
    });

    it("never writes a secret's value to events, logs, run records or error messages", async () => {
      await t.call(
        "t.pub",
        "run",
        ops({ fn: "secret_get", req: { name: "API_TOKEN" } }, { logSecret: "API_TOKEN" }),
      );
      const failed = await t.call("t.pub", "run", ops({ failSecret: "API_TOKEN" }));
      expect(failed.ok).toBe(false);
      if (!failed.ok) {
        expect(failed.error.message).toContain("bad token [redacted]");
        expect(failed.error.message).not.toContain(SECRET);
      }
      const logged = (await t.events({ type: "plugin.log" })).filter((e) =>
        JSON.stringify(e.payload).includes("the token is")
      );
      expect(logged).toHaveLength(1);
      expect(logged[0]!.payload).toEqual({ message: "the token is [redacted]" });
      // Search every row of every table of the database for the value.
      await t.host.store.flush();
      const client = t.host.store.client;
      const tables = await client.execute("SELECT name FROM sqlite_master WHERE type = 'table'");
      let rows = 0;
      for (const row of tables.rows) {
        const all = await client.execute(`SELECT * FROM "${String(row[0])}"`);
        for (const r of all.rows) {
          rows++;
          const cells = Array.from(
            r,
            (v) => v instanceof ArrayBuffer ? new TextDecoder().decode(v) : String(v),
          );
          for (const cell of cells) {
            expect(cell).not.toContain(SECRET);
            expect(cell).not.toContain("s3cr3t");
          }
        }
      }
      expect(rows).toBeGreaterThan(10);
    });

    it("hands the plugin the value itself (after the search above: the input holds the value)", async () => {
      expect(await run("t.pub", { secretIs: "API_TOKEN", value: SECRET })).toEqual([
        { secretIs: true },
      ]);
    });
  });

  describe("logging", () => {
    it("writes plugin.log events with the run id, at most logLinesPerRun per run", async () => {
      const result = await t.call(
        "t.none",
        "run",
        ops(...Array.from({ length: 8 }, (_, i) => ({ log: `line ${i}` }))),
      );
      expect(result.ok).toBe(true);
      const events = await t.events({ runId: result.runId });
      const lines = events.filter((e) => e.type === "plugin.log");
      expect(lines.map((e) => (e.payload as { message: string }).message)).toEqual([
        "line 0",
        "line 1",
        "line 2",
        "line 3",
        "line 4",
      ]);
      expect(lines.every((e) => e.level === "info" && e.pluginId === "t.none")).toBe(true);
      expect(events.find((e) => e.type === "plugin.log_dropped")?.payload).toEqual({
        dropped: 3,
        limit: 5,
      });
    });
  });
});
