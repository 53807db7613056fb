/**
 * The egress gate on Deno: node:http's `lookup` pins the connection to the
 * checked address while Host keeps the name; special addresses are refused.
 * Run: node_modules/deno/deno test -A test/deno/egress.test.ts
 */
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { guardedFetch } from "../../host/capabilities/http.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

Deno.test(
  "pins a resolved name to its checked address, and refuses loopback unless allowed",
  opts,
  async () => {
    const seen: string[] = [];
    const server = createServer((req, res) => {
      seen.push(req.headers.host ?? "");
      res.end("ok from deno");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;
    let lookups = 0;
    const options = (allowNetworks: string[]) => ({
      allowedHosts: [`svc.test:${port}`, `127.0.0.1:${port}`],
      maxBytes: 1000,
      timeoutMs: 2000,
      maxRedirects: 2,
      onDenied: () => {},
      egress: {
        allowNetworks,
        resolve: () => Promise.resolve(lookups++ === 0 ? ["127.0.0.1"] : ["10.0.0.1"]),
      },
    });
    try {
      const allowed = guardedFetch(options(["127.0.0.0/8"]));
      assert.equal(await (await allowed(`http://svc.test:${port}/`)).text(), "ok from deno");
      assert.deepEqual(seen, [`svc.test:${port}`]);
      const refused = guardedFetch(options([]));
      await assert.rejects(refused(`http://svc.test:${port}/`), /private address|loopback address/);
      await assert.rejects(refused(`http://127.1:${port}/`), /127\.0\.0\.1 is a loopback address/);
      assert.equal(seen.length, 1);
    } finally {
      server.close();
    }
  },
);
