/** `host replay` in-process: identical (0), no such run (1), module not loaded (65), --plugin FILE. */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { main } from "../../host/cli/main.ts";
import { createHost } from "../../host/host.ts";

const devTrust = resolve(".plughost/trust");
let home: string;
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), "plughost-replay-cli-"));
});
afterEach(async () => await rm(home, { recursive: true, force: true }));

async function host(...args: string[]) {
  let stdout = "";
  let stderr = "";
  const code = await main(args, {
    stdout: (t) => void (stdout += t),
    stderr: (t) => void (stderr += t),
    env: { PLUGHOST_HOME: home, PLUGHOST_TRUST: devTrust },
    cwd: resolve("."),
  });
  return { code, stdout, stderr };
}

async function record(install: boolean): Promise<string> {
  const h = await createHost({ home, paths: { trust: devTrust }, cache: false });
  try {
    const wasm = await readFile("build/plugins/hello.wasm");
    if (install) await h.install(wasm);
    else await h.load(wasm, "hello.wasm");
    const run = await h.invoke({
      pluginId: "example.hello",
      capability: "greet",
      input: new TextEncoder().encode('{"name":"Ada"}'),
      trigger: "cli",
      durable: true,
    });
    return run.runId;
  } finally {
    await h.close();
  }
}

describe("host replay", () => {
  it("replays an installed plugin's run identically (exit 0); no such run is exit 1", async () => {
    const runId = await record(true);
    const replayed = await host("replay", runId, "--json");
    expect(replayed.code).toBe(0);
    expect(JSON.parse(replayed.stdout)).toMatchObject({ runId, match: true, mode: "strict" });
    const text = await host("replay", runId);
    expect(text.stdout).toMatch(/^identical {2}/);
    expect((await host("replay", "01NOSUCHRUN")).code).toBe(1);
    expect((await host("replay")).code).toBe(64);
  });

  it("refuses a run whose module is not loaded (exit 65, the reason), and replays it with --plugin", async () => {
    const runId = await record(false);
    const refused = await host("replay", runId);
    expect(refused.code).toBe(65);
    expect(refused.stderr).toMatch(/cannot be replayed: plugin 'example.hello' is not loaded/);
    const withFile = await host("replay", runId, "--plugin", "build/plugins/hello.wasm");
    expect(withFile.code).toBe(0);
  });
});
