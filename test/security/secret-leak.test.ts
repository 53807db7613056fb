/**
 * A plugin that reads its secret and hands it to the host every way it can
 * (event payload value and key, a long log line, a KV value, its output, an
 * error message, another plugin's input) leaves no copy of the value in the
 * database file or its WAL, nor in any HTTP response; each granted read is a
 * `secret.read` audit event without the value.
 */
import { existsSync, readFileSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { envSecrets } from "../../host/capabilities/mod.ts";
import { MAX_LOG_MESSAGE } from "../../host/capabilities/logger.ts";
import { createApp } from "../../host/server/app.ts";
import type { ServerApp } from "../../host/server/context.ts";
import { TokensRepository } from "../../host/store/mod.ts";
import { type TestHost, testHost } from "../capabilities/harness.ts";
import { ops, probeWasm, signedProbe } from "../capabilities/probe.ts";

// Random per run, so a hit can only be this test's value.
const SECRET = `tok-${crypto.randomUUID()}`;
const OTHER = `other-${crypto.randomUUID()}`;

describe("a plugin that leaks its secret", () => {
  let t: TestHost;
  let app: ServerApp;
  let token = "";
  const responses: string[] = [];
  const request = async (path: string, init: RequestInit = {}) => {
    const headers = new Headers(init.headers);
    headers.set("authorization", `Bearer ${token}`);
    const response = await app.request(path, { ...init, headers });
    const text = await response.text();
    responses.push(text);
    return { status: response.status, text };
  };

  beforeAll(async () => {
    await probeWasm();
    t = await testHost({
      secrets: envSecrets("T_", { T_API_TOKEN: SECRET, T_GRANTED_ONLY: OTHER }),
    });
    await t.host.runtime.load(
      await signedProbe(t.key, "t.leak", {
        events: { publish: ["probe.*"] },
        kv: { quotaBytes: 1_000_000 },
        secrets: ["API_TOKEN", "GRANTED_ONLY"],
        invoke: ["t.sink/run"],
      }),
      "test",
    );
    await t.host.runtime.load(await signedProbe(t.key, "t.sink", {}), "test");
    token = (await new TokensRepository(t.host.store.db).create({ name: "t", scopes: ["admin"] }))
      .token;
    app = createApp({ host: t.host, options: { rateLimitPerSecond: 0 } }).app;
  }, 120_000);
  afterAll(() => {
    // The last test closes the host itself, to read the files once they are at rest.
    if (t) rmSync(t.home, { recursive: true, force: true });
  });

  it("redacts the value from the output the caller gets, over HTTP too", async () => {
    const { status, text } = await request("/v1/plugins/t.leak/capabilities/run", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(ops({ leak: "API_TOKEN", topic: "probe.leak", sink: "t.sink" })),
    });
    expect(status).toBe(200);
    expect(JSON.parse(text)).toEqual([
      { published: true, stored: true, invoked: true, value: "[redacted]" },
    ]);
    expect(text).not.toContain(SECRET);
  });

  it("redacts it from the event payload (values and keys), the log lines and KV", async () => {
    const events = await t.events();
    const published = events.find((e) => e.type === "plugin.t.leak.probe.leak");
    expect(published?.payload).toEqual({ token: "[redacted]", "k[redacted]": 1 });
    const lines = events.filter((e) => e.type === "plugin.log").map((e) =>
      (e.payload as { message: string }).message
    );
    expect(lines).toContain("token=[redacted]");
    // The long line holds the value across the 8192-character cut: it is redacted before the
    // cut, so no prefix of it survives, and the cut falls before the whole marker.
    const long = lines.find((l) => l.startsWith("xxxx"))!;
    expect(long).toBe(`${"x".repeat(8180)} token=…`);
    expect(long).not.toContain(SECRET.slice(0, 4));
    const snapshot = await t.host.store.kv.snapshot("t.leak");
    expect(snapshot.entries.get("stored")?.value).toBe("v=[redacted]");
    t.host.store.kv.release(snapshot);
  });

  it("redacts it from error messages (RunRecord, run.failed, the HTTP problem)", async () => {
    const { status, text } = await request("/v1/plugins/t.leak/capabilities/run", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(ops({ failSecret: "API_TOKEN" })),
    });
    expect(status).toBeGreaterThanOrEqual(400);
    expect(text).toContain("bad token [redacted]");
  });

  it("hands another plugin the redacted value, never the secret", async () => {
    const child = (await t.host.store.runs.list({ pluginId: "t.sink", limit: 10 })).runs;
    expect(child.length).toBe(1);
    const lines = (await t.events({ runId: child[0]!.id })).filter((e) => e.type === "plugin.log");
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line.payload).toEqual({ message: "[redacted]" });
  });

  it("audits every granted read as secret.read, without the value", async () => {
    const reads = await t.events({ type: "secret.read" });
    // One per run that read (a call the sandbox re-runs reads, and is audited, again).
    expect(new Set(reads.map((e) => e.runId)).size).toBe(2);
    expect(reads[0]!.pluginId).toBe("t.leak");
    expect(reads[0]!.runId).not.toBeNull();
    expect(reads[0]!.payload).toEqual({ name: "API_TOKEN", provider: "env" });
  });

  it("leaves no copy in any HTTP response nor in the database file and its WAL", async () => {
    for (const path of ["/v1/events?limit=1000", "/v1/runs?limit=100"]) {
      const { status, text } = await request(path);
      expect(status).toBe(200);
      const runs = path.startsWith("/v1/runs") ? JSON.parse(text).runs as { id: string }[] : [];
      for (const run of runs) await request(`/v1/runs/${run.id}`);
    }
    for (const text of responses) {
      expect(text).not.toContain(SECRET);
      expect(text).not.toContain(OTHER);
    }
    await t.host.store.flush();
    const db = fileURLToPath(t.host.store.url);
    await t.host.close();
    const files = [db, `${db}-wal`].filter(existsSync);
    expect(files.length).toBeGreaterThan(0);
    const bytes = Buffer.concat(files.map((file) => readFileSync(file)));
    expect(bytes.includes(Buffer.from(SECRET))).toBe(false);
    expect(bytes.includes(Buffer.from(OTHER))).toBe(false);
    // The search finds what is there: the redacted copies, and the value's audit trail.
    expect(bytes.includes(Buffer.from("v=[redacted]"))).toBe(true);
    expect(bytes.includes(Buffer.from("secret.read"))).toBe(true);
  });
});

describe("redaction of values the run did not read", () => {
  let t: TestHost;
  beforeAll(async () => {
    await probeWasm();
    t = await testHost({ secrets: envSecrets("T_", { T_GRANTED_ONLY: OTHER }) });
    await t.host.runtime.load(
      await signedProbe(t.key, "t.granted", { secrets: ["GRANTED_ONLY"] }),
      "test",
    );
    await t.host.runtime.load(await signedProbe(t.key, "t.ungranted", {}), "test");
  }, 120_000);
  afterAll(async () => await t?.close());

  it("redacts every value granted to the plugin, read or not; not another plugin's", async () => {
    const granted = await t.call(
      "t.granted",
      "run",
      ops({ log: `echo ${OTHER}` }, { fail: OTHER }),
    );
    expect(granted.ok ? "" : granted.error.message).toBe("[redacted]");
    await t.call("t.ungranted", "run", ops({ log: `echo ${OTHER}` }));
    const lines = (await t.events({ type: "plugin.log" })).map((e) =>
      `${e.pluginId}: ${(e.payload as { message: string }).message}`
    );
    // Distinct lines: a call the sandbox re-runs after its main-thread slice logs again.
    expect([...new Set(lines)]).toEqual([
      "t.granted: echo [redacted]",
      `t.ungranted: echo ${OTHER}`,
    ]);
    expect(await t.events({ type: "secret.read" })).toEqual([]);
  });

  it("redacts a value that straddles the log line cut before cutting", async () => {
    const pad = (before: number) => "y".repeat(MAX_LOG_MESSAGE - before);
    await t.call(
      "t.granted",
      "run",
      ops(
        { log: pad(1) + OTHER },
        { log: pad(6) + OTHER + " and more" },
        // The marker fits before the cut here: the line is cut in the text after it.
        { log: pad(OTHER.length - 1) + OTHER + "z".repeat(100) },
      ),
    );
    const lines = new Set(
      (await t.events({ type: "plugin.log" }))
        .filter((e) => e.pluginId === "t.granted")
        .map((e) => (e.payload as { message: string }).message)
        .filter((m) => m.startsWith("yyyy")),
    );
    const fits = `${pad(OTHER.length - 1)}[redacted]${"z".repeat(100)}`.slice(0, MAX_LOG_MESSAGE);
    expect([...lines]).toEqual([`${pad(1)}…`, `${pad(6)}…`, `${fits}…`]);
    for (const line of lines) expect(line).not.toContain(OTHER.slice(0, 6));
  });
});
