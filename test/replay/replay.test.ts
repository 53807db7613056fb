/**
 * Replay through the one invoke: strict runs of the example plugins replay
 * with the same output digest and fuel; KV reads come from the tape (a replay
 * writes nothing); HTTP is refused in strict mode and replayed from the
 * recorded response in best-effort mode with the server gone; runs that
 * cannot be replayed are refused with the reason.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { sha256Id } from "../../host/artifact/mod.ts";
import { type ReplayDeps, replayRun } from "../../host/core/replay.ts";
import { outputOf, type TestHost, testHost } from "../capabilities/harness.ts";
import { ops, probeWasm, signedProbe } from "../capabilities/probe.ts";

let t: TestHost | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

function deps(host: TestHost["host"]): ReplayDeps {
  return {
    runs: host.store.runs,
    replay: host.store.replay,
    get: (id) => host.runtime.get(id),
    invoke: (request) => host.runtime.invoke(request),
  };
}

const probeCapability = (determinism: string) => ({
  capabilities: {
    run: {
      export: "run",
      input: { type: "object", properties: { ops: { type: "array" } }, required: ["ops"] },
      determinism,
    },
  },
});

describe("replay of strict runs", () => {
  it("reproduces hello's output digest and fuel exactly, as a child run with trigger replay", async () => {
    t = await testHost();
    await t.load("hello");
    const run = await t.call("example.hello", "greet", { name: "Ada" });
    expect(outputOf(run)).toBeTruthy();
    const recorded = await t.host.store.replay.get(run.runId);
    expect(recorded).toMatchObject({ mode: "strict", entropy: [], tape: [], unreplayable: null });
    expect(recorded!.seed).toMatch(/^[0-9a-f]{32}$/);
    const report = await replayRun(deps(t.host), run.runId);
    expect(report).toMatchObject({ match: true, differences: [], mode: "strict" });
    const original = (await t.host.store.runs.get(run.runId))!;
    const replayed = (await t.host.store.runs.get(report.replayRunId))!;
    expect(replayed).toMatchObject({
      trigger: "replay",
      parentRunId: run.runId,
      outputDigest: original.outputDigest,
      usage: { fuel: original.usage.fuel },
    });
    expect(original.usage.fuel).toBeGreaterThan(0);
    // The replay's seed is the original's.
    expect((await t.host.store.replay.get(report.replayRunId))!.seed).toBe(recorded!.seed);
  });

  it("replays counter from the tape: the recorded KV read, and no KV write", async () => {
    t = await testHost();
    await t.load("counter");
    await t.call("example.counter", "increment");
    const second = await t.call("example.counter", "increment");
    expect(outputOf(second)).toBe(2);
    await t.call("example.counter", "increment");
    const recorded = (await t.host.store.replay.get(second.runId))!;
    expect(recorded.mode).toBe("strict");
    expect(recorded.entropy).toEqual(["kv"]);
    expect(recorded.tape.map((e) => e.fn)).toEqual(["kv_get", "kv_set"]);
    const report = await replayRun(deps(t.host), second.runId);
    // Fuel too, unless load moved counter to workers between the two (docs/replay.md, "Limits").
    expect(report.differences.filter((d) => d.field !== "fuel")).toEqual([]);
    expect(report.replay.outputDigest).toBe(report.original.outputDigest);
    // The store still holds 3: the replay's kv_set was answered from the tape, not written.
    expect(outputOf(await t.call("example.counter", "get"))).toBe(3);
  });

  it("reports what differed when the replay's answers change the output (exit 1 material)", async () => {
    t = await testHost();
    await t.load("counter");
    const first = await t.call("example.counter", "increment");
    // Change the recorded answer of kv_get the way a world that diverged would.
    const recorded = (await t.host.store.replay.get(first.runId))!;
    const fake = Buffer.from(JSON.stringify({ ok: { value: "41" } })).toString("base64");
    const tape = [{ ...recorded.tape[0], out: fake }, ...recorded.tape.slice(1)];
    await t.host.store.client.execute({
      sql: "UPDATE run_replay SET tape = ? WHERE run_id = ?",
      args: [JSON.stringify(tape), first.runId],
    });
    const report = await replayRun(deps(t.host), first.runId);
    expect(report.match).toBe(false);
    expect(report.differences.map((d) => d.field)).toContain("outputDigest");
    expect(report.mode).toBe("strict");
  });

  it("a replay that leaves its tape and then fails ends as replay_diverged, saying how", async () => {
    t = await testHost();
    await t.load("counter");
    const first = await t.call("example.counter", "increment");
    // The recorded kv_get asked for another key: the replay's kv_get is not the next entry.
    const recorded = (await t.host.store.replay.get(first.runId))!;
    const tape = [{ ...recorded.tape[0], in: sha256Id("another key") }, ...recorded.tape.slice(1)];
    await t.host.store.client.execute({
      sql: "UPDATE run_replay SET tape = ? WHERE run_id = ?",
      args: [JSON.stringify(tape), first.runId],
    });
    const report = await replayRun(deps(t.host), first.runId);
    expect(report.match).toBe(false);
    const replayed = (await t.host.store.runs.get(report.replayRunId))!;
    expect(replayed.status).toBe("error");
    expect(replayed.error?.class).toBe("replay_diverged");
    expect(replayed.error?.message).toMatch(
      /^Replay diverged at host call 1: the plugin called kv_get with other input, the original run called kv_get/,
    );
  });

  it("refuses a run whose module is no longer loaded, or that does not exist", async () => {
    t = await testHost();
    await t.load("hello");
    const run = await t.call("example.hello", "greet", { name: "Ada" });
    await t.host.runtime.unload("example.hello");
    await expect(replayRun(deps(t.host), run.runId)).rejects.toMatchObject({
      code: "not_replayable",
      message: expect.stringMatching(/plugin 'example.hello' is not loaded/),
    });
    await expect(replayRun(deps(t.host), "01NOSUCHRUN")).rejects.toMatchObject({
      code: "not_found",
    });
  });
});

describe("WASI entropy", () => {
  it("runs a strict run of a plugin granted WASI (its clock and random are pinned, test/replay/wasi-entropy.test.ts); best-effort lists the entropy", async () => {
    t = await testHost();
    await t.load("hello", (m) => {
      m.permissions = { wasi: true };
      (m.capabilities as Record<string, Record<string, unknown>>).greet!.determinism = "strict";
    });
    const strict = await t.call("example.hello", "greet", { name: "Ada" });
    expect(strict.ok).toBe(true);
    expect(await t.host.store.replay.get(strict.runId)).toMatchObject({
      mode: "strict",
      entropy: [],
    });
    expect(await replayRun(deps(t.host), strict.runId)).toMatchObject({ match: true });
    await t.load("hello", (m) => {
      m.permissions = { wasi: true };
    });
    const run = await t.call("example.hello", "greet", { name: "Ada" });
    expect(run.ok).toBe(true);
    expect(await t.host.store.replay.get(run.runId)).toMatchObject({
      mode: "best-effort",
      entropy: ["wasi.clock", "wasi.random"],
    });
  });
});

describe("outside effects", () => {
  let server: Server | undefined;
  afterEach(() => {
    server?.closeAllConnections();
    server?.close();
    server = undefined;
  });

  async function serve(): Promise<number> {
    let n = 0;
    server = createServer((_req, res) => void res.end(`answer ${++n}`));
    await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
    return (server.address() as AddressInfo).port;
  }

  it("refuses http_request in strict mode, naming the call, audited", async () => {
    const port = await serve();
    await probeWasm();
    t = await testHost({ egress: { allowNetworks: ["127.0.0.0/8"] } });
    await t.host.runtime.load(
      await signedProbe(
        t.key,
        "t.strict",
        { http: { allowedHosts: [`127.0.0.1:${port}`] } },
        probeCapability("strict"),
      ),
      "test",
    );
    const run = await t.call("t.strict", "run", ops({ http: `http://127.0.0.1:${port}/` }));
    const text = run.ok ? new TextDecoder().decode(run.output) : run.error.message;
    expect(text).not.toMatch(/answer/);
    const denied = await t.events({ type: "audit.denied", runId: run.runId });
    expect(denied).toHaveLength(1);
    expect(JSON.stringify(denied[0]!.payload)).toMatch(
      /http_request.*nondeterministic: http_request is refused in strict determinism mode/,
    );
  }, 120_000);

  it(
    "refuses secret_get and invoke in strict mode with a nondeterministic error result",
    async () => {
      await probeWasm();
      t = await testHost({ secrets: { get: () => "s3cret" } });
      await t.host.runtime.load(
        await signedProbe(t.key, "t.secret", { secrets: ["TOKEN"] }, probeCapability("strict")),
        "test",
      );
      const out = outputOf(
        await t.call("t.secret", "run", ops({ fn: "secret_get", req: { name: "TOKEN" } })),
      );
      expect(JSON.stringify(out)).toMatch(/"code":"nondeterministic".*secret_get is refused/);
    },
    120_000,
  );

  it("best-effort: records the HTTP response and replays it with the server stopped", async () => {
    const port = await serve();
    await probeWasm();
    t = await testHost({ egress: { allowNetworks: ["127.0.0.0/8"] } });
    await t.host.runtime.load(
      await signedProbe(t.key, "t.http", { http: { allowedHosts: [`127.0.0.1:${port}`] } }),
      "test",
    );
    const run = await t.call("t.http", "run", ops({ http: `http://127.0.0.1:${port}/` }));
    expect(outputOf(run)).toEqual([{ status: 200, body: "answer 1" }]);
    const recorded = (await t.host.store.replay.get(run.runId))!;
    expect(recorded).toMatchObject({ mode: "best-effort", entropy: ["http"] });
    server!.closeAllConnections();
    await new Promise((resolve) => server!.close(resolve));
    server = undefined;
    const report = await replayRun(deps(t.host), run.runId);
    // Same output from the recorded response; best-effort runs reuse warm instances, so their
    // fuel may differ (a warning, not a failure: docs/replay.md).
    expect(report).toMatchObject({ mode: "best-effort", replay: { status: "ok" } });
    expect(report.differences.map((d) => d.field)).not.toContain("outputDigest");
    expect(report.replay.outputDigest).toBe(report.original.outputDigest);
  }, 120_000);

  describe("a plugin's POST", () => {
    /** Records two runs of t.post POSTing `one` and `two` to the same URL (the server then stops). */
    async function twoPosts() {
      const port = await serve();
      await probeWasm();
      t = await testHost({ egress: { allowNetworks: ["127.0.0.0/8"] } });
      await t.host.runtime.load(
        await signedProbe(t.key, "t.post", { http: { allowedHosts: [`127.0.0.1:${port}`] } }),
        "test",
      );
      const url = `http://127.0.0.1:${port}/hook`;
      const post = (body: string) => ops({ post: url, body, header: "x-probe", value: "1" });
      const one = await t.call("t.post", "run", post("one"));
      const two = await t.call("t.post", "run", post("two"));
      expect(outputOf(one)).toEqual([{ status: 200, body: "answer 1" }]);
      server!.closeAllConnections();
      await new Promise((resolve) => server!.close(resolve));
      server = undefined;
      return { host: t.host, url, one: one.runId, two: two.runId };
    }

    it("replays from the tape when it sends the same body", async () => {
      const { host, one } = await twoPosts();
      const report = await replayRun(deps(host), one);
      expect(report.replay).toMatchObject({
        status: "ok",
        outputDigest: report.original.outputDigest,
      });
    }, 120_000);

    it("diverges when it sends another body to the same URL", async () => {
      const { host, one, two } = await twoPosts();
      // Run `two` replayed against the tape of `one`: same method, URL and headers, other body.
      const tapeOfOne = (await host.store.replay.get(one))!;
      const report = await replayRun(
        { ...deps(host), replay: { get: () => Promise.resolve(tapeOfOne) } },
        two,
      );
      expect(report.match).toBe(false);
      expect(report.replay.status).toBe("error");
      const replayed = (await host.store.runs.get(report.replayRunId))!;
      // Extism's http_request has no error answer: the call fails (docs/replay.md, "Replaying").
      expect(replayed.error?.class).toBe("replay_diverged");
      expect(replayed.error?.message).toMatch(
        /Replay diverged at host call 1: the plugin called http_request with other input/,
      );
    }, 120_000);

    it("replays a tape recorded before the body was digested (METHOD URL)", async () => {
      const { host, url, one } = await twoPosts();
      const recorded = (await host.store.replay.get(one))!;
      // The entry as hosts before rule 2 stored it: `in` over `METHOD URL`, no inRule.
      const old: Record<string, unknown> = { ...recorded.tape[0], in: sha256Id(`POST ${url}`) };
      expect(delete old["inRule"]).toBe(true);
      const report = await replayRun(
        { ...deps(host), replay: { get: () => Promise.resolve({ ...recorded, tape: [old] }) } },
        one,
      );
      expect(report.replay).toMatchObject({
        status: "ok",
        outputDigest: report.original.outputDigest,
      });
    }, 120_000);
  });

  it("a best-effort run that read a secret is refused for replay", async () => {
    await probeWasm();
    t = await testHost({ secrets: { get: () => "s3cret" } });
    await t.host.runtime.load(
      await signedProbe(t.key, "t.secret", { secrets: ["TOKEN"] }),
      "test",
    );
    const run = await t.call("t.secret", "run", ops({ fn: "secret_get", req: { name: "TOKEN" } }));
    const recorded = (await t.host.store.replay.get(run.runId))!;
    expect(JSON.stringify(recorded.tape)).not.toContain("s3cret");
    await expect(replayRun(deps(t.host), run.runId)).rejects.toMatchObject({
      code: "not_replayable",
      message: expect.stringMatching(/read a secret/),
    });
  }, 120_000);
});
