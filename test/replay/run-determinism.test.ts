/**
 * A run's determinism (mode, seed, entropy sources, why it cannot be
 * replayed) in `GET /v1/runs/{id}` and `host runs show` (text and --json),
 * from its replay record; never a recorded value, never a secret. Lists
 * leave it out; a run without a replay record shows null.
 */
import { afterEach, describe, expect, it } from "vitest";
import { capabilityProvider } from "../../host/capabilities/mod.ts";
import { main } from "../../host/cli/main.ts";
import { ops, probeWasm, signedProbe } from "../capabilities/probe.ts";
import { type Harness, harness, jsonBody } from "../server/harness.ts";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function cli(args: string[]): Promise<{ code: number; out: string }> {
  const out: string[] = [];
  const code = await main(args, {
    stdout: (t) => void out.push(t),
    stderr: (t) => void out.push(t),
    env: {},
    cwd: h!.dir,
  });
  return { code, out: out.join("") };
}

async function run(id: string): Promise<Record<string, unknown>> {
  const res = await h!.call(`/v1/runs/${id}`, { token: h!.tokens.read });
  expect(res.status).toBe(200);
  return await res.json();
}

describe("a run's determinism", () => {
  it(
    "shows mode, seed and entropy over HTTP and in host runs show; a secret read shows as the reason, never its value",
    async () => {
      await probeWasm();
      h = await harness({}, {
        hostFunctions: capabilityProvider({ secrets: { get: () => "s3cret-value" } }),
      });
      const greeted = await h.call("/v1/plugins/example.hello/capabilities/greet", {
        ...jsonBody({ name: "Ada" }),
        token: h.tokens.invoke,
      });
      const helloRun = greeted.headers.get("x-run-id")!;
      const recorded = (await h.store.replay.get(helloRun))!;
      expect(await run(helloRun)).toMatchObject({
        id: helloRun,
        determinism: { mode: "strict", seed: recorded.seed, entropy: [], unreplayable: null },
      });

      await h.runtime.load(await signedProbe(h.key, "t.secret", { secrets: ["TOKEN"] }), "test");
      const probed = await h.runtime.invoke({
        pluginId: "t.secret",
        capability: "run",
        input: new TextEncoder().encode(
          JSON.stringify(ops({ fn: "secret_get", req: { name: "TOKEN" } })),
        ),
        trigger: "cli",
        durable: true,
      });
      const secretRun = await run(probed.runId);
      expect(secretRun.determinism).toMatchObject({
        mode: "best-effort",
        entropy: ["secret"],
        unreplayable: expect.stringMatching(/read a secret/),
      });
      expect((secretRun.determinism as { seed: string }).seed).toMatch(/^[0-9a-f]{32}$/);
      expect(JSON.stringify(secretRun)).not.toContain("s3cret-value");

      // Lists leave it out (it would cost a read per run).
      const page = await (await h.call("/v1/runs", { token: h.tokens.read })).json();
      expect(page.runs.length).toBeGreaterThan(0);
      for (const r of page.runs) expect(r).not.toHaveProperty("determinism");

      const db = h.store.url;
      const text = await cli(["runs", "show", helloRun, "--db", db]);
      expect(text.code).toBe(0);
      expect(text.out).toMatch(/^determinism: +strict$/m);
      expect(text.out).toMatch(new RegExp(`^seed: +${recorded.seed}$`, "m"));
      expect(text.out).toMatch(/^entropy: +none$/m);
      expect(text.out).toMatch(/^replay: +record complete$/m);
      const secretText = await cli(["runs", "show", probed.runId, "--db", db]);
      expect(secretText.out).toMatch(/^determinism: +best-effort$/m);
      expect(secretText.out).toMatch(/^entropy: +secret$/m);
      expect(secretText.out).toMatch(/^replay: +not replayable: .*read a secret/m);
      expect(secretText.out).not.toContain("s3cret-value");
      const asJson = await cli(["runs", "show", probed.runId, "--db", db, "--json"]);
      expect(JSON.parse(asJson.out)).toMatchObject({
        id: probed.runId,
        determinism: { mode: "best-effort", entropy: ["secret"] },
      });
      expect(asJson.out).not.toContain("s3cret-value");
    },
    120_000,
  );

  it("is null for a run without a replay record; the OpenAPI document describes it", async () => {
    h = await harness();
    const doc = await (await h.call("/openapi.json", { token: h.tokens.read })).json();
    const getRun = doc.paths["/v1/runs/{id}"].get.responses["200"].content["application/json"];
    const described = JSON.stringify(getRun.schema.properties.determinism);
    for (const field of ["mode", "seed", "entropy", "unreplayable"]) {
      expect(described).toContain(`"${field}":`);
    }
    const started = await h.store.runs.start({
      pluginId: "p",
      moduleDigest: "sha256:" + "0".repeat(64),
      export: "work",
      trigger: "cli",
      input: new Uint8Array(),
    });
    await h.store.runs.finish(started.id, { status: "ok", output: new Uint8Array() });
    expect((await run(started.id)).determinism).toBeNull();
    const text = await cli(["runs", "show", started.id, "--db", h.store.url]);
    expect(text.out).toMatch(/^determinism: +none recorded/m);
    expect(JSON.parse((await cli(["runs", "show", started.id, "--db", h.store.url, "--json"])).out))
      .toMatchObject({ determinism: null });
  });
});
