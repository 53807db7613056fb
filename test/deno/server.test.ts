// The HTTP server on Deno: Deno.serve with the same app, a capability call with a durable
// RunRecord, auth, problem+json, SSE, and graceful shutdown.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createHost } from "../../host/host.ts";
import { startServer } from "../../host/server/start.ts";
import { newKey, signedFirstParty, trustStoreOf } from "../helpers/signing.ts";

Deno.test({
  name: "host serve on Deno: capability call, run record, auth, errors, SSE, shutdown",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = mkdtempSync(join(tmpdir(), "plughost-deno-server-"));
    const key = await newKey();
    const host = await createHost({ home: dir, trust: trustStoreOf(key), cache: false });
    try {
      await host.load(await signedFirstParty("hello", key), "test");
      const tokens = host.store.tokens;
      const invoke = (await tokens.create({ name: "i", scopes: ["invoke:example.hello"] })).token;
      const read = (await tokens.create({ name: "r", scopes: ["read"] })).token;
      const server = await startServer({
        host,
        port: 0,
        options: { streamPollMs: 20 },
      });
      const auth = (token: string) => ({ authorization: `Bearer ${token}` });
      const greet = (name: unknown, token = invoke) =>
        fetch(`${server.url}/v1/plugins/example.hello/capabilities/greet`, {
          method: "POST",
          headers: { ...auth(token), "content-type": "application/json" },
          body: JSON.stringify({ name }),
        });

      const ok = await greet("Zoë");
      assert.equal(ok.status, 200);
      assert.deepEqual(await ok.json(), { message: "Hello, Zoë!" });
      const runId = ok.headers.get("x-run-id");
      assert.match(runId ?? "", /^[0-9A-Z]{26}$/);
      const run = await fetch(`${server.url}/v1/runs/${runId}`, { headers: auth(read) });
      assert.equal(run.status, 200);
      assert.equal((await run.json()).status, "ok");

      const off = await greet(42);
      assert.equal(off.status, 422);
      assert.equal(off.headers.get("content-type"), "application/problem+json");
      assert.equal((await off.json()).type, "https://plughost.dev/problems/schema_mismatch");
      const anonymous = await fetch(`${server.url}/v1/runs`);
      assert.equal(anonymous.status, 401);
      await anonymous.body?.cancel();
      const wrong = await greet("x", read);
      assert.equal(wrong.status, 403);
      await wrong.body?.cancel();

      const stream = await fetch(`${server.url}/v1/events/stream?type=run.*&cursor=0`, {
        headers: auth(read),
      });
      const reader = stream.body!.pipeThrough(new TextDecoderStream()).getReader();
      let text = "";
      while (!text.includes("\n\n")) text += (await reader.read()).value ?? "";
      assert.match(text, /^event: run\.finished$/m);
      assert.match(text, /^id: \d+$/m);
      assert.match(text, /^data: \{"id":"[0-9A-Z]{26}"/m);
      await reader.cancel();

      const { interrupted } = await server.close();
      assert.deepEqual(interrupted, []);
      await assert.rejects(fetch(`${server.url}/healthz`));
    } finally {
      await host.close().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    }
  },
});
