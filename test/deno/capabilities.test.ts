/**
 * The capability host functions on Deno, through openHost + runtime.invoke:
 * KV counting and denial, secrets and events, HTTP in worker mode.
 * Run: npx deno test -A test/deno/capabilities.test.ts
 */
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { envSecrets } from "../../host/capabilities/mod.ts";
import { outputOf, testHost } from "../capabilities/harness.ts";

// Extism's workers and the store's timers outlive single tests by design (closed in each).
const opts = { sanitizeOps: false, sanitizeResources: false };

Deno.test(
  "counter counts 1 then 2; without permissions.kv it is denied and audited",
  opts,
  async () => {
    const t = await testHost();
    try {
      await t.load("counter");
      assert.equal(outputOf(await t.call("example.counter", "increment")), 1);
      assert.equal(outputOf(await t.call("example.counter", "increment")), 2);
      await t.load("counter", (m) => {
        m.permissions = {};
      });
      const denied = await t.call("example.counter", "increment");
      assert.equal(denied.ok, false);
      assert.match(denied.ok ? "" : denied.error.message, /permission_denied/);
      const audit = await t.events({ type: "audit.denied" });
      assert.equal(audit.length, 1);
      assert.equal(audit[0]!.runId, denied.runId);
    } finally {
      await t.close();
    }
  },
);

Deno.test(
  "notifier reads its secret and publishes; the value is nowhere in the log",
  opts,
  async () => {
    const t = await testHost({ secrets: envSecrets("T_", { T_NOTIFY_TOKEN: "deno-tok-42" }) });
    try {
      await t.load("notifier");
      const result = await t.call("example.notifier", "notify", { message: "hi" });
      const output = outputOf(result) as { topic: string; id: string };
      assert.equal(output.topic, "notifier.sent");
      assert.match(output.id, /^[0-9A-HJKMNP-TV-Z]{26}$/);
      const events = await t.events({ runId: result.runId });
      assert.equal(
        events.find((e) => e.type === "plugin.example.notifier.notifier.sent")?.id,
        output.id,
      );
      assert.ok(!JSON.stringify(events).includes("deno-tok-42"));
    } finally {
      await t.close();
    }
  },
);

Deno.test(
  "fetcher reaches an allowed loopback host in worker mode and not another",
  opts,
  async () => {
    const server = createServer((_req, res) => void res.end("ok from deno"));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;
    const t = await testHost({ egress: { allowNetworks: ["127.0.0.0/8"] } });
    try {
      await t.load("fetcher", (m) => {
        m.permissions = { http: { allowedHosts: [`127.0.0.1:${port}`] } };
      });
      const url = `http://127.0.0.1:${port}/`;
      assert.deepEqual(outputOf(await t.call("example.fetcher", "fetch", { url })), {
        status: 200,
        body: "ok from deno",
      });
      const refused = await t.call("example.fetcher", "fetch", {
        url: `http://localhost:${port}/`,
      });
      assert.equal(refused.ok, false);
    } finally {
      await t.close();
      server.close();
    }
  },
);
