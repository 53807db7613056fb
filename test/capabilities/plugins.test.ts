/**
 * plugins/notifier and plugins/fetcher, built by scripts/build-plugins.mjs,
 * over openHost with the capability provider.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { envSecrets } from "../../host/capabilities/mod.ts";
import { outputOf, type TestHost, testHost } from "./harness.ts";

describe("plugins/notifier (example.notifier)", () => {
  let t: TestHost | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it("publishes notifier.sent with the run id when its secret is set", async () => {
    t = await testHost({ secrets: envSecrets("T_", { T_NOTIFY_TOKEN: "tok-123456" }) });
    await t.load("notifier");
    const result = await t.call("example.notifier", "notify", { message: "deployed ✓" });
    const output = outputOf(result) as { topic: string; id: string };
    expect(output).toEqual({
      topic: "notifier.sent",
      id: expect.stringMatching(/^[0-9A-HJKMNP-TV-Z]{26}$/),
    });
    const events = await t.events({ runId: result.runId });
    expect(events.find((e) => e.type === "plugin.example.notifier.notifier.sent")?.id).toBe(
      output.id,
    );
    expect(events.find((e) => e.type === "plugin.example.notifier.notifier.sent")).toMatchObject({
      pluginId: "example.notifier",
      payload: { message: "deployed ✓", chars: 10 },
    });
    expect(JSON.stringify(events)).not.toContain("tok-123456");
  });

  it("fails, naming the missing secret, when the operator did not set it", async () => {
    t = await testHost({ secrets: envSecrets("T_", {}) });
    await t.load("notifier");
    const result = await t.call("example.notifier", "notify", { message: "x" });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.message).toContain("not_found");
  });
});

describe("plugins/fetcher (example.fetcher)", () => {
  let t: TestHost | undefined;
  let server: Server | undefined;
  afterEach(async () => {
    await t?.close();
    server?.close();
    t = undefined;
  });

  it("fetches from a host its manifest allows, and not from one it does not", async () => {
    server = createServer((_req, res) => void res.end("Grüße"));
    await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;
    // Loopback is refused unless the operator allows it (docs/egress.md).
    t = await testHost({ egress: { allowNetworks: ["127.0.0.0/8"] } });
    await t.load("fetcher", (m) => {
      m.permissions = { http: { allowedHosts: [`127.0.0.1:${port}`] } };
    });
    expect(outputOf(await t.call("example.fetcher", "fetch", { url: `http://127.0.0.1:${port}/` })))
      .toEqual({ status: 200, body: "Grüße" });
    const refused = await t.call("example.fetcher", "fetch", { url: `http://localhost:${port}/` });
    expect(refused.ok).toBe(false);
  });
});
