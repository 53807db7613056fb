/**
 * Live trust and calls already running (issue 13): revoking a signer ends its
 * plugins' calls in flight, not only later ones. Before, the plugin was
 * unloaded at once but a call running in a worker went on to its own end (an
 * HTTP plugin kept sending requests with an injected secret 12 s after the
 * revocation), and the watcher stopped the key's other plugins only after it.
 * Found by an adversarial review on 2026-12-06.
 */
import { appendFileSync, mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { capabilityProvider, envSecrets } from "../../host/capabilities/mod.ts";
import { resolvePaths } from "../../host/config/paths.ts";
import { installPlugin, type OpenHost, openHost, watchTrust } from "../../host/core/mod.ts";
import { LiveTrustStore, type SigningKey, trustKey } from "../../host/trust/mod.ts";
import { newKey } from "../helpers/signing.ts";
import { probeWasm, signedProbe } from "../capabilities/probe.ts";

describe("revoking a signer while its plugin's call runs", () => {
  let home: string;
  let host: OpenHost;
  let trust: LiveTrustStore;
  let key: SigningKey;
  let server: Server;
  let port = 0;
  let unwatch = () => {};
  const hits: { at: number; auth: string | undefined }[] = [];

  beforeAll(async () => {
    // An upstream that answers each request after 100 ms: the call below makes 120 of them.
    server = createServer((req, res) => {
      hits.push({ at: Date.now(), auth: req.headers.authorization });
      setTimeout(() => res.end("ok"), 100);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
    await probeWasm();
    home = mkdtempSync(join(tmpdir(), "plughost-revoke-inflight-"));
    key = await newKey("alice");
    await trustKey(join(home, "trust"), key.publicKey, { label: "alice" });
    trust = await LiveTrustStore.open(join(home, "trust"));
    host = await openHost({
      paths: resolvePaths({}, home, { home }),
      trust,
      hostFunctions: capabilityProvider({
        secrets: envSecrets("T_", { T_API_TOKEN: "sekret" }),
        egress: { allowNetworks: ["127.0.0.0/8"] },
      }),
    });
    unwatch = watchTrust(host.runtime, trust, { intervalMs: 200 });
  }, 120_000);
  afterAll(async () => {
    unwatch();
    await host?.close();
    server?.closeAllConnections();
    server?.close();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it(
    "ends the call at once as verification_failed, and stops the key's other plugins too",
    async () => {
      const upstream = `127.0.0.1:${port}`;
      const plugins = join(home, "plugins");
      await installPlugin(
        host.runtime,
        plugins,
        await signedProbe(key, "t.slow", {
          http: {
            allowedHosts: [upstream],
            inject: { [upstream]: { header: "authorization", secret: "API_TOKEN" } },
          },
        }, { limits: { timeoutMs: 30_000 } }),
        { via: "test" },
      );
      await installPlugin(host.runtime, plugins, await signedProbe(key, "t.other", {}), {
        via: "test",
      });
      const call = host.runtime.invoke({
        pluginId: "t.slow",
        capability: "run",
        input: new TextEncoder().encode(JSON.stringify({
          ops: Array.from({ length: 120 }, () => ({ http: `http://${upstream}/x` })),
        })),
        trigger: "cli",
      });
      await vi.waitFor(() => expect(hits.length).toBeGreaterThan(3), { timeout: 10_000 });
      const revokedAt = Date.now();
      appendFileSync(join(home, "trust", "revoked.txt"), `${key.keyId} leaked\n`);
      // The key's other plugin is stopped within 5 s too (the watcher used to wait for the call).
      await vi.waitFor(() => expect(host.runtime.get("t.other")).toBeUndefined(), {
        timeout: 5000,
        interval: 50,
      });
      const result = await call;
      const endedAt = Date.now();
      expect(result.ok).toBe(false);
      if (!result.ok) {
        expect(result.error.class).toBe("verification_failed");
        expect(result.error.message).toMatch(/signer is no longer trusted/);
      }
      expect(endedAt - revokedAt).toBeLessThan(5000);
      // Nothing the revoked plugin's code asked for goes out after it ended.
      const afterEnd = hits.filter((h) => h.at > endedAt + 200);
      expect(afterEnd).toEqual([]);
      await host.store.flush();
      const run = await host.store.runs.get(result.runId);
      expect(run).toMatchObject({ status: "error", error: { class: "verification_failed" } });
    },
    60_000,
  );
});
