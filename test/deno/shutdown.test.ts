// Graceful shutdown on Deno with a call still running past the grace period: the process
// must not die of `BadResource` (Deno.serve's abort signal during shutdown), and the run is
// marked interrupted, not left running.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createHost } from "../../host/host.ts";
import { startServer } from "../../host/server/start.ts";
import { openStore } from "../../host/store/mod.ts";
import { signPlugin } from "../../host/trust/mod.ts";
import { newKey, trustStoreOf } from "../helpers/signing.ts";
import { fixture } from "../sandbox/fixtures.ts";

Deno.test({
  name: "shutdown on Deno past the grace period marks the call interrupted without crashing",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = mkdtempSync(join(tmpdir(), "plughost-deno-shutdown-"));
    try {
      const key = await newKey();
      const host = await createHost({
        home: dir,
        trust: trustStoreOf(key),
        cache: false,
        hostFunctions: () => ({ functions: {}, needsWorker: true }),
        // The most the default policy allows: the default 1e9 lasts ~200 ms once the worker's
        // code is optimized, less than the grace period and the wait before it.
        defaults: { fuel: 10_000_000_000n },
      });
      const url = host.paths.db;
      const manifest = {
        schemaVersion: 1,
        id: "test.spin",
        name: "Spin",
        description: "Loops until stopped",
        version: "1.0.0",
        engines: { host: "^0.1.0", abi: 1 },
        capabilities: { run: { export: "run" } },
        limits: { timeoutMs: 60_000 },
      };
      const signed = await signPlugin(fixture("spin"), key, { manifest: JSON.stringify(manifest) });
      await host.load(signed.wasm, "test");
      const { token } = await host.store.tokens.create({ name: "t", scopes: ["invoke"] });
      const server = await startServer({
        host,
        port: 0,
        graceMs: 200,
        options: { rateLimitPerSecond: 0 },
      });
      const pending = fetch(`${server.url}/v1/plugins/test.spin/capabilities/run`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: "{}",
      }).then(async (r) => {
        await r.body?.cancel();
        return r.status;
      }, () => "refused");
      // In flight over HTTP and its run started (the core's in-flight gauge): a call still on its
      // way to its run when the grace period ends is refused instead (test/server/shutdown.test.ts).
      const started = () => host.metrics.series().reduce((sum, s) => sum + s.inflight, 0);
      for (let i = 0; i < 1000 && (server.deps.inflight.size < 1 || started() < 1); i++) {
        await new Promise((r) => setTimeout(r, 10));
      }
      assert.equal(server.deps.inflight.size, 1);
      assert.equal(started(), 1);
      const { interrupted } = await server.close();
      assert.equal(interrupted.length, 1);
      await pending;
      const after = await openStore({ url });
      const rows = await after.client.execute("SELECT status FROM run_records");
      assert.deepEqual(rows.rows.map((r) => String(r[0])), ["interrupted"]);
      await after.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
});
