/**
 * A token that may invoke but not read follows the async runs it started
 * itself (GET /v1/runs/{id} and its stream, where the 202 points), and no
 * other run: not another token's run of the same plugin.
 */
import { afterEach, describe, expect, it } from "vitest";
import { TokensRepository } from "../../host/store/mod.ts";
import { type Harness, harness } from "./harness.ts";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const start = (h: Harness, token: string) =>
  h.call("/v1/plugins/example.hello/capabilities/greet?async=true", {
    method: "POST",
    token,
    headers: { "content-type": "application/json" },
    body: '{"name":"own"}',
  });

describe("runs an invoke token started", () => {
  it("can be streamed and read by that token only, while the server keeps them", async () => {
    h = await harness();
    const repo = new TokensRepository(h.store.db);
    const mine = (await repo.create({ name: "mine", scopes: ["invoke:example.hello"] })).token;
    const other = (await repo.create({ name: "other", scopes: ["invoke:example.hello"] })).token;

    const res = await start(h, mine);
    expect(res.status).toBe(202);
    const { location, stream } = await res.json() as { location: string; stream: string };
    const followed = await h.call(stream, { token: mine });
    expect(followed.status).toBe(200);
    expect(await followed.text()).toContain('"output":{"message":"Hello, own!"}');
    const record = await h.call(location, { token: mine });
    expect(record.status).toBe(200);
    expect(await record.json()).toMatchObject({ status: "ok", capability: "greet" });

    for (const path of [location, stream]) {
      const refused = await h.call(path, { token: other });
      expect(refused.status, path).toBe(403);
      expect((await refused.json() as { detail: string }).detail).toContain(
        "did not start this run",
      );
      expect((await h.call(path, { token: h.tokens.invoke })).status, path).toBe(403);
      expect((await h.call(path, { token: h.tokens.read })).status, path).toBe(200);
    }
    // The run list stays `read`: a token sees only the runs it names.
    expect((await h.call("/v1/runs", { token: mine })).status).toBe(403);
  });
});
